"""The bucket where the daily certificate job writes its reports and alert state."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from certwarden_cdk import _storage
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy


class ReportsBucket(Construct):
    """Certificate reports and the job's alert-state JSON.

    SSE-KMS with ``key`` (bucket key on), versioning (every state change is kept), block public
    access, bucket-owner-enforced ownership, TLS-only policy, server access logs to
    ``access_logs_bucket``, a lifecycle keeping every version ``policy.log_retention_days``.

    With ``replica_bucket_name``/``replica_region``/``replica_key_arn`` (the audit replica,
    see :class:`~certwarden_cdk.audit_replica_bucket.AuditReplicaBucket`) every object is
    replicated there, keeping its key (``reports/...``, ``state/...``). Without them the
    replication rules are acknowledged: the reports are derived data the job rebuilds from ACM
    on its next run, and the audit evidence itself is replicated by the audit trail.

    Grant access with the statement helpers (:meth:`read_write_statements`,
    :meth:`read_statements`) inside an ``iam.ManagedPolicy``: ``bucket.grant_*`` would write
    an inline default policy.

    :param key: customer-managed KMS key encrypting the objects. Required.
    :param access_logs_bucket: destination of the server access logs. Required.
    :param policy: compliance policy (retention, TLS). Default: ``DEFAULT_POLICY``.
    :param replica_bucket_name: replica bucket in ``replica_region``. Default: no replication.
    :param replica_region: region of the replica bucket. Default: none.
    :param replica_key_arn: key or alias ARN for the replicas. Default: none.

    Exposes :attr:`bucket`, :attr:`key`, :attr:`replication_role` (``None`` without a replica).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        policy: CompliancePolicy = DEFAULT_POLICY,
        replica_bucket_name: str | None = None,
        replica_region: str | None = None,
        replica_key_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        replica = (replica_bucket_name, replica_region, replica_key_arn)
        if any(value is not None for value in replica) and None in replica:
            raise ValueError(
                "replica_bucket_name, replica_region and replica_key_arn go together: "
                "give all three to replicate, or none"
            )
        self.key = key
        replication = None
        if replica_bucket_name and replica_region and replica_key_arn:
            replication = _storage.Replication(
                self,
                replica_bucket_name=replica_bucket_name,
                replica_region=replica_region,
                replica_key_arn=replica_key_arn,
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="reports/",
            lifecycle_rules=_storage.retention_lifecycle(policy.log_retention_days),
            replication_role=replication.role if replication else None,
            replication_rules=replication.rules if replication else None,
            **_storage.secure_bucket_props(policy),
        )
        self.replication_role = replication.role if replication else None
        if replication:
            replication.attach(self.bucket, key)
        else:
            reason = (
                "no replica configured: reports and alert state are derived data the daily job "
                "rebuilds from ACM; the audit evidence is replicated by the audit trail"
            )
            _storage.acknowledge_rules(self.bucket, _storage.REPLICATION_RULES, reason)

    def read_statements(self, *, key_prefix: str = "") -> list[iam.PolicyStatement]:
        """Read objects under ``key_prefix`` (default: all) and list the bucket."""
        return [
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{key_prefix}*")],
            ),
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]),
            self._key_statement(["kms:Decrypt"]),
        ]

    def read_write_statements(self, *, key_prefix: str = "") -> list[iam.PolicyStatement]:
        """Read and write objects under ``key_prefix`` (default: all) and list the bucket.
        Put the statements in an ``iam.ManagedPolicy`` attached to the caller's role."""
        return [
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{key_prefix}*")],
            ),
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]),
            self._key_statement(["kms:Decrypt", "kms:GenerateDataKey"]),
        ]

    def _key_statement(self, actions: list[str]) -> iam.PolicyStatement:
        region = cdk.Stack.of(self).region
        return iam.PolicyStatement(
            actions=actions,
            resources=[self.key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        )
