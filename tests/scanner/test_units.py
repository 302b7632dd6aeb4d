"""Pure parts: rating rule, cipher classes, certificate rules at the edges, targets, reports,
the Lambda's publishing (moto), the CLI's exit codes."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives import hashes
from moto import mock_aws

from certwarden_runtime.cli import main
from certwarden_runtime.policy import DEFAULT_POLICY
from certwarden_runtime.scanner import contract
from certwarden_runtime.scanner.engine import _StallWatch, _WatchedSocket, install_stall_hook
from certwarden_runtime.scanner.evaluate import (
    Observation,
    evaluate,
    evaluate_chain,
    hostname_matches,
    weak_cipher_classes,
)
from certwarden_runtime.scanner.handler import ScanSettings, alert_message, publish_run
from certwarden_runtime.scanner.models import (
    EndpointResult,
    Finding,
    FindingSeverity,
    Rating,
    Target,
    rating_for,
)
from certwarden_runtime.scanner.report import to_csv, to_json, to_table
from certwarden_runtime.scanner.targets import (
    TargetError,
    load_targets,
    parse_host_port,
    targets_from_json,
    targets_to_json,
)
from certwarden_runtime.scanner.trust import TrustStore
from tests.scanner.lab import Pki

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _finding(severity: FindingSeverity) -> Finding:
    return Finding("x", severity, "t", "e", "p")


@pytest.mark.parametrize(
    ("severities", "rating"),
    [
        ([], Rating.SECURE),
        ([FindingSeverity.INFO], Rating.SECURE),
        ([FindingSeverity.INFO, FindingSeverity.MEDIUM], Rating.MEDIUM),
        ([FindingSeverity.HIGH, FindingSeverity.MEDIUM], Rating.HIGH),
        ([FindingSeverity.CRITICAL, FindingSeverity.HIGH], Rating.CRITICAL),
    ],
)
def test_rating_is_the_worst_finding(severities: list[FindingSeverity], rating: Rating) -> None:
    assert rating_for(_finding(s) for s in severities) is rating


@pytest.mark.parametrize(
    ("suite", "classes"),
    [
        ("TLS_RSA_WITH_NULL_SHA256", ["cipher-null"]),
        ("TLS_DH_anon_WITH_AES_128_CBC_SHA", ["cipher-anonymous"]),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", ["cipher-export", "cipher-rc4"]),
        ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", ["cipher-export", "cipher-des"]),
        ("TLS_RSA_WITH_DES_CBC_SHA", ["cipher-des"]),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", ["cipher-3des"]),
        ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5", ["cipher-3des"]),
        ("SSL_CK_RC4_128_WITH_MD5", ["cipher-rc4"]),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", []),
        ("TLS_AES_128_GCM_SHA256", []),
    ],
)
def test_weak_cipher_classes(suite: str, classes: list[str]) -> None:
    assert weak_cipher_classes(suite) == classes


def test_sslv2_and_export_are_judged_from_observations() -> None:
    """The lab cannot serve SSL 2.0 or EXPORT suites (no library here has them): the same
    evaluation is proven on what sslyze would report."""
    observation = Observation(
        accepted={
            "SSLv2": ("SSL_CK_RC4_128_EXPORT40_WITH_MD5",),
            "SSLv3": (),
            "TLSv1": ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",),
            "TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",),
            "TLSv1.3": (),
        }
    )
    target = Target(host="192.0.2.1")
    findings, _ = evaluate(target, observation, DEFAULT_POLICY, TrustStore(()), NOW)
    rules = {f.rule: f.severity for f in findings}
    assert rules["protocol-sslv2"] is FindingSeverity.CRITICAL
    assert rules["protocol-tlsv1"] is FindingSeverity.HIGH
    assert {"cipher-export", "cipher-rc4", "cipher-des"} <= set(rules)
    assert "protocol-no-tls13" in rules
    assert "cert-unavailable" in rules
    assert rating_for(findings) is Rating.CRITICAL


def test_policy_minimum_tls13_flags_tls12() -> None:
    from dataclasses import replace

    strict = replace(DEFAULT_POLICY, min_tls_version="TLSv1.3")
    observation = Observation(
        accepted={"TLSv1.2": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), "TLSv1.3": ("X",)}
    )
    findings, _ = evaluate(Target(host="192.0.2.1"), observation, strict, TrustStore(()), NOW)
    assert "protocol-tlsv1.2" in {f.rule for f in findings}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def _rules(pki: Pki, **leaf: object) -> set[str]:
    issued = pki.leaf("svc.lab.example.org", **leaf)  # type: ignore[arg-type]
    trust = TrustStore((pki.root.certificate,))
    findings, _ = evaluate_chain(
        [issued.certificate, pki.intermediate.certificate],
        "svc.lab.example.org",
        DEFAULT_POLICY,
        trust,
        pki.now,
    )
    return {f.rule for f in findings}


def test_good_leaf_has_no_findings(pki: Pki) -> None:
    assert _rules(pki) == set()


def test_ec_below_256_bits(pki: Pki) -> None:
    assert "cert-key-too-small" in _rules(pki, key="ec224")


@pytest.mark.parametrize(("days", "tier"), [(46, None), (45, 45), (31, 45), (30, 30), (7, 7)])
def test_expiry_tier_edges(pki: Pki, days: int, tier: int | None) -> None:
    issued = pki.leaf("svc.lab.example.org", days_after=days)
    findings, summary = evaluate_chain(
        [issued.certificate, pki.intermediate.certificate],
        "svc.lab.example.org",
        DEFAULT_POLICY,
        TrustStore((pki.root.certificate,)),
        pki.now + timedelta(seconds=1),
    )
    titles = [f.title for f in findings if f.rule == "cert-expiry-tier"]
    assert titles == ([f"certificate expires within {tier} days"] if tier else [])
    assert summary.days_to_expiry < days


def test_sha1_leaf_is_weak(pki: Pki) -> None:
    assert "cert-weak-signature" in _rules(pki, hash_algorithm=hashes.SHA1())


def test_hostname_matching(pki: Pki) -> None:
    wildcard = pki.leaf("w", san=["*.lab.example.org"]).certificate
    assert hostname_matches(wildcard, "svc.lab.example.org")
    assert not hostname_matches(wildcard, "lab.example.org")
    assert not hostname_matches(wildcard, "a.b.lab.example.org")
    assert not hostname_matches(wildcard, "192.0.2.1")


# -- targets ----------------------------------------------------------------------------------
def test_parse_host_port() -> None:
    assert parse_host_port("example.org").port == 443
    assert parse_host_port("example.org:8443").port == 8443
    v6 = parse_host_port("[2001:db8::1]:993")
    assert (v6.host, v6.port) == ("2001:db8::1", 993)
    with pytest.raises(TargetError, match="port"):
        parse_host_port("example.org:99999")


def test_targets_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "t.yaml"
    yaml_file.write_text(
        "targets:\n  - {name: portal, host: portal.example.org}\n"
        "  - {name: api, host: 192.0.2.10, port: 8443, sni: api.example.org, compliance: HIPAA}\n"
    )
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("name,host,port,sni,type,compliance\nportal,portal.example.org,,,https,\n")
    loaded = load_targets(yaml_file)
    assert [t.server_name for t in loaded] == ["portal.example.org", "api.example.org"]
    assert load_targets(csv_file)[0].port == 443
    assert targets_from_json(targets_to_json(loaded)) == loaded
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {host: example.org, proto: smtp}\n")
    with pytest.raises(TargetError, match="unknown field 'proto'"):
        load_targets(bad)
    bad.write_text("- {host: example.org, type: smtp}\n")
    with pytest.raises(TargetError, match="allowed: https, tls"):
        load_targets(bad)


# -- reports and the Lambda's edges ---------------------------------------------------------------
def _results() -> list[EndpointResult]:
    bad = Finding("protocol-tlsv1", FindingSeverity.HIGH, "TLS 1.0 offered", "1 suite", "p")
    return [
        EndpointResult(Target(host="a.example.org", name="a"), (), NOW.isoformat(), 0.1),
        EndpointResult(Target(host="b.example.org", name="b"), (bad,), NOW.isoformat(), 0.2),
    ]


def test_reports() -> None:
    results = _results()
    document = json.loads(to_json(results, DEFAULT_POLICY, NOW))
    assert document["worst_rating"] == "HIGH"
    assert document["ratings"] == {"SECURE": 1, "MEDIUM": 0, "HIGH": 1, "CRITICAL": 0}
    rows = to_csv(results).splitlines()
    assert rows[0].startswith("name,host,port")
    assert len(rows) == 3
    assert "worst rating HIGH" in to_table(results)


def test_alert_only_for_high_or_critical() -> None:
    assert alert_message(_results()[:1], "staging", "b", "k") is None
    subject, message = alert_message(_results(), "staging", "b", "k") or ("", "")
    assert "1 TLS endpoint(s) HIGH" in subject
    assert "protocol-tlsv1" in message


@mock_aws
def test_publish_run_writes_encrypted_reports_alerts_once_and_emits_metrics() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="reports")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    settings = ScanSettings.from_environment(
        {
            contract.ENV_REPORTS_BUCKET: "reports",
            contract.ENV_REPORTS_KMS_KEY_ID: key_id,
            contract.ENV_SCAN_ALERT_TOPIC_ARN: topic,
            contract.ENV_SCAN_TARGETS: targets_to_json([Target(host="a.example.org")]),
            contract.ENV_ENVIRONMENT: "staging",
            **DEFAULT_POLICY.to_environment(),
        }
    )
    emitted: list[str] = []
    summary = publish_run(_results(), settings, s3=s3, sns=sns, at=NOW, emit=emitted.append)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reports")["Contents"]]
    assert sorted(keys) == [
        "tls-scans/staging/2026/06/01/tls-scan-20260601T000000Z.csv",
        "tls-scans/staging/2026/06/01/tls-scan-20260601T000000Z.json",
    ]
    head = s3.head_object(Bucket="reports", Key=keys[0])
    assert head["ServerSideEncryption"] == "aws:kms"
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert summary["alerted"] is True
    [record] = [json.loads(line) for line in emitted]
    assert record["TlsEndpointsHigh"] == 1
    assert record["TlsEndpointsSecure"] == 1
    assert record["TlsEndpointsScanned"] == 2
    names = {m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"TlsEndpointsSecure", "TlsEndpointsMedium", "TlsEndpointsHigh"} <= names


def test_settings_name_missing_variables() -> None:
    with pytest.raises(ValueError, match=contract.ENV_REPORTS_BUCKET):
        ScanSettings.from_environment({})


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--no-progress"]) == 2
    assert main(["scan", "--targets", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["scan", "127.0.0.1:1", "--timeout", "0"]) == 2


# -- stall watch ----------------------------------------------------------------------------------
def test_stall_hook_wraps_sslyzes_socket_factory() -> None:
    """Pinned: an sslyze upgrade that renames its socket factory fails here, not silently."""
    from sslyze.connection_helpers import tls_connection

    assert install_stall_hook()
    assert install_stall_hook()  # idempotent: wrapped once
    assert getattr(tls_connection._open_socket, "certwarden_stall_hook", False)


def _watched_pair(watch: _StallWatch) -> tuple[_WatchedSocket, socket.socket]:
    ours, theirs = socket.socketpair()
    watched = _WatchedSocket(ours.family, ours.type, ours.proto, ours.detach())
    watched.settimeout(0.05)
    watched.watches = (watch,)
    watch.add(watched)
    return watched, theirs


@pytest.mark.parametrize(
    ("hello", "counts"),
    [
        (b"\x16\x03\x01\x00\xf8\x01", True),  # TLS record: silence is a stall
        (b"\x80\x2e\x01\x00\x02", False),  # SSL 2.0 hello: servers wait for the "rest"
    ],
)
def test_stall_watch_counts_silence_after_a_tls_hello(hello: bytes, counts: bool) -> None:
    watch = _StallWatch(limit=1)
    watched, theirs = _watched_pair(watch)
    with theirs, watched:
        watched.send(hello)
        with pytest.raises(TimeoutError):
            watched.recv(5)
    assert watch.stalled.is_set() is counts
    assert bool(watch.stalls) is counts


def test_stopped_watch_shuts_open_sockets_and_refuses_new_ones() -> None:
    watch = _StallWatch(limit=2)
    watched, theirs = _watched_pair(watch)
    with theirs, watched:
        watched.settimeout(5)
        watch.record_stall("one")
        assert not watch.stalled.is_set()  # one stall is tolerated
        watch.stop()
        assert watched.recv(5) == b""  # shut down: the blocked reader returns at once
        with socket.socket() as extra, pytest.raises(TimeoutError):
            watch.add(extra)
