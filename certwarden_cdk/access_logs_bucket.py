"""The bucket that receives S3 server access logs of CertWarden's other buckets."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from certwarden_cdk import _storage
from certwarden_cdk._checkov import skip_checkov_check
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

#: Feature flag making source buckets grant ``logging.s3.amazonaws.com`` through this bucket's
#: policy (ACLs stay disabled) whatever the app's ``cdk.json`` says.
_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class AccessLogsBucket(Construct):
    """A dedicated destination for S3 server access logs.

    Pass :attr:`bucket` as ``server_access_logs_bucket`` of the buckets to log; each source
    bucket then adds a statement to this bucket's policy allowing ``logging.s3.amazonaws.com``
    to write for it (``aws:SourceArn``/``aws:SourceAccount`` conditions). This bucket never logs
    to itself (a loop) and has no object lock (S3 refuses log delivery to buckets with a default
    retention).

    Encryption is SSE-S3: S3 server access log delivery does not support SSE-KMS default
    encryption on the destination bucket, so the KMS rules are acknowledged here. checkov's
    "access logging enabled" check (``CKV_AWS_18``) is skipped on this bucket only, for the
    loop above.

    :param policy: the compliance policy; ``log_retention_days`` sets the lifecycle and
        ``min_tls_version`` the TLS condition. Default: ``DEFAULT_POLICY``.
    :param removal_policy: what happens to the bucket when it leaves the stack.
        Default: ``RETAIN`` (access logs are audit evidence).

    Exposes :attr:`bucket`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy: CompliancePolicy = DEFAULT_POLICY,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.node.set_context(_LOGS_USE_BUCKET_POLICY, True)
        self.policy = policy
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=_storage.retention_lifecycle(policy.log_retention_days),
            **{**_storage.secure_bucket_props(policy), "removal_policy": removal_policy},
        )
        self._acknowledge()

    def _acknowledge(self) -> None:
        no_kms = (
            "S3 server access log delivery does not support SSE-KMS default encryption on the "
            "destination bucket; this log bucket uses SSE-S3 (AES-256) instead"
        )
        no_replication = (
            "server access logs are operational records of the replicated audit buckets; the "
            "audit trail and its replica carry the HIPAA evidence, the access logs stay regional"
        )
        _storage.acknowledge_rules(self.bucket, _storage.KMS_RULES, no_kms)
        _storage.acknowledge_rules(self.bucket, _storage.REPLICATION_RULES, no_replication)
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        skip_checkov_check(
            cfn_bucket,
            "CKV_AWS_18",
            "this bucket is the S3 server-access-log destination of the other buckets: logging "
            "it into itself would log its own log deliveries in a loop, and a further log "
            "bucket would only move the same question one bucket on",
        )
