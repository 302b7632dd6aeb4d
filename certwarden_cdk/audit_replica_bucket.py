"""The cross-region copy of the audit trail (and reports), deployed in the replica region."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from certwarden_cdk import _storage
from certwarden_cdk.access_logs_bucket import AccessLogsBucket
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

REPLICATION_ROLE_PATH = _storage.REPLICATION_ROLE_PATH


def replica_key_alias_arn(
    bucket_name: str, region: str, account: str, *, partition: str = "aws"
) -> str:
    """ARN of the alias of the replica bucket's KMS key, derived from the bucket name alone.

    The source stack (another region) passes it as ``replica_key_arn`` to
    :class:`~certwarden_cdk.audit_trail.AuditTrail` and
    :class:`~certwarden_cdk.reports_bucket.ReportsBucket` instead of a cross-region reference.
    """
    _storage.check_bucket_name("bucket_name", bucket_name)
    _storage.check_region("region", region)
    return f"arn:{partition}:kms:{region}:{account}:{_storage.replica_alias_name(bucket_name)}"


class AuditReplicaBucket(Construct):
    """Destination of cross-region replication from the audit trail bucket (and reports).

    Put it in a stack of the replica region. It creates its own customer-managed KMS key
    (rotation on, alias ``alias/certwarden/replica/<bucket name>``, see
    :func:`replica_key_alias_arn`), the bucket (fixed ``bucket_name``, SSE-KMS with that key,
    versioning, block public access, TLS-only, object lock, retention lifecycle), and its own
    :class:`~certwarden_cdk.access_logs_bucket.AccessLogsBucket`. Its bucket and key policies
    let replication roles of ``source_account`` (IAM path ``/certwarden/replication/``) write
    replicas.

    :param bucket_name: the replica bucket's name, shared with the source stack through
        configuration (the source names its destination by name, not by reference). Required.
    :param source_account: account whose replication roles may replicate here. Required.
    :param policy: compliance policy (retention, TLS). Default: ``DEFAULT_POLICY``.
    :param object_lock_mode: ``COMPLIANCE`` or ``GOVERNANCE``; must match the source bucket's.
        Default: ``COMPLIANCE``.
    :param object_lock_years: default retention in years. Default: 6.

    Exposes :attr:`bucket`, :attr:`key`, :attr:`access_logs`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        source_account: str,
        policy: CompliancePolicy = DEFAULT_POLICY,
        object_lock_mode: str = "COMPLIANCE",
        object_lock_years: int = 6,
    ) -> None:
        super().__init__(scope, construct_id)
        _storage.check_bucket_name("bucket_name", bucket_name)
        _storage.check_object_lock(object_lock_mode, object_lock_years)
        if not _storage.unresolved(source_account) and not (
            len(source_account) == 12 and source_account.isdigit()
        ):
            raise ValueError(f"source_account {source_account!r} must be a 12-digit account id")
        stack = cdk.Stack.of(self)
        replication_roles = (
            f"arn:{stack.partition}:iam::{source_account}:role{REPLICATION_ROLE_PATH}*"
        )

        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts replicas in {bucket_name}",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.key.add_alias(_storage.replica_alias_name(bucket_name))
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSourceReplicationRoles",
                principals=[iam.AccountPrincipal(source_account)],
                actions=["kms:Encrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "ArnLike": {"aws:PrincipalArn": replication_roles},
                    "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
                },
            )
        )

        self.access_logs = AccessLogsBucket(self, "AccessLogs", policy=policy)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_logs.bucket,
            server_access_logs_prefix=f"{bucket_name}/",
            lifecycle_rules=_storage.retention_lifecycle(
                _storage.retention_days(policy, object_lock_years)
            ),
            **_storage.secure_bucket_props(policy),
        )
        _storage.set_object_lock(self.bucket, mode=object_lock_mode, years=object_lock_years)
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSourceReplicationRoles",
                principals=[iam.AccountPrincipal(source_account)],
                actions=[
                    "s3:ReplicateObject",
                    "s3:ReplicateDelete",
                    "s3:ReplicateTags",
                    "s3:ObjectOwnerOverrideToBucketOwner",
                ],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"ArnLike": {"aws:PrincipalArn": replication_roles}},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSourceReplicationRolesBucket",
                principals=[iam.AccountPrincipal(source_account)],
                actions=["s3:GetBucketVersioning", "s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"ArnLike": {"aws:PrincipalArn": replication_roles}},
            )
        )
        reason = (
            "this bucket is the cross-region replica of the audit trail bucket; replicating "
            "the replica again adds no copy in another failure domain"
        )
        _storage.acknowledge_rules(self.bucket, _storage.REPLICATION_RULES, reason)

    @staticmethod
    def replica_key_alias_arn(
        bucket_name: str, region: str, account: str, *, partition: str = "aws"
    ) -> str:
        """Same as the module function :func:`replica_key_alias_arn`."""
        return replica_key_alias_arn(bucket_name, region, account, partition=partition)
