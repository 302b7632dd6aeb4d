"""Names shared by the runtime and the CDK constructs that deploy it.

The constructs set these environment variables and build alarms/dashboards on these metrics;
the runtime reads and publishes them. Keeping them in one pure module means a rename cannot
leave an alarm watching a metric nobody publishes.
"""

from __future__ import annotations

# -- environment variables of the certificate-operations (watch) Lambda ----------------------
ENV_ENVIRONMENT = "CERTWARDEN_ENVIRONMENT"
ENV_REGIONS = "CERTWARDEN_REGIONS"  # comma-separated; defaults to the function's own region
ENV_WARNING_TOPIC_ARN = "CERTWARDEN_WARNING_TOPIC_ARN"
ENV_CRITICAL_TOPIC_ARN = "CERTWARDEN_CRITICAL_TOPIC_ARN"
ENV_REPORTS_BUCKET = "CERTWARDEN_REPORTS_BUCKET"
ENV_REPORTS_KMS_KEY_ID = "CERTWARDEN_REPORTS_KMS_KEY_ID"
ENV_STATE_KEY = "CERTWARDEN_STATE_KEY"
DEFAULT_STATE_KEY = "state/alert-state.json"

# -- handlers (module.function inside the Lambda asset) --------------------------------------
WATCH_HANDLER = "certwarden_runtime.handler.lambda_handler"

# -- custom metrics (CloudWatch EMF through aws-lambda-powertools) ---------------------------
METRICS_NAMESPACE = "CertWarden"
SERVICE_NAME = "certwarden"
DIMENSION_ENVIRONMENT = "Environment"
METRIC_MIN_DAYS_TO_EXPIRY = "MinDaysToExpiry"
METRIC_CERTIFICATES_TOTAL = "CertificatesTotal"
#: One metric per tier, e.g. ``CertificatesWithin45Days``, plus ``CertificatesExpired``.
METRIC_CERTIFICATES_WITHIN_TIER = "CertificatesWithin{days}Days"
METRIC_CERTIFICATES_EXPIRED = "CertificatesExpired"
METRIC_RENEWALS_STARTED = "RenewalsStarted"
METRIC_RENEWALS_FAILED = "RenewalsFailed"
METRIC_POLICY_FINDINGS = "PolicyFindings"
METRIC_CERTIFICATE_ERRORS = "CertificateErrors"
#: Published with value 1 at the end of every complete run: the heartbeat alarm watches it.
METRIC_JOB_SUCCEEDED = "JobSucceeded"
METRIC_JOB_INCOMPLETE = "JobIncomplete"

# -- AWS APIs the watch function calls (IAM policy and VPC endpoints follow from this list) --
WATCH_FUNCTION_ACTIONS: tuple[str, ...] = (
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "acm:RenewCertificate",
    "tag:GetResources",
    "sns:Publish",
    "s3:GetObject",
    "s3:PutObject",
    # Without ListBucket S3 answers AccessDenied, not NoSuchKey, for the alert state's first
    # read; scope it to the reports bucket.
    "s3:ListBucket",
    "kms:GenerateDataKey",
    "kms:Decrypt",
)
