"""AuditTrail, AccessLogsBucket, ReportsBucket and AuditReplicaBucket: one synth per module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from certwarden_cdk.access_logs_bucket import AccessLogsBucket
from certwarden_cdk.audit_replica_bucket import AuditReplicaBucket, replica_key_alias_arn
from certwarden_cdk.audit_trail import AuditTrail
from certwarden_cdk.reports_bucket import ReportsBucket
from certwarden_runtime.policy import DEFAULT_POLICY
from tests.nag_helpers import nag_findings, new_app, template_of

ACCOUNT = "111111111111"
REGION = "us-east-1"
REPLICA_REGION = "us-west-2"
REPLICA_BUCKET = "certwarden-audit-replica.example.org"
REPLICA_KEY = replica_key_alias_arn(REPLICA_BUCKET, REPLICA_REGION, ACCOUNT)


@dataclass
class Synth:
    findings: list[str]
    source: dict[str, Any]
    replica: dict[str, Any]
    trail: AuditTrail
    reports: ReportsBucket
    access_logs: AccessLogsBucket
    source_stack: cdk.Stack


@pytest.fixture(scope="module")
def synth() -> Synth:
    app = new_app()
    source = cdk.Stack(app, "Source", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(source, "Key", enable_key_rotation=True)
    access_logs = AccessLogsBucket(source, "AccessLogs")
    trail = AuditTrail(
        source,
        "Audit",
        key=key,
        access_logs_bucket=access_logs.bucket,
        replica_bucket_name=REPLICA_BUCKET,
        replica_region=REPLICA_REGION,
        replica_key_arn=REPLICA_KEY,
        object_lock_mode="GOVERNANCE",
        object_lock_years=7,
    )
    reports = ReportsBucket(
        source,
        "Reports",
        key=key,
        access_logs_bucket=access_logs.bucket,
        replica_bucket_name=REPLICA_BUCKET,
        replica_region=REPLICA_REGION,
        replica_key_arn=REPLICA_KEY,
    )
    replica = cdk.Stack(app, "Replica", env=cdk.Environment(account=ACCOUNT, region=REPLICA_REGION))
    AuditReplicaBucket(replica, "AuditReplica", bucket_name=REPLICA_BUCKET, source_account=ACCOUNT)
    findings = nag_findings(app)
    return Synth(
        findings,
        template_of(app, source),
        template_of(app, replica),
        trail,
        reports,
        access_logs,
        source,
    )


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _logical_id(synth: Synth, construct: Any) -> str:
    return str(synth.source_stack.resolve(synth.source_stack.get_logical_id(construct)))


def _bucket_id(synth: Synth, bucket: Any) -> str:
    return _logical_id(synth, bucket.node.default_child)


def test_nag_clean(synth: Synth) -> None:
    assert synth.findings == []


def test_no_inline_policies_or_lambdas(synth: Synth) -> None:
    for template in (synth.source, synth.replica):
        assert _resources(template, "AWS::IAM::Policy") == {}
        assert _resources(template, "AWS::Lambda::Function") == {}
        assert not _resources(template, "Custom::S3AutoDeleteObjects")


def test_trail_multi_region_validated_encrypted_with_cloudwatch_logs(synth: Synth) -> None:
    (trail,) = _resources(synth.source, "AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    assert props["IsMultiRegionTrail"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["IsLogging"] is True
    assert props["KMSKeyId"] == {"Fn::GetAtt": [_logical_id(synth, _key(synth)), "Arn"]}
    assert props["EventSelectors"] == [{"IncludeManagementEvents": True, "ReadWriteType": "All"}]
    assert "DataResources" not in str(props)
    log_group_id = _logical_id(synth, synth.trail.log_group.node.default_child)
    assert props["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    assert props["S3BucketName"] == {"Ref": _bucket_id(synth, synth.trail.bucket)}


def _key(synth: Synth) -> Any:
    return synth.source_stack.node.find_child("Key").node.default_child


def test_trail_depends_on_bucket_policy_and_logs_policy(synth: Synth) -> None:
    (trail,) = _resources(synth.source, "AWS::CloudTrail::Trail").values()
    assert synth.trail.bucket.policy is not None
    policy_id = _logical_id(synth, synth.trail.bucket.policy.node.default_child)
    assert policy_id in trail["DependsOn"]
    (managed_logs_policy,) = [
        k
        for k, v in _resources(synth.source, "AWS::IAM::ManagedPolicy").items()
        if "logs:PutLogEvents" in str(v)
    ]
    assert managed_logs_policy in trail["DependsOn"]


def test_trail_log_group_encrypted_and_kept_six_years(synth: Synth) -> None:
    log_group = synth.source["Resources"][
        _logical_id(synth, synth.trail.log_group.node.default_child)
    ]
    assert log_group["Properties"]["RetentionInDays"] >= DEFAULT_POLICY.log_retention_days
    assert log_group["Properties"]["RetentionInDays"] == 2192
    assert log_group["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [_logical_id(synth, _key(synth)), "Arn"]
    }


def _key_statements(synth: Synth) -> list[dict[str, Any]]:
    key = synth.source["Resources"][_logical_id(synth, _key(synth))]
    return list(key["Properties"]["KeyPolicy"]["Statement"])


def test_key_policy_lets_cloudtrail_encrypt_bound_to_this_trail(synth: Synth) -> None:
    resolved = synth.source_stack.resolve(synth.trail.trail_arn)
    cloudtrail = [
        s
        for s in _key_statements(synth)
        if s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    ]
    generate = next(s for s in cloudtrail if s["Action"] == "kms:GenerateDataKey*")
    assert "kms:EncryptionContext:aws:cloudtrail:arn" in generate["Condition"]["StringLike"]
    assert generate["Condition"]["StringEquals"]["aws:SourceArn"] == resolved
    describe = next(s for s in cloudtrail if s["Action"] == "kms:DescribeKey")
    assert describe["Condition"]["StringEquals"]["aws:SourceArn"] == resolved


def test_key_policy_lets_cloudwatch_logs_use_key_for_the_log_group(synth: Synth) -> None:
    logs = next(
        s
        for s in _key_statements(synth)
        if s["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    )
    assert "kms:GenerateDataKey*" in logs["Action"]
    arn = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    log_group = synth.source["Resources"][
        _logical_id(synth, synth.trail.log_group.node.default_child)
    ]
    # The exact log group (no wildcard): Fn::Join whose last part ends with its name.
    assert arn["Fn::Join"][1][-1].endswith(f":log-group:{log_group['Properties']['LogGroupName']}")


def _bucket(synth: Synth, bucket: Any) -> dict[str, Any]:
    return dict(synth.source["Resources"][_bucket_id(synth, bucket)]["Properties"])


def test_trail_bucket_security(synth: Synth) -> None:
    props = _bucket(synth, synth.trail.bucket)
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_object_lock_mode_and_years_from_props(synth: Synth) -> None:
    props = _bucket(synth, synth.trail.bucket)
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 7}},
    }
    replica = next(iter(_resources(synth.replica, "AWS::S3::Bucket").values()))
    replica_bucket = next(
        v
        for v in _resources(synth.replica, "AWS::S3::Bucket").values()
        if v["Properties"].get("BucketName") == REPLICA_BUCKET
    )
    assert replica is not None
    assert replica_bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Years": 6,
    }


def test_lifecycle_keeps_at_least_retention_and_lock(synth: Synth) -> None:
    buckets = [
        *_resources(synth.source, "AWS::S3::Bucket").values(),
        *_resources(synth.replica, "AWS::S3::Bucket").values(),
    ]
    assert len(buckets) == 5
    for bucket in buckets:
        (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rule["ExpirationInDays"] >= 2192
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 2192
    trail_rule = _bucket(synth, synth.trail.bucket)["LifecycleConfiguration"]["Rules"][0]
    assert trail_rule["ExpirationInDays"] >= 7 * 366  # never before the 7-year lock ends


def _policy_statements(template: dict[str, Any], bucket_id: str) -> list[dict[str, Any]]:
    for policy in _resources(template, "AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}:
            return list(policy["Properties"]["PolicyDocument"]["Statement"])
    raise AssertionError(f"no bucket policy for {bucket_id}")


def test_every_bucket_is_tls_only(synth: Synth) -> None:
    for template in (synth.source, synth.replica):
        for bucket_id in _resources(template, "AWS::S3::Bucket"):
            statements = _policy_statements(template, bucket_id)
            assert any(
                s["Effect"] == "Deny"
                and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in statements
            ), bucket_id
            assert any(
                s["Effect"] == "Deny"
                and s.get("Condition") == {"NumericLessThan": {"s3:TlsVersion": 1.2}}
                for s in statements
            ), bucket_id


def test_access_logs_go_to_a_separate_bucket_never_to_itself(synth: Synth) -> None:
    logs_id = _bucket_id(synth, synth.access_logs.bucket)
    for template in (synth.source, synth.replica):
        for bucket_id, bucket in _resources(template, "AWS::S3::Bucket").items():
            logging = bucket["Properties"].get("LoggingConfiguration")
            if logging is None:
                continue
            assert logging["DestinationBucketName"] != {"Ref": bucket_id}
    for source in (synth.trail.bucket, synth.reports.bucket):
        logging = _bucket(synth, source)["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": logs_id}
    access_logs = _bucket(synth, synth.access_logs.bucket)
    assert "LoggingConfiguration" not in access_logs
    # Server access log delivery needs SSE-S3, no object lock, bucket-policy grants (no ACLs).
    sse = access_logs["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert "ObjectLockConfiguration" not in access_logs
    assert access_logs["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "AccessControl" not in access_logs
    delivery = [
        s
        for s in _policy_statements(synth.source, logs_id)
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert len(delivery) == 2
    assert all("aws:SourceArn" in s["Condition"]["ArnLike"] for s in delivery)


def test_only_the_access_log_buckets_skip_checkov_access_logging(synth: Synth) -> None:
    """checkov CKV_AWS_18 wants access logging on every bucket: every bucket logs, except the
    log destinations themselves, which carry the skip with its reason."""
    logs_id = _bucket_id(synth, synth.access_logs.bucket)
    skipping = []
    for template in (synth.source, synth.replica):
        for bucket_id, bucket in _resources(template, "AWS::S3::Bucket").items():
            skips = bucket.get("Metadata", {}).get("checkov", {}).get("skip", [])
            if "LoggingConfiguration" in bucket["Properties"]:
                assert skips == [], bucket_id
                continue
            [skip] = skips
            assert skip["id"] == "CKV_AWS_18"
            assert "server-access-log destination" in skip["comment"]
            skipping.append(bucket_id)
    # the source stack's log bucket and the replica stack's own one
    assert len(skipping) == 2
    assert logs_id in skipping


def test_replication_to_replica_bucket_by_name_in_replica_region(synth: Synth) -> None:
    for bucket in (synth.trail.bucket, synth.reports.bucket):
        config = _bucket(synth, bucket)["ReplicationConfiguration"]
        (rule,) = config["Rules"]
        assert rule["Status"] == "Enabled"
        assert rule["Destination"]["Bucket"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{REPLICA_BUCKET}"]]
        }
        assert rule["Destination"]["EncryptionConfiguration"] == {"ReplicaKmsKeyID": REPLICA_KEY}
        assert f":kms:{REPLICA_REGION}:" in REPLICA_KEY
        assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"] == {"Status": "Enabled"}
    # No cross-region references (they would need custom-resource Lambdas and SSM exports).
    assert "Fn::ImportValue" not in str(synth.source)
    assert "Custom::" not in str(synth.source)


def test_replication_role_has_managed_policy_with_both_keys(synth: Synth) -> None:
    policies = [
        p
        for p in _resources(synth.source, "AWS::IAM::ManagedPolicy").values()
        if "s3:ReplicateObject" in str(p)
    ]
    assert len(policies) == 2
    template = Template.from_json(synth.source)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Action": "kms:Decrypt", "Resource": Match.any_value()}),
                        Match.object_like(
                            {
                                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                                "Condition": {
                                    "StringEquals": {
                                        "kms:ViaService": f"s3.{REPLICA_REGION}.amazonaws.com"
                                    },
                                    "ForAnyValue:StringEquals": {
                                        "kms:ResourceAliases": REPLICA_KEY.split(":", 5)[5]
                                    },
                                },
                            }
                        ),
                    ]
                )
            },
            "Roles": Match.any_value(),
        },
    )
    for role in _resources(synth.source, "AWS::IAM::Role").values():
        if "s3.amazonaws.com" in str(role["Properties"]["AssumeRolePolicyDocument"]):
            assert role["Properties"]["Path"] == "/certwarden/replication/"


def test_replica_stack_key_alias_and_policies(synth: Synth) -> None:
    (alias,) = _resources(synth.replica, "AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == REPLICA_KEY.split(":", 5)[5]
    (key,) = _resources(synth.replica, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    replica_id, replica = next(
        (k, v)
        for k, v in _resources(synth.replica, "AWS::S3::Bucket").items()
        if v["Properties"].get("BucketName") == REPLICA_BUCKET
    )
    props = replica["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert (
        props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "aws:kms"
    )
    assert props["LoggingConfiguration"]["DestinationBucketName"] != {"Ref": replica_id}
    replicate = next(
        s
        for s in _policy_statements(synth.replica, replica_id)
        if s.get("Sid") == "AllowSourceReplicationRoles"
    )
    assert "s3:ReplicateObject" in replicate["Action"]
    assert "certwarden/replication/*" in str(replicate["Condition"]["ArnLike"]["aws:PrincipalArn"])


def test_reports_statement_helpers_are_for_managed_policies(synth: Synth) -> None:
    statements = [
        synth.source_stack.resolve(s.to_statement_json())
        for s in synth.reports.read_write_statements()
    ]
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:GenerateDataKey"} <= set(actions)
    assert "s3:*" not in actions


def test_validation_errors_name_the_prop() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "V", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    logs = AccessLogsBucket(stack, "Logs")
    base: dict[str, Any] = {
        "key": key,
        "access_logs_bucket": logs.bucket,
        "replica_bucket_name": REPLICA_BUCKET,
        "replica_region": REPLICA_REGION,
        "replica_key_arn": REPLICA_KEY,
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"object_lock_mode": "LEGAL"}, "object_lock_mode"),
        ({"object_lock_years": 0}, "object_lock_years"),
        ({"replica_region": REGION}, "replica_region"),
        ({"replica_region": "mars-1"}, "replica_region"),
        ({"replica_bucket_name": "Bad_Name"}, "replica_bucket_name"),
        ({"replica_key_arn": "alias/x"}, "replica_key_arn"),
        (
            {"replica_key_arn": replica_key_alias_arn(REPLICA_BUCKET, "eu-west-1", ACCOUNT)},
            "replica_key_arn",
        ),
    ]
    for index, (change, prop) in enumerate(cases):
        with pytest.raises(ValueError, match=prop):
            AuditTrail(stack, f"T{index}", **{**base, **change})
    with pytest.raises(ValueError, match="replica_bucket_name, replica_region and replica_key_arn"):
        ReportsBucket(
            stack, "R", key=key, access_logs_bucket=logs.bucket, replica_region="us-west-2"
        )
    imported = kms.Key.from_key_arn(
        stack,
        "Imported",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    with pytest.raises(ValueError, match="key must be a KMS key defined in this stack"):
        AuditTrail(stack, "WithImportedKey", **{**base, "key": imported})
    with pytest.raises(ValueError, match="source_account"):
        AuditReplicaBucket(stack, "Rep", bucket_name=REPLICA_BUCKET, source_account="12")
