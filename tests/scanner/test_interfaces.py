"""The CLI and the scheduled Lambda run end to end against lab endpoints: exit status, report
formats, S3 reports, the one SNS alert and the metrics."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from certwarden_runtime.cli import main
from certwarden_runtime.policy import DEFAULT_POLICY
from certwarden_runtime.scanner import contract, engine, handler
from certwarden_runtime.scanner.models import EndpointResult, ScanOptions, Target
from certwarden_runtime.scanner.report import CSV_COLUMNS
from certwarden_runtime.scanner.targets import targets_to_json
from certwarden_runtime.scanner.trust import TrustStore
from tests.scanner.conftest import LAB_TIMEOUT, Lab

pytestmark = pytest.mark.slow


def _targets_file(lab: Lab, names: Sequence[str], directory: Path) -> Path:
    path = directory / "targets.yaml"
    lines = ["targets:"]
    for name in names:
        target = lab.endpoints[name][0]
        lines += [
            f"  - name: {name}",
            f"    host: {target.host}",
            f"    port: {target.port}",
            f"    sni: {target.sni}",
            "    compliance: HIPAA",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _scan(lab: Lab, names: Sequence[str], directory: Path, *extra: str) -> int:
    return main(
        [
            "scan",
            "--targets",
            str(_targets_file(lab, names, directory)),
            "--ca-bundle",
            str(lab.pki.bundle),
            "--timeout",
            str(LAB_TIMEOUT),
            "--no-progress",
            *extra,
        ]
    )


# -- CLI ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("names", "status"),
    [
        (["good-ec", "good-rsa"], 0),  # SECURE
        (["good-ec", "cbc-only"], 3),  # MEDIUM
        (["good-ec", "cbc-only", "tls10"], 4),  # HIGH
        (["cbc-only", "expired", "refused"], 5),  # CRITICAL
    ],
)
def test_cli_exit_status_is_the_worst_rating(
    lab: Lab,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    names: list[str],
    status: int,
) -> None:
    assert _scan(lab, names, tmp_path) == status
    table = capsys.readouterr().out
    for name in names:
        assert name in table
    assert f"{len(names)} endpoint(s)" in table


def test_cli_json_report(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    names = ["good-ec", "expired", "hostile-close"]
    assert _scan(lab, names, tmp_path, "--format", "json", "-o", str(out)) == 5
    document = json.loads(out.read_text())
    assert document["worst_rating"] == "CRITICAL"
    assert document["ratings"] == {"SECURE": 1, "MEDIUM": 0, "HIGH": 1, "CRITICAL": 1}
    assert document["policy"]["min_tls_version"] == DEFAULT_POLICY.min_tls_version
    by_name = {e["target"]["name"]: e for e in document["endpoints"]}
    assert list(by_name) == names  # target order kept
    assert by_name["good-ec"]["rating"] == "SECURE"
    assert "TLSv1.3" in by_name["good-ec"]["protocols"]
    assert by_name["good-ec"]["certificates"][0]["key"].startswith("EC")
    assert [f["rule"] for f in by_name["expired"]["findings"]] == ["cert-expired"]
    assert by_name["hostile-close"]["findings"][0]["rule"] == "endpoint-handshake-failure"
    assert by_name["expired"]["target"]["compliance"] == "HIPAA"


def test_cli_csv_report(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _scan(lab, ["good-rsa", "tls11"], tmp_path, "--format", "csv") == 4
    text = capsys.readouterr().out
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = list(reader)
    good = [r for r in rows if r["name"] == "good-rsa"]
    [good_row] = good
    assert good_row["rating"] == "SECURE"
    assert good_row["rule"] == ""
    tls11 = {r["rule"]: r for r in rows if r["name"] == "tls11"}
    assert tls11["protocol-tlsv1.1"]["severity"] == "HIGH"
    assert tls11["protocol-tlsv1.1"]["rating"] == "HIGH"
    assert all(r["port"].isdigit() and r["scanned_at"] for r in rows)


def test_cli_host_port_arguments_with_sni(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    target = lab.endpoints["hostname-mismatch"][0]
    status = main(
        [
            "scan",
            f"{target.host}:{target.port}",
            "--sni",
            str(target.sni),
            "--ca-bundle",
            str(lab.pki.bundle),
            "--timeout",
            str(LAB_TIMEOUT),
            "--no-progress",
        ]
    )
    assert status == 4
    assert "cert-hostname-mismatch" in capsys.readouterr().out


# -- scheduled Lambda -----------------------------------------------------------------------------
@pytest.fixture
def lab_trust_engine(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The handler's engine, scanning for real, with the lab's root as the only trust anchor
    (the Lambda trusts the system store, which knows nothing of the lab's test CA)."""
    real: Callable[..., list[EndpointResult]] = engine.scan_endpoints
    calls: list[int] = []
    trust = TrustStore.load(lab.pki.bundle, use_system=False)

    def scan(
        targets: Sequence[Target], options: ScanOptions, **kwargs: Any
    ) -> list[EndpointResult]:
        calls.append(len(targets))
        return real(targets, options, trust=trust, **kwargs)

    monkeypatch.setattr(engine, "scan_endpoints", scan)
    return calls


def _aws(monkeypatch: pytest.MonkeyPatch, lab: Lab, names: Sequence[str]) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="certwarden-reports")
    s3.put_bucket_encryption(
        Bucket="certwarden-reports",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    }
                }
            ]
        },
    )
    topic = sns.create_topic(Name="tls-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    environment = {
        contract.ENV_REPORTS_BUCKET: "certwarden-reports",
        contract.ENV_REPORTS_KMS_KEY_ID: key_arn,
        contract.ENV_SCAN_ALERT_TOPIC_ARN: topic,
        contract.ENV_SCAN_TARGETS: targets_to_json(lab.endpoints[n][0] for n in names),
        contract.ENV_SCAN_TIMEOUT: str(LAB_TIMEOUT),
        contract.ENV_SCAN_CONCURRENCY: "4",
        contract.ENV_ENVIRONMENT: "staging",
        **DEFAULT_POLICY.to_environment(),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return {"s3": s3, "sqs": sqs, "queue": queue, "key": key_arn}


def _metrics(stdout: str) -> dict[str, Any]:
    [record] = [json.loads(line) for line in stdout.splitlines() if '"_aws"' in line]
    assert isinstance(record, dict)
    return record


@mock_aws
def test_lambda_handler_scans_stores_alerts_once_and_emits_metrics(
    lab: Lab,
    lab_trust_engine: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = ["good-ec", "cbc-only", "tls10", "expired", "refused"]
    aws = _aws(monkeypatch, lab, names)
    summary = handler.lambda_handler({}, None)
    assert lab_trust_engine == [len(names)]
    assert summary["endpoints"] == 5
    assert summary["ratings"] == {"SECURE": 1, "MEDIUM": 1, "HIGH": 2, "CRITICAL": 1}
    assert summary["alerted"] is True
    # Reports: JSON + CSV under tls-scans/<env>/yyyy/mm/dd/, SSE-KMS with the configured key.
    listing = aws["s3"].list_objects_v2(Bucket="certwarden-reports")["Contents"]
    keys = sorted(o["Key"] for o in listing)
    assert len(keys) == 2
    assert all(k.startswith("tls-scans/staging/") for k in keys)
    assert [k.rsplit(".", 1)[1] for k in keys] == ["csv", "json"]
    assert summary["reports"] == [
        f"s3://certwarden-reports/{keys[1]}",
        f"s3://certwarden-reports/{keys[0]}",
    ]
    for key in keys:
        head = aws["s3"].head_object(Bucket="certwarden-reports", Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == aws["key"]
    body = aws["s3"].get_object(Bucket="certwarden-reports", Key=keys[1])["Body"].read()
    document = json.loads(body)
    assert [e["target"]["name"] for e in document["endpoints"]] == names
    assert document["worst_rating"] == "CRITICAL"
    rows = list(csv.DictReader(io.StringIO(
        aws["s3"].get_object(Bucket="certwarden-reports", Key=keys[0])["Body"].read().decode()
    )))  # fmt: skip
    assert {r["name"] for r in rows} == set(names)
    # Exactly one alert, naming every HIGH/CRITICAL endpoint and no other.
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10)
    [message] = messages["Messages"]
    text = json.loads(message["Body"])["Message"]
    for name in ("tls10", "expired", "refused"):
        assert f"  {name} (" in text
    for name in ("good-ec", "cbc-only"):
        assert f"  {name} (" not in text
    assert keys[1] in text
    # Metrics: one EMF record, a count per rating and the total.
    record = _metrics(capsys.readouterr().out)
    assert record["Environment"] == "staging"
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == contract.METRICS_NAMESPACE
    assert {
        name: record[name]
        for name in (
            "TlsEndpointsSecure",
            "TlsEndpointsMedium",
            "TlsEndpointsHigh",
            "TlsEndpointsCritical",
            "TlsEndpointsScanned",
        )
    } == {
        "TlsEndpointsSecure": 1,
        "TlsEndpointsMedium": 1,
        "TlsEndpointsHigh": 2,
        "TlsEndpointsCritical": 1,
        "TlsEndpointsScanned": 5,
    }


@mock_aws
def test_lambda_handler_sends_no_alert_when_nothing_is_high(
    lab: Lab,
    lab_trust_engine: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws = _aws(monkeypatch, lab, ["good-rsa", "expiring-45"])
    summary = handler.lambda_handler({}, None)
    assert summary["alerted"] is False
    assert summary["ratings"] == {"SECURE": 1, "MEDIUM": 1, "HIGH": 0, "CRITICAL": 0}
    assert "Messages" not in aws["sqs"].receive_message(QueueUrl=aws["queue"], WaitTimeSeconds=0)
    assert len(aws["s3"].list_objects_v2(Bucket="certwarden-reports")["Contents"]) == 2
    record = _metrics(capsys.readouterr().out)
    assert record["TlsEndpointsMedium"] == 1
    assert record["TlsEndpointsHigh"] == 0
    assert record["TlsEndpointsScanned"] == 2
