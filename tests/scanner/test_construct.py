"""The scanner construct in its own test stack, with CertWarden's compliance packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from cdk_app.config import ScanTarget
from certwarden_cdk.tls_scanner_function import (
    DEFAULT_WHEELHOUSE,
    TlsScannerFunction,
    check_wheelhouse,
)
from certwarden_runtime.policy import DEFAULT_POLICY
from certwarden_runtime.scanner import contract
from tests.nag_helpers import nag_findings, new_app, template_of

pytestmark = pytest.mark.slow

ACCOUNT, REGION = "111111111111", "us-east-1"
TARGETS = [
    ScanTarget(name="patient-portal", host="portal.example.org"),
    ScanTarget(name="api", host="api.example.org", port=8443, sni="api.example.org"),
]

try:
    check_wheelhouse(DEFAULT_WHEELHOUSE)
    WHEELHOUSE_MISSING = ""
except ValueError as error:
    WHEELHOUSE_MISSING = str(error)
needs_wheelhouse = pytest.mark.skipif(bool(WHEELHOUSE_MISSING), reason=WHEELHOUSE_MISSING)


def _stack(app: cdk.App, *, with_vpc: bool) -> tuple[cdk.Stack, TlsScannerFunction]:
    stack = cdk.Stack(app, "ScannerTest", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True, description="test CMK")
    bucket = s3.Bucket.from_bucket_name(stack, "Reports", "certwarden-reports-111111111111")
    topic = sns.Topic.from_topic_arn(
        stack, "Alerts", f"arn:aws:sns:{REGION}:{ACCOUNT}:certwarden-critical"
    )
    vpc = None
    if with_vpc:
        vpc = ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=["us-east-1a", "us-east-1b"],
            private_subnet_ids=["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
        )
    scanner = TlsScannerFunction(
        stack,
        "TlsScanner",
        environment_name="staging",
        targets=TARGETS,
        reports_bucket=bucket,
        encryption_key=key,
        alert_topic=topic,
        policy=DEFAULT_POLICY,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        if vpc
        else None,
    )
    return stack, scanner


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


@pytest.fixture(scope="module", params=[False, True], ids=["no-vpc", "vpc"])
def synthesized(request: pytest.FixtureRequest) -> tuple[cdk.App, dict[str, Any], list[str]]:
    if WHEELHOUSE_MISSING:
        pytest.skip(WHEELHOUSE_MISSING)
    app = new_app()
    stack, _ = _stack(app, with_vpc=request.param)
    findings = nag_findings(app)
    return app, template_of(app, stack), findings


@needs_wheelhouse
def test_passes_every_compliance_pack(
    synthesized: tuple[cdk.App, dict[str, Any], list[str]],
) -> None:
    assert synthesized[2] == []


@needs_wheelhouse
def test_function_shape(synthesized: tuple[cdk.App, dict[str, Any], list[str]]) -> None:
    _, template, _ = synthesized
    [function] = _resources(template, "AWS::Lambda::Function")
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == contract.SCANNER_HANDLER
    assert props["ReservedConcurrentExecutions"] == 1
    assert "DeadLetterConfig" in props
    assert "KmsKeyArn" in props
    variables = props["Environment"]["Variables"]
    targets = json.loads(variables[contract.ENV_SCAN_TARGETS])
    assert [t["name"] for t in targets] == ["patient-portal", "api"]
    assert targets[1]["port"] == 8443
    assert float(variables[contract.ENV_SCAN_TIMEOUT]) <= 10
    assert variables["CERTWARDEN_LOG_RETENTION_DAYS"] == str(DEFAULT_POLICY.log_retention_days)


@needs_wheelhouse
def test_no_inline_policies_and_own_encrypted_log_group(
    synthesized: tuple[cdk.App, dict[str, Any], list[str]],
) -> None:
    _, template, _ = synthesized
    assert _resources(template, "AWS::IAM::Policy") == []
    for role in _resources(template, "AWS::IAM::Role"):
        assert "Policies" not in role["Properties"]
    assert len(_resources(template, "AWS::IAM::ManagedPolicy")) == 1
    [log_group] = _resources(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 2192
    assert "KmsKeyId" in log_group["Properties"]
    [rule] = _resources(template, "AWS::Events::Rule")
    assert rule["Properties"]["ScheduleExpression"].startswith("cron(")
    [queue] = _resources(template, "AWS::SQS::Queue")
    assert "KmsMasterKeyId" in queue["Properties"]


@needs_wheelhouse
def test_vpc_placement_skip_and_scoped_vpc_access(
    synthesized: tuple[cdk.App, dict[str, Any], list[str]],
) -> None:
    """Outside a VPC, checkov's CKV_AWS_117 is skipped on the function with the reason; in a
    VPC there is no skip and no ec2 write action on "*" (checkov CKV_AWS_111)."""
    _, template, _ = synthesized
    [function] = _resources(template, "AWS::Lambda::Function")
    [policy] = _resources(template, "AWS::IAM::ManagedPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    ec2_statements = {s["Sid"]: s for s in statements if "ec2:" in json.dumps(s["Action"])}
    skips = function.get("Metadata", {}).get("checkov", {}).get("skip", [])
    if "VpcConfig" not in function["Properties"]:
        [skip] = skips
        assert skip["id"] == "CKV_AWS_117"
        assert "public" in skip["comment"]
        assert ec2_statements == {}
        return
    assert skips == []
    assert ec2_statements["DescribeVpcAttachment"]["Resource"] == "*"
    for sid in ("CreateFunctionNetworkInterfaces", "ManageFunctionNetworkInterfaces"):
        assert ec2_statements[sid]["Resource"] != "*"
    create = json.dumps(ec2_statements["CreateFunctionNetworkInterfaces"]["Resource"])
    for subnet in ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210"):
        assert f":ec2:{REGION}:*:subnet/{subnet}" in create
    assert f":ec2:{REGION}:{ACCOUNT}:security-group/" in create


@needs_wheelhouse
def test_asset_holds_runtime_and_lambda_platform_wheels(
    synthesized: tuple[cdk.App, dict[str, Any], list[str]],
) -> None:
    app, _, _ = synthesized
    [asset] = [p for p in Path(app.outdir).glob("asset.*") if (p / "certwarden_runtime").is_dir()]
    assert (asset / "certwarden_runtime" / "scanner" / "handler.py").is_file()
    assert (asset / "sslyze").is_dir()
    native = [p.name for p in asset.glob("nassl/*.so")]
    assert native
    assert all("cpython-314-x86_64-linux-gnu" in name for name in native), native
    assert not list(asset.rglob("*cpython-311*"))


def test_rejects_bad_props() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket.from_bucket_name(stack, "Reports", "certwarden-reports-111111111111")
    topic = sns.Topic.from_topic_arn(stack, "T", f"arn:aws:sns:{REGION}:{ACCOUNT}:t")
    common: dict[str, Any] = {
        "environment_name": "staging",
        "reports_bucket": bucket,
        "encryption_key": key,
        "alert_topic": topic,
    }
    with pytest.raises(ValueError, match="at least one scan target"):
        TlsScannerFunction(stack, "A", targets=[], **common)
    with pytest.raises(ValueError, match="scan_timeout_seconds"):
        TlsScannerFunction(stack, "B", targets=TARGETS, scan_timeout_seconds=30, **common)
    with pytest.raises(ValueError, match="names must be unique"):
        TlsScannerFunction(stack, "C", targets=[TARGETS[0], TARGETS[0]], **common)
