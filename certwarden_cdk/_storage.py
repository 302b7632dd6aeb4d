"""Private helpers shared by CertWarden's bucket constructs (not a construct, not public API).

Validation of bucket names, regions and object-lock settings, the retention lifecycle, the
log-group retention mapping, and the cross-region replication wiring (role, managed policy and
rule) used by :mod:`certwarden_cdk.audit_trail` and :mod:`certwarden_cdk.reports_bucket`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from certwarden_cdk.compliance import acknowledge
from certwarden_runtime.policy import CompliancePolicy

#: IAM path of every replication role CertWarden creates. The replica bucket and its key
#: trust roles under this path of the source account (role names are generated).
REPLICATION_ROLE_PATH = "/certwarden/replication/"

OBJECT_LOCK_MODES: tuple[str, ...] = ("COMPLIANCE", "GOVERNANCE")

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)/[A-Za-z0-9/_-]+$")

#: CloudWatch Logs retention values (days) and their RetentionDays members, ascending.
_LOG_RETENTION: tuple[tuple[int, logs.RetentionDays], ...] = (
    (1, logs.RetentionDays.ONE_DAY),
    (3, logs.RetentionDays.THREE_DAYS),
    (5, logs.RetentionDays.FIVE_DAYS),
    (7, logs.RetentionDays.ONE_WEEK),
    (14, logs.RetentionDays.TWO_WEEKS),
    (30, logs.RetentionDays.ONE_MONTH),
    (60, logs.RetentionDays.TWO_MONTHS),
    (90, logs.RetentionDays.THREE_MONTHS),
    (120, logs.RetentionDays.FOUR_MONTHS),
    (150, logs.RetentionDays.FIVE_MONTHS),
    (180, logs.RetentionDays.SIX_MONTHS),
    (365, logs.RetentionDays.ONE_YEAR),
    (400, logs.RetentionDays.THIRTEEN_MONTHS),
    (545, logs.RetentionDays.EIGHTEEN_MONTHS),
    (731, logs.RetentionDays.TWO_YEARS),
    (1096, logs.RetentionDays.THREE_YEARS),
    (1827, logs.RetentionDays.FIVE_YEARS),
    (2192, logs.RetentionDays.SIX_YEARS),
    (2557, logs.RetentionDays.SEVEN_YEARS),
    (2922, logs.RetentionDays.EIGHT_YEARS),
    (3288, logs.RetentionDays.NINE_YEARS),
    (3653, logs.RetentionDays.TEN_YEARS),
)


def log_retention_at_least(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch Logs retention keeping logs at least ``days`` days
    (``INFINITE`` beyond ten years)."""
    for value, member in _LOG_RETENTION:
        if value >= days:
            return member
    return logs.RetentionDays.INFINITE


def unresolved(value: object) -> bool:
    return isinstance(value, str) and cdk.Token.is_unresolved(value)


def check_bucket_name(prop: str, value: str) -> None:
    if unresolved(value):
        return
    if not _BUCKET_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{prop} {value!r} is not a valid S3 bucket name: 3-63 characters of lowercase "
            "letters, digits, '.' and '-', starting and ending with a letter or digit"
        )


def check_region(prop: str, value: str) -> None:
    if unresolved(value):
        return
    if not _REGION.fullmatch(value):
        raise ValueError(f"{prop} {value!r} is not an AWS region name such as 'us-west-2'")


def check_kms_arn(prop: str, value: str, *, region: str) -> None:
    """A key or alias ARN (``arn:aws:kms:<region>:<account>:key/...`` or ``.../alias/...``)."""
    if unresolved(value):
        return
    match = _KMS_ARN.fullmatch(value)
    if not match:
        raise ValueError(
            f"{prop} {value!r} must be a KMS key or alias ARN "
            "(arn:aws:kms:<region>:<account>:key/<id> or ...:alias/<name>)"
        )
    if not unresolved(region) and match.group(1) != region:
        raise ValueError(f"{prop} {value!r} is in {match.group(1)}, not in {region}")


def check_object_lock(mode: str, years: int) -> None:
    if mode not in OBJECT_LOCK_MODES:
        raise ValueError(
            f"object_lock_mode {mode!r} is not allowed; use one of {', '.join(OBJECT_LOCK_MODES)}"
        )
    if not 1 <= years <= 100:
        raise ValueError(f"object_lock_years {years} must be between 1 and 100")


def retention_days(policy: CompliancePolicy, object_lock_years: int = 0) -> int:
    """Days objects are kept: the policy's log retention, never shorter than the object lock
    (366 days a year, so leap years cannot make the lifecycle act before the lock ends)."""
    return max(policy.log_retention_days, object_lock_years * 366)


def retention_lifecycle(days: int) -> list[s3.LifecycleRule]:
    """Keep current and previous versions ``days`` days, then expire them."""
    return [
        s3.LifecycleRule(
            id="retention",
            enabled=True,
            expiration=cdk.Duration.days(days),
            noncurrent_version_expiration=cdk.Duration.days(days),
            abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
        )
    ]


def minimum_tls(policy: CompliancePolicy) -> float:
    """``TLSv1.2`` -> 1.2 (the ``s3:TlsVersion`` condition value)."""
    return float(policy.min_tls_version.removeprefix("TLSv"))


#: The rules flagging a bucket without SSE-KMS default encryption / without replication.
KMS_RULES: tuple[str, ...] = (
    "HIPAA.Security-S3DefaultEncryptionKMS",
    "NIST.800.53.R5-S3DefaultEncryptionKMS",
)
REPLICATION_RULES: tuple[str, ...] = (
    "HIPAA.Security-S3BucketReplicationEnabled",
    "NIST.800.53.R5-S3BucketReplicationEnabled",
)


def acknowledge_rules(scope: Construct, rules: Sequence[str], reason: str) -> None:
    """Acknowledge ``rules`` on the L1 resource of ``scope`` (the ``AWS::S3::Bucket`` of an
    ``s3.Bucket``), not on its siblings such as the bucket policy, which the rules never
    examine."""
    target = scope.node.default_child or scope
    for rule in rules:
        acknowledge(target, rule, reason)


def secure_bucket_props(policy: CompliancePolicy) -> dict[str, Any]:
    """What every CertWarden bucket has: TLS-only (minimum version from the policy), block
    public access, ACLs disabled, versioning, retained on stack deletion."""
    return {
        "enforce_ssl": True,
        "minimum_tls_version": minimum_tls(policy),
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "versioned": True,
        "removal_policy": cdk.RemovalPolicy.RETAIN,
    }


def set_object_lock(bucket: s3.Bucket, *, mode: str, years: int) -> None:
    """Default retention in years (the L2 only writes days)."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.object_lock_enabled = True
    cfn.object_lock_configuration = s3.CfnBucket.ObjectLockConfigurationProperty(
        object_lock_enabled="Enabled",
        rule=s3.CfnBucket.ObjectLockRuleProperty(
            default_retention=s3.CfnBucket.DefaultRetentionProperty(mode=mode, years=years)
        ),
    )


def replica_alias_name(bucket_name: str) -> str:
    """``alias/certwarden/replica/<bucket name with dots as dashes>``."""
    return "alias/certwarden/replica/" + bucket_name.replace(".", "-")


class Replication:
    """Replication of one source bucket to a replica bucket named by name in another region.

    Create it before the bucket (the bucket takes :attr:`role` and :attr:`rules`), then call
    :meth:`attach` with the bucket to give the role its managed policy.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        replica_bucket_name: str,
        replica_region: str,
        replica_key_arn: str,
        prefix: str | None = None,
    ) -> None:
        check_bucket_name("replica_bucket_name", replica_bucket_name)
        check_region("replica_region", replica_region)
        stack = cdk.Stack.of(scope)
        if not unresolved(stack.region) and stack.region == replica_region:
            raise ValueError(
                f"replica_region {replica_region!r} must differ from the stack's region "
                "(the copy protects against the loss of a region)"
            )
        check_kms_arn("replica_key_arn", replica_key_arn, region=replica_region)
        self._scope = scope
        self.replica_bucket_name = replica_bucket_name
        self.replica_region = replica_region
        self.replica_key_arn = replica_key_arn
        self.replica_bucket_arn = f"arn:{stack.partition}:s3:::{replica_bucket_name}"
        self.role = iam.Role(
            scope,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            path=REPLICATION_ROLE_PATH,
            description=f"S3 replication to {replica_bucket_name} in {replica_region}",
        )
        destination = s3.Bucket.from_bucket_attributes(
            scope, "ReplicaBucket", bucket_arn=self.replica_bucket_arn, region=replica_region
        )
        self.rules = [
            s3.ReplicationRule(
                id="to-replica-region",
                destination=destination,
                kms_key=kms.Key.from_key_arn(scope, "ReplicaKey", replica_key_arn),
                sse_kms_encrypted_objects=True,
                delete_marker_replication=False,
                priority=0,
                filter=s3.Filter(prefix=prefix) if prefix else None,
            )
        ]
        self.policy: iam.ManagedPolicy | None = None

    def attach(self, bucket: s3.IBucket, source_key: kms.IKey) -> iam.ManagedPolicy:
        """The replication role's managed policy (least privilege on both sides)."""
        stack = cdk.Stack.of(self._scope)
        replica_key_statement = iam.PolicyStatement(
            actions=["kms:Encrypt", "kms:GenerateDataKey"],
            resources=[self.replica_key_arn],
            conditions={
                "StringEquals": {"kms:ViaService": f"s3.{self.replica_region}.amazonaws.com"}
            },
        )
        if ":alias/" in self.replica_key_arn:
            # IAM evaluates KMS permissions on the key ARN, which the source stack cannot know
            # (the key lives in another region's stack): match it by its alias instead.
            account = self.replica_key_arn.split(":")[4]
            replica_key_statement = iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:GenerateDataKey"],
                resources=[f"arn:{stack.partition}:kms:{self.replica_region}:{account}:key/*"],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{self.replica_region}.amazonaws.com"},
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": self.replica_key_arn.split(":", 5)[5]
                    },
                },
            )
        self.policy = iam.ManagedPolicy(
            self._scope,
            "ReplicationPolicy",
            description=f"Replicate {bucket.node.path} to {self.replica_bucket_name}",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    actions=[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                        "s3:GetObjectRetention",
                        "s3:GetObjectLegalHold",
                    ],
                    resources=[bucket.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[f"{self.replica_bucket_arn}/*"],
                ),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[source_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
                    },
                ),
                replica_key_statement,
            ],
        )
        self._acknowledge_wildcards(bucket, stack)
        return self.policy

    def _acknowledge_wildcards(self, bucket: s3.IBucket, stack: cdk.Stack) -> None:
        assert self.policy is not None
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        logical_id = stack.resolve(stack.get_logical_id(cfn_bucket))
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]",
            "S3 replication must read every object version (and its retention and legal hold) "
            "of the source bucket it replicates; the policy names only that bucket",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{self.replica_bucket_name}/*]",
            "S3 replication writes replicas of any object key into the one replica bucket",
        )
        if ":alias/" in self.replica_key_arn:
            account = self.replica_key_arn.split(":")[4]
            acknowledge(
                self.policy,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:{self.replica_region}:"
                f"{account}:key/*]",
                "the replica key lives in another region's stack, so its key id is unknown "
                "here; the statement matches only the key carrying the replica alias "
                "(kms:ResourceAliases) and only through S3 (kms:ViaService)",
            )
