"""The certwarden CLI over moto: inventory, check, report, renew, revoke, export-evidence."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import boto3
import pytest

from certwarden_runtime import cli
from demo import moto_acm

from .conftest import BUCKET, REGION, AwsFixture

ARGS = ["--region", REGION, "--no-progress"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sub_commands_are_registered() -> None:
    parser = cli.build_parser()
    text = parser.format_help()
    for name in ("inventory", "check", "report", "revoke", "renew", "export-evidence"):
        assert name in text


def test_no_command_prints_help() -> None:
    assert cli.main([]) == 2


def test_inventory_table_and_exit_codes(
    aws: AwsFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.cert("fine.example.org", days_left=300)
    code, out, err = run(capsys, "inventory", *ARGS)
    assert code == 0
    assert "fine.example.org" in out
    assert "days_to_expiry" in out
    assert json.loads(err.strip().splitlines()[-1])["certificates"] == 1
    aws.cert("soon.example.org", days_left=3)
    code, out, _ = run(capsys, "inventory", *ARGS, "--format", "json")
    assert code == 1  # critical findings gate CI/cron
    assert {r["domain"] for r in json.loads(out)} == {"fine.example.org", "soon.example.org"}


def test_inventory_csv(aws: AwsFixture, capsys: pytest.CaptureFixture[str]) -> None:
    aws.cert("a.example.org", key_algorithm="RSA_1024")
    code, out, _ = run(capsys, "inventory", *ARGS, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert rows[0]["findings"] == "KEY_ALGORITHM_BELOW_POLICY(RSA_1024)"


def test_report_writes_files(
    aws: AwsFixture, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    aws.cert("a.example.org")
    code, _, err = run(capsys, "report", *ARGS, "--output", str(tmp_path))
    assert code == 0
    assert "reports written" in err
    assert {p.name for p in tmp_path.iterdir()} >= {
        "inventory.csv",
        "inventory.json",
        "report.html",
    }


def test_check_renews_alerts_once_with_a_state_file(
    aws: AwsFixture, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    arn = aws.cert(
        "p.example.org", days_left=20, type="PRIVATE", eligibility="ELIGIBLE", in_use=True
    )
    state = str(tmp_path / "state.json")
    argv = ["check", *ARGS, "--warning-topic-arn", aws.warning_topic, "--critical-topic-arn",
            aws.critical_topic, "--state-file", state, "--bucket", ""]  # fmt: skip
    code, _, err = run(capsys, *argv)
    assert code == 0
    assert [arn] == moto_acm.RENEWALS
    assert json.loads(err.strip().splitlines()[-1])["alerts_sent"] == 1
    code, _, err = run(capsys, *argv)
    assert json.loads(err.strip().splitlines()[-1])["alerts_sent"] == 0
    code, _, err = run(capsys, "check", *ARGS, "--dry-run")
    assert code == 0


def test_check_without_region_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("CERTWARDEN_REGIONS", raising=False)
    code, _, err = run(capsys, "check", "--no-progress")
    assert code == 2
    assert "no region" in err


def test_renew(aws: AwsFixture, capsys: pytest.CaptureFixture[str]) -> None:
    private = aws.cert("p.example.org", days_left=100, type="PRIVATE", eligibility="ELIGIBLE")
    imported = aws.cert("i.example.org")
    code, out, _ = run(capsys, "renew", "--arn", private)
    assert code == 0
    assert [private] == moto_acm.RENEWALS
    assert json.loads(out)["outcome"] == "STARTED"
    code, _, err = run(capsys, "renew", "--arn", imported)
    assert code == 2
    assert "IMPORTED must be replaced" in err
    ineligible = aws.cert("q.example.org", type="PRIVATE", eligibility="INELIGIBLE")
    code, _, err = run(capsys, "renew", "--arn", ineligible)
    assert code == 2
    assert "not eligible" in err


def test_renew_unknown_certificate_is_an_aws_error(
    aws: AwsFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "renew", "--arn", f"arn:aws:acm:{REGION}:123456789012:certificate/nope"
    )
    assert code == 3
    assert "AWS error" in err


def test_revoke_private_certificate(aws: AwsFixture, capsys: pytest.CaptureFixture[str]) -> None:
    pca = boto3.client("acm-pca", region_name=REGION)
    ca = pca.create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": "RSA_4096",
            "SigningAlgorithm": "SHA512WITHRSA",
            "Subject": {"CommonName": "Example Org Issuing CA"},
        },
        CertificateAuthorityType="SUBORDINATE",
    )["CertificateAuthorityArn"]
    pca.update_certificate_authority(CertificateAuthorityArn=ca, Status="ACTIVE")
    arn = aws.cert("p.example.org", type="PRIVATE", ca_arn=ca)
    code, _, err = run(capsys, "revoke", "--arn", arn, "--reason", "KEY_COMPROMISE")
    assert code == 2
    assert "--yes" in err
    code, out, _ = run(capsys, "revoke", "--arn", arn, "--reason", "KEY_COMPROMISE", "--yes")
    assert code == 0
    assert json.loads(out)["reason"] == "KEY_COMPROMISE"
    from moto.acmpca.models import acmpca_backends

    revoked = (
        acmpca_backends["123456789012"][REGION].certificate_authorities[ca].revoked_certificates
    )
    assert [v["revocation_reason"] for v in revoked.values()] == ["KEY_COMPROMISE"]
    imported = aws.cert("i.example.org")
    code, _, err = run(capsys, "revoke", "--arn", imported, "--reason", "SUPERSEDED", "--yes")
    assert code == 2
    assert "not a private certificate" in err


def test_export_evidence_from_bucket_and_folder(
    aws: AwsFixture, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    aws.cert("a.example.org")
    code, _, _ = run(capsys, "check", *ARGS, "--bucket", BUCKET, "--dry-run")
    assert code == 0
    out = tmp_path / "evidence"
    code, _, err = run(
        capsys, "export-evidence", "--bucket", BUCKET, "--output", str(out), "--region", REGION
    )
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    names = sorted(Path(m["file"]).name for m in manifest["files"])
    assert names == ["audit.jsonl", "inventory.csv", "inventory.json", "report.html"]
    assert (out / "SHA256SUMS.csv").read_text().startswith("file,sha256")
    code, _, _ = run(
        capsys, "export-evidence", "--from-dir", str(out), "--output", str(tmp_path / "copy")
    )
    assert code == 0
    code, _, err = run(
        capsys,
        "export-evidence",
        "--bucket",
        BUCKET,
        "--date",
        "2001-01-01",
        "--output",
        str(tmp_path / "none"),
        "--region",
        REGION,
    )
    assert code == 3
    assert "nothing to export" in err
    code, _, err = run(
        capsys,
        "export-evidence",
        "--bucket",
        BUCKET,
        "--date",
        "yesterday",
        "--output",
        str(tmp_path / "x"),
    )
    assert code == 2
    assert "YYYY-MM-DD" in err
