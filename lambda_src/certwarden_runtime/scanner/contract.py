"""Names shared by the TLS scanner Lambda and its construct (pure: no imports)."""

from __future__ import annotations

#: module.function of the scheduled scanner inside the Lambda asset
SCANNER_HANDLER = "certwarden_runtime.scanner.handler.lambda_handler"

# -- environment variables of the scanner function -------------------------------------------
ENV_SCAN_TARGETS = "CERTWARDEN_SCAN_TARGETS"  # JSON list of targets
ENV_SCAN_TIMEOUT = "CERTWARDEN_SCAN_TIMEOUT"  # seconds per network step
ENV_SCAN_CONCURRENCY = "CERTWARDEN_SCAN_CONCURRENCY"
ENV_SCAN_ALERT_TOPIC_ARN = "CERTWARDEN_SCAN_ALERT_TOPIC_ARN"
ENV_SCAN_REPORTS_PREFIX = "CERTWARDEN_SCAN_REPORTS_PREFIX"
DEFAULT_REPORTS_PREFIX = "tls-scans"
# Shared with the watch function (same names, see certwarden_runtime.contract):
ENV_ENVIRONMENT = "CERTWARDEN_ENVIRONMENT"
ENV_REPORTS_BUCKET = "CERTWARDEN_REPORTS_BUCKET"
ENV_REPORTS_KMS_KEY_ID = "CERTWARDEN_REPORTS_KMS_KEY_ID"

# -- metrics (CloudWatch embedded metric format, namespace CertWarden) ------------------------
METRICS_NAMESPACE = "CertWarden"
DIMENSION_ENVIRONMENT = "Environment"
#: One metric per rating: TlsEndpointsSecure, TlsEndpointsMedium, TlsEndpointsHigh, ...Critical
METRIC_ENDPOINTS_BY_RATING = "TlsEndpoints{rating}"
METRIC_ENDPOINTS_SCANNED = "TlsEndpointsScanned"

#: AWS APIs the scanner calls (its managed policy follows from this list)
SCANNER_FUNCTION_ACTIONS: tuple[str, ...] = (
    "s3:PutObject",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
)
