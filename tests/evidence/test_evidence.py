"""The controls matrix, built from a small synthesized app with known compliant, failing and
acknowledged resources (the real app's matrix is tested in test_real_assembly.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from cdk_app import evidence
from certwarden_cdk.compliance import acknowledge, apply_compliance_checks
from certwarden_runtime.policy import DEFAULT_POLICY

ACK_REASON = "this alert topic carries no ePHI in the evidence test fixture"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("evidence-out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(
        app, "CertWarden-fixture", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    sns.Topic(stack, "EncryptedTopic", master_key=key, enforce_ssl=True)
    plain = sns.Topic(stack, "PlainTopic")
    acknowledge(plain, "HIPAA.Security-SNSEncryptedKMS", ACK_REASON)
    bucket = s3.Bucket(
        stack,
        "Bucket",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        enforce_ssl=True,
        versioned=True,
        object_lock_enabled=True,
    )
    acknowledge(bucket, "AwsSolutions-S1", "no access logs needed in the evidence test fixture")
    trail = cloudtrail.Trail(stack, "Trail", encryption_key=key, enable_file_validation=True)
    del trail
    acm.CfnCertificate(
        stack,
        "GoodCert",
        domain_name="portal.example.org",
        validation_method="DNS",
        key_algorithm="EC_prime256v1",
    )
    acm.CfnCertificate(stack, "WeakCert", domain_name="weak.example.org", key_algorithm="RSA_1024")
    topic = sns.Topic(stack, "AlarmTopic", master_key=key)
    alarm = cloudwatch.Alarm(
        stack,
        "Alarm",
        metric=cloudwatch.Metric(namespace="AWS/CertificateManager", metric_name="DaysToExpiry"),
        threshold=15,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    apply_compliance_checks(app)
    with pytest.raises(RuntimeError, match=r"validation-report\.json"):
        app.synth()  # the fixture has findings on purpose
    return outdir


@pytest.fixture(scope="module")
def matrix(assembly: Path) -> dict[str, Any]:
    envs = evidence.read_assembly(assembly)
    assert list(envs) == ["fixture"]
    rules = (*evidence.nag_catalogue(), *evidence.certwarden_catalogue())
    return evidence.build_matrix(envs["fixture"], evidence.read_violations(assembly), rules)


def _safeguard(matrix: dict[str, Any], control: str) -> dict[str, Any]:
    return next(s for s in matrix["safeguards"] if s["control"] == control)


def _check(safeguard: dict[str, Any], rule: str) -> dict[str, Any]:
    return next(c for c in safeguard["checks"] if c["rule"] == rule)


def _status(check: dict[str, Any], path_part: str) -> dict[str, Any]:
    return next(r for r in check["resources"] if path_part in r["path"])


def test_nag_catalogue_reads_control_ids_and_types_from_installed_cdk_nag() -> None:
    rules = {r.rule_id: r for r in evidence.nag_catalogue()}
    sns_rule = rules["HIPAA.Security-SNSEncryptedKMS"]
    assert sns_rule.controls == ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    assert sns_rule.resource_types == frozenset({"sns::Topic"})
    assert rules["AwsSolutions-S1"].check == rules["HIPAA.Security-S3BucketLoggingEnabled"].check
    assert sum(r.pack == "HIPAA.Security" for r in rules.values()) > 50


def test_parse_controls() -> None:
    assert evidence.parse_controls("x - (Control ID: 164.312(b)).") == ("164.312(b)",)
    assert evidence.parse_controls("no ids here") == ()
    assert evidence.control_matches("164.308(a)(7)", "164.308(a)(7)(ii)(A)")
    assert not evidence.control_matches("164.312(e)(1)", "164.312(e)(2)(ii)")


def test_every_required_safeguard_is_in_the_matrix(matrix: dict[str, Any]) -> None:
    controls = [s["control"] for s in matrix["safeguards"]]
    for control in (
        "164.312(a)(2)(iv)",
        "164.312(b)",
        "164.312(c)(1)",
        "164.312(e)(1)",
        "164.312(e)(2)(ii)",
        "164.308(a)(1)(ii)(D)",
        "164.308(a)(7)",
    ):
        assert control in controls


def test_resources_are_found_by_type_and_properties(matrix: dict[str, Any]) -> None:
    encryption = _safeguard(matrix, "164.312(a)(2)(iv)")
    paths = {r["path"] for r in encryption["resources"]}
    assert "CertWarden-fixture/EncryptedTopic/Resource" in paths
    assert "CertWarden-fixture/Key/Resource" in paths
    assert "CertWarden-fixture/PlainTopic/Resource" not in paths
    integrity = {r["implements"] for r in _safeguard(matrix, "164.312(c)(1)")["resources"]}
    assert "trail with log file integrity validation (signed digests)" in integrity
    assert "bucket with S3 Object Lock (WORM)" in integrity
    review = _safeguard(matrix, "164.308(a)(1)(ii)(D)")["resources"]
    assert [r["type"] for r in review] == ["AWS::CloudWatch::Alarm"]


def test_checks_report_passed_acknowledged_and_failed(matrix: dict[str, Any]) -> None:
    encryption = _safeguard(matrix, "164.312(a)(2)(iv)")
    check = _check(encryption, "HIPAA.Security-SNSEncryptedKMS")
    assert _status(check, "EncryptedTopic")["status"] == "passed"
    acknowledged = _status(check, "PlainTopic")
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["reason"] == ACK_REASON
    # the same check in another pack, not acknowledged there: the synth reported it
    nist = _check(encryption, "NIST.800.53.R5-SNSEncryptedKMS")
    assert _status(nist, "PlainTopic")["status"] == "failed"
    assert {"rule": "HIPAA.Security-SNSEncryptedKMS", "reason": ACK_REASON}.items() <= (
        encryption["acknowledged_findings"][0].items()
    )


def test_certwarden_rules_are_evaluated_on_the_templates(matrix: dict[str, Any]) -> None:
    transmission = _safeguard(matrix, "164.312(e)(1)")
    acm1 = _check(transmission, "CertWarden-ACM1")
    assert _status(acm1, "GoodCert")["status"] == "passed"
    weak = _status(acm1, "WeakCert")
    assert weak["status"] == "failed"
    assert "RSA_1024" in weak["detail"]


def test_inherited_acknowledgements_are_not_listed_as_findings(matrix: dict[str, Any]) -> None:
    s1 = [f for f in matrix["acknowledged_findings"] if f["rule"] == "AwsSolutions-S1"]
    assert [f["type"] for f in s1] == ["AWS::S3::Bucket"]  # not the bucket policy


def test_unacknowledged_findings_are_listed(matrix: dict[str, Any]) -> None:
    rules = {f["rule"] for f in matrix["unacknowledged_findings"]}
    assert "NIST.800.53.R5-SNSEncryptedKMS" in rules


def test_write_evidence_writes_markdown_json_and_policy(assembly: Path) -> None:
    assert evidence.main([str(assembly)]) == 0
    folder = assembly / "evidence"
    data = json.loads((folder / "fixture-controls-matrix.json").read_text())
    assert data["environment"] == "fixture"
    markdown = (folder / "fixture-controls-matrix.md").read_text()
    assert "## §164.312(e)(2)(ii) Encryption (transmission security" in markdown
    assert ACK_REASON in markdown
    assert "`CertWarden-ACM1`" in markdown
    assert (
        (folder / "certificate-policy.md").read_text().startswith("# Certificate management policy")
    )


def test_an_earlier_synths_evidence_does_not_survive(assembly: Path) -> None:
    """`cdk synth -c env=production` after a synth of every environment must not leave the
    other environment's matrix beside the new one, looking current."""
    folder = assembly / "evidence"
    folder.mkdir(exist_ok=True)
    (folder / "retired-controls-matrix.md").write_text("from an earlier synth")
    assert evidence.main([str(assembly)]) == 0
    assert not (folder / "retired-controls-matrix.md").exists()
    assert (folder / "fixture-controls-matrix.md").exists()


def test_summary_counts_each_resource_once(assembly: Path) -> None:
    assert evidence.main([str(assembly)]) == 0
    data = json.loads((assembly / "evidence" / "fixture-controls-matrix.json").read_text())
    markdown = (assembly / "evidence" / "fixture-controls-matrix.md").read_text()
    for safeguard in data["safeguards"]:
        distinct = {(r["stack"], r["logical_id"]) for r in safeguard["resources"]}
        row = next(
            line
            for line in markdown.splitlines()
            if line.startswith(f"| §{safeguard['control']} {safeguard['title']} |")
        )
        assert row.split("|")[2].strip() == str(len(distinct)), row


def test_main_without_assembly_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evidence.main([str(tmp_path)]) == 1
    assert "make synth" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ack_id", "bare"),
    [
        ("CloudFormation-Validate::F3002", "F3002"),
        ("AwsSolutions-IAM5[Resource::<AuditBucket7486E833.Arn>/*]", None),
        ("AwsSolutions-IAM5[Action::s3:*]", None),
        ("HIPAA.Security-S3DefaultEncryptionKMS", None),
    ],
)
def test_bare_rule_id_keeps_granular_ids_whole(ack_id: str, bare: str | None) -> None:
    from cdk_app.evidence import bare_rule_id

    assert bare_rule_id(ack_id) == (bare or ack_id)


def _real_matrix(assembly: Path, environment: str) -> dict[str, Any]:
    from cdk_app.evidence import (
        build_matrix,
        certwarden_catalogue,
        nag_catalogue,
        read_assembly,
        read_violations,
    )

    rules = (*nag_catalogue(), *certwarden_catalogue())
    env = read_assembly(assembly)[environment]
    return build_matrix(env, read_violations(assembly), rules, DEFAULT_POLICY)


def test_real_app_lists_granular_acknowledgements_by_their_full_id(
    synthesized_assembly: Path,
) -> None:
    matrix = _real_matrix(synthesized_assembly, "staging")
    rules = [finding["rule"] for finding in matrix["acknowledged_findings"]]
    granular = [rule for rule in rules if "[" in rule]
    assert granular, rules  # the watch function's IAM5 wildcards are acknowledged granularly
    assert all(rule.startswith("AwsSolutions-IAM5[") for rule in granular), granular
    assert all(re.match(r"^[A-Za-z0-9.]+(-[A-Za-z0-9.]+)+", rule) for rule in rules), rules


def test_real_app_names_each_function_for_what_it_does(synthesized_assembly: Path) -> None:
    matrix = _real_matrix(synthesized_assembly, "staging")
    review = next(s for s in matrix["safeguards"] if s["control"] == "164.308(a)(1)(ii)(D)")
    functions = {
        r["path"].split("/")[1]: r["implements"]
        for r in review["resources"]
        if r["type"] == "AWS::Lambda::Function"
    }
    assert functions.keys() == {"CertificateWatch", "TlsScanner"}
    assert functions["CertificateWatch"].startswith("daily certificate operations job")
    assert functions["TlsScanner"].startswith("scheduled TLS endpoint scanner")
