"""Multi-region CloudTrail with an immutable, replicated, KMS-encrypted log bucket."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from certwarden_cdk import _storage
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

log_retention_at_least = _storage.log_retention_at_least


class AuditTrail(Construct):
    """The account's audit trail: every management event (ACM API calls included) of every
    region, kept at least six years, immutable and copied to a second region.

    Builds:

    * a multi-region CloudTrail trail with log file validation, global service events, all
      management events (ACM calls are management events; there is no
      ``AWS::ACM::Certificate`` data resource type), encrypted with ``key``;
    * its S3 bucket: SSE-KMS with ``key``, versioning, block public access, TLS-only policy,
      bucket-owner-enforced ownership, server access logs to ``access_logs_bucket``, object
      lock (``object_lock_mode`` / ``object_lock_years``), a lifecycle keeping objects at least
      ``policy.log_retention_days`` (and never less than the lock), and replication to
      ``replica_bucket_name`` in ``replica_region`` encrypted with ``replica_key_arn`` (names,
      not references: the replica lives in another region's stack, see
      :class:`~certwarden_cdk.audit_replica_bucket.AuditReplicaBucket`);
    * a CloudWatch Logs log group encrypted with ``key``, retention the shortest
      ``RetentionDays`` value >= ``policy.log_retention_days`` (no ``log_retention`` framework
      Lambda), and the delivery role with a managed policy;
    * key policy statements letting CloudTrail (``GenerateDataKey*`` bound to this trail by
      ``kms:EncryptionContext:aws:cloudtrail:arn`` and ``aws:SourceArn``; ``DescribeKey``) and
      CloudWatch Logs (bound to the log group by ``kms:EncryptionContext:aws:logs:arn``) use the
      key. ``key`` must be a key of this stack (an imported key's policy cannot be changed).

    The trail depends on the bucket policy, so CloudTrail's delivery check passes on create.

    :param key: customer-managed KMS key for the trail, its bucket and its log group. Required.
    :param access_logs_bucket: destination of the bucket's server access logs (an
        :class:`~certwarden_cdk.access_logs_bucket.AccessLogsBucket`'s ``bucket``). Required.
    :param replica_bucket_name: name of the replica bucket in ``replica_region``. Required.
    :param replica_region: region of the replica bucket; must differ from the stack's. Required.
    :param replica_key_arn: key or alias ARN encrypting the replicas (see
        :func:`~certwarden_cdk.audit_replica_bucket.replica_key_alias_arn`). Required.
    :param object_lock_mode: ``COMPLIANCE`` (nobody, root included, can shorten it) or
        ``GOVERNANCE``. Default: ``COMPLIANCE``.
    :param object_lock_years: default object lock retention. Default: 6.
    :param policy: compliance policy (retention, TLS). Default: ``DEFAULT_POLICY``.

    Exposes :attr:`trail`, :attr:`bucket`, :attr:`log_group`, :attr:`trail_arn`,
    :attr:`replication_role`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        replica_bucket_name: str,
        replica_region: str,
        replica_key_arn: str,
        object_lock_mode: str = "COMPLIANCE",
        object_lock_years: int = 6,
        policy: CompliancePolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(scope, construct_id)
        _storage.check_object_lock(object_lock_mode, object_lock_years)
        stack = cdk.Stack.of(self)
        # Names known before deployment, so the key policy can name the trail and log group
        # without a dependency cycle (both resources reference the key).
        trail_name = cdk.Names.unique_resource_name(self, max_length=120, separator="-")
        self.trail_arn = (
            f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{trail_name}"
        )
        log_group_name = f"/certwarden/cloudtrail/{trail_name}"
        log_group_arn = (
            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{log_group_name}"
        )

        self._grant_key_use(key, log_group_arn)

        replication = _storage.Replication(
            self,
            replica_bucket_name=replica_bucket_name,
            replica_region=replica_region,
            replica_key_arn=replica_key_arn,
        )
        self.replication_role = replication.role
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="audit-trail/",
            lifecycle_rules=_storage.retention_lifecycle(
                _storage.retention_days(policy, object_lock_years)
            ),
            replication_role=replication.role,
            replication_rules=replication.rules,
            **_storage.secure_bucket_props(policy),
        )
        _storage.set_object_lock(self.bucket, mode=object_lock_mode, years=object_lock_years)
        replication.attach(self.bucket, key)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            encryption_key=key,
            retention=_storage.log_retention_at_least(policy.log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        logs_role = iam.Role(
            self,
            "LogsRole",
            assumed_by=iam.ServicePrincipal(
                "cloudtrail.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceArn": self.trail_arn}},
            ),
            description="CloudTrail delivery to its CloudWatch Logs log group",
        )
        logs_policy = iam.ManagedPolicy(
            self,
            "LogsPolicy",
            roles=[logs_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )

        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=trail_name,
            bucket=self.bucket,
            encryption_key=key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.ALL,
        )
        cfn_trail = self.trail.node.default_child
        assert isinstance(cfn_trail, cloudtrail.CfnTrail)
        # Set here rather than with send_to_cloud_watch_logs, whose role gets an inline policy.
        cfn_trail.cloud_watch_logs_log_group_arn = self.log_group.log_group_arn
        cfn_trail.cloud_watch_logs_role_arn = logs_role.role_arn
        cfn_trail.node.add_dependency(logs_policy)
        assert self.bucket.policy is not None
        cfn_trail.node.add_dependency(self.bucket.policy)

    def _grant_key_use(self, key: kms.IKey, log_group_arn: str) -> None:
        stack = cdk.Stack.of(self)
        cloudtrail_principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        statements = [
            iam.PolicyStatement(
                sid="CloudTrailEncryptLogs",
                principals=[cloudtrail_principal],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                        )
                    },
                    "StringEquals": {"aws:SourceArn": self.trail_arn},
                },
            ),
            iam.PolicyStatement(
                sid="CloudTrailDescribeKey",
                principals=[cloudtrail_principal],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceArn": self.trail_arn}},
            ),
            iam.PolicyStatement(
                sid="CloudWatchLogsAuditTrailLogGroup",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
            ),
        ]
        for statement in statements:
            if not key.add_to_resource_policy(statement).statement_added:
                raise ValueError(
                    "key must be a KMS key defined in this stack: AuditTrail adds CloudTrail "
                    "and CloudWatch Logs statements to its key policy, which an imported key "
                    "cannot take"
                )
