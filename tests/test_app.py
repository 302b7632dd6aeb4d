"""The deployable app through its real entry point: every example environment, nag-checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdk_app.summary import main as summary_main
from cdk_app.summary import render, summarize
from certwarden_runtime.contract import WATCH_HANDLER

REPO_ROOT = Path(__file__).resolve().parent.parent


def _templates(assembly: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    templates = {}
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            templates[name] = json.loads(
                (assembly / artifact["properties"]["templateFile"]).read_text()
            )
    return templates


def test_every_environment_gets_a_stack_and_a_replica_stack(synthesized_assembly: Path) -> None:
    assert set(_templates(synthesized_assembly)) == {
        "CertWarden-staging",
        "CertWarden-staging-replica",
        "CertWarden-production",
        "CertWarden-production-replica",
    }


def test_synth_passed_every_pack_and_summary_says_so(synthesized_assembly: Path) -> None:
    summary = summarize(synthesized_assembly)
    assert sum(summary.findings.values()) == 0
    assert set(summary.findings) >= {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"}
    assert summary.environments == ["production", "staging"]
    assert all(stack.resources > 0 for stack in summary.stacks)
    text = render(summary)
    assert "2 environment(s), 4 stack(s)" in text
    assert "CertWarden-production-replica" in text
    assert summary_main([str(synthesized_assembly)]) == 0


def test_every_acknowledgement_has_a_specific_reason(synthesized_assembly: Path) -> None:
    checked = 0
    for template in _templates(synthesized_assembly).values():
        for logical_id, resource in template["Resources"].items():
            for rule in (
                resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            ):
                checked += 1
                assert len(rule.get("reason", "")) >= 20, (logical_id, rule)
    assert checked > 0


def test_no_inline_iam_policies(synthesized_assembly: Path) -> None:
    for name, template in _templates(synthesized_assembly).items():
        inline = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Policy"]
        assert inline == [], f"{name}: {inline}"
        for key, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                assert "Policies" not in resource["Properties"], f"{name}/{key} has inline policies"


def test_every_lambda_function_is_ours(synthesized_assembly: Path) -> None:
    """No framework Lambdas (custom resources, auto-delete, log retention): each function runs
    CertWarden code on the current Python runtime."""
    functions = 0
    for template in _templates(synthesized_assembly).values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                functions += 1
                assert resource["Properties"]["Runtime"] == "python3.14"
                assert resource["Properties"]["Handler"].startswith("certwarden_runtime.")
            assert not resource["Type"].startswith("Custom::")
            assert resource["Type"] != "AWS::CloudFormation::CustomResource"
    assert functions >= 2
    handlers = [
        r["Properties"]["Handler"]
        for t in _templates(synthesized_assembly).values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert WATCH_HANDLER in handlers


def test_account_singleton_and_private_ca_follow_config(synthesized_assembly: Path) -> None:
    templates = _templates(synthesized_assembly)

    def count(stack: str, resource_type: str) -> int:
        return sum(1 for r in templates[stack]["Resources"].values() if r["Type"] == resource_type)

    assert count("CertWarden-staging", "AWS::CertificateManager::Account") == 1
    assert count("CertWarden-staging", "AWS::ACMPCA::CertificateAuthority") == 0
    assert count("CertWarden-production", "AWS::ACMPCA::CertificateAuthority") == 2


def _run_app(outdir: Path, context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``app.py`` as the CDK CLI runs it: output folder and context through the environment."""
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _bad_config(tmp_path: Path, **changes: Any) -> Path:
    raw = yaml.safe_load((REPO_ROOT / "config" / "environments.yaml").read_text())
    raw["environments"]["staging"].update(changes)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_misconfigured_environment_fails_the_entry_point_with_one_clear_message(
    tmp_path: Path,
) -> None:
    config = _bad_config(tmp_path, key_algorithm="RSA_1024")
    result = _run_app(tmp_path / "out", {"certwarden:config": str(config)})
    assert result.returncode == 1
    assert "environment 'staging': field 'key_algorithm': RSA_1024 is below" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists(), reason="CDK CLI not installed"
)
def test_cdk_cli_reports_the_config_error(tmp_path: Path) -> None:
    """What a user sees from `cdk synth` itself: the message, no jsii traceback."""
    config = _bad_config(tmp_path, domains=["portal.example.com"])
    result = subprocess.run(
        [
            str(REPO_ROOT / "node_modules" / ".bin" / "cdk"),
            "synth",
            "--quiet",
            "--output",
            str(tmp_path / "out"),
            "-c",
            f"certwarden:config={config}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_CLI_NOTICES": "false"},
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        "environment 'staging': field 'domains': domain 'portal.example.com' is not inside"
        in output
    )
    assert "Traceback" not in output
    shutil.rmtree(tmp_path / "out", ignore_errors=True)


def _resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_scan_targets_get_the_scheduled_tls_scanner(synthesized_assembly: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "config" / "environments.yaml").read_text())
    for name in ("staging", "production"):
        template = _templates(synthesized_assembly)[f"CertWarden-{name}"]
        scanners = [
            f
            for f in _resources(template, "AWS::Lambda::Function")
            if "scanner" in f["Properties"]["Handler"]
        ]
        assert len(scanners) == 1, name
        environment = json.dumps(scanners[0]["Properties"]["Environment"])
        for target in config["environments"][name]["scan_targets"]:
            assert target["host"] in environment


def test_kubernetes_roles_are_named_as_the_manifests_expect(synthesized_assembly: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "config" / "environments.yaml").read_text())
    templates = _templates(synthesized_assembly)
    for name in ("staging", "production"):
        k8s = config["environments"][name]["kubernetes"]
        expected = {k8s["cert_manager_role_arn"].rsplit("/", 1)[1]}
        if "private_ca_issuer_role_arn" in k8s:
            expected.add(k8s["private_ca_issuer_role_arn"].rsplit("/", 1)[1])
        names = {
            r["Properties"].get("RoleName")
            for r in _resources(templates[f"CertWarden-{name}"], "AWS::IAM::Role")
        }
        assert expected <= names, (name, names)
    outputs = templates["CertWarden-production"]["Outputs"]
    assert any(key.startswith("IssuingCaArn") for key in outputs)


def test_main_command_writes_evidence_next_to_the_templates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    result = _run_app(out, {"env": "staging"})
    assert result.returncode == 0, result.stderr
    evidence = out / "evidence"
    matrix = json.loads((evidence / "staging-controls-matrix.json").read_text())
    assert matrix["environment"] == "staging"
    assert (evidence / "staging-controls-matrix.md").read_text().strip()
    assert (evidence / "certificate-policy.md").read_text().startswith("# Certificate")
    assert not (evidence / "production-controls-matrix.json").exists()
    assert summary_main([str(out)]) == 0
    assert f"evidence for auditors in {evidence}/: certificate-policy.md" in capsys.readouterr().out


def test_synth_needs_no_context_lookup(synthesized_assembly: Path) -> None:
    """A lookup (e.g. the region's availability zones) needs AWS credentials in `cdk synth`."""
    manifest = json.loads((synthesized_assembly / "manifest.json").read_text())
    assert manifest.get("missing", []) == []
    staging = _templates(synthesized_assembly)["CertWarden-staging"]
    zones = [s["Properties"]["AvailabilityZone"] for s in _resources(staging, "AWS::EC2::Subnet")]
    assert zones == [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in range(2)]


def test_reports_and_audit_logs_are_replicated_to_the_replica_region(
    synthesized_assembly: Path,
) -> None:
    config = yaml.safe_load((REPO_ROOT / "config" / "environments.yaml").read_text())
    for name, template in _templates(synthesized_assembly).items():
        if name.endswith("-replica"):
            continue
        replica = config["environments"][name.removeprefix("CertWarden-")]["audit"][
            "replica_bucket_name"
        ]
        replicated = {}
        for logical_id, bucket in template["Resources"].items():
            if bucket["Type"] != "AWS::S3::Bucket" or logical_id.startswith("AccessLogs"):
                continue
            if logical_id.startswith("PrivateCaCrl"):
                continue  # regenerated by the CA; acknowledged with that reason
            rules = bucket["Properties"]["ReplicationConfiguration"]["Rules"]
            replicated[logical_id] = json.dumps(rules[0]["Destination"]["Bucket"])
            acknowledged = [
                r["id"]
                for r in bucket.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            ]
            assert not any("S3BucketReplicationEnabled" in a for a in acknowledged), logical_id
        assert {key[: len("Reports")] for key in replicated} >= {"Reports"}, replicated
        assert all(replica in destination for destination in replicated.values()), replicated


def test_bucket_acknowledgements_sit_on_the_bucket_only(synthesized_assembly: Path) -> None:
    """S3 bucket rules examine AWS::S3::Bucket; an acknowledgement spilling onto the bucket
    policy would be a second, meaningless exception in the auditor's list."""
    buckets = 0
    for template in _templates(synthesized_assembly).values():
        for logical_id, resource in template["Resources"].items():
            acks = [
                r["id"]
                for r in resource.get("Metadata", {})
                .get("cdk_nag", {})
                .get("rules_to_suppress", [])
            ]
            bucket_rules = [a for a in acks if "-S3" in a]
            if resource["Type"] == "AWS::S3::Bucket":
                buckets += bool(bucket_rules)
            else:
                assert bucket_rules == [], (logical_id, resource["Type"], bucket_rules)
    assert buckets > 0


def test_a_compliance_failure_ends_synth_with_the_findings_not_a_traceback(
    tmp_path: Path,
) -> None:
    """jsii words a failed validation ``ValidationFailed: ...``; it must still be recognised."""
    import aws_cdk as cdk
    from aws_cdk import aws_certificatemanager as acm

    from cdk_app.main import SynthError, synth
    from certwarden_cdk.compliance import apply_compliance_checks

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "UserStack")
    acm.CfnCertificate(
        stack, "Weak", domain_name="example.org", key_algorithm="RSA_1024", validation_method="DNS"
    )
    apply_compliance_checks(app)
    with pytest.raises(SynthError) as caught:
        synth(app)
    assert "CertWarden-ACM1 at UserStack/Weak" in str(caught.value)
