"""The benchmark's reading of testssl.sh: its --jsonfile findings map to the lab's faults."""

from __future__ import annotations

import json
from pathlib import Path

from bench import bench_scan
from tests.scanner.conftest import Lab


def _report(tmp_path: Path, entries: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    path = tmp_path / "testssl.json"
    path.write_text(json.dumps(entries))
    return bench_scan.testssl_findings(path)


def _entry(finding_id: str, severity: str, finding: str) -> dict[str, str]:
    return {"id": finding_id, "ip": "127.0.0.1/127.0.0.1", "port": "443", "severity": severity,
            "finding": finding}  # fmt: skip


def test_testssl_findings_detect_and_clear(tmp_path: Path) -> None:
    # As testssl.sh 3.0.8 wrote them for the lab's tls10 and rsa-1024 endpoints.
    weak = _report(
        tmp_path,
        [
            _entry("TLS1", "LOW", "offered (deprecated)"),
            _entry("cipherlist_STRONG", "OK", "offered"),
            _entry("cert_keySize", "MEDIUM", "RSA 1024 bits"),
            _entry("cert_chain_of_trust", "CRITICAL", "failed (chain incomplete)."),
        ],
    )
    checks = bench_scan.TESTSSL_CHECKS
    assert checks["tls10"](weak)
    assert checks["rsa-1024"](weak)
    assert checks["incomplete-chain"](weak)
    assert not checks["cbc-only"](weak)
    assert not checks["ec-224"](weak)  # an RSA key is not the EC fault
    clean = _report(
        tmp_path,
        [
            _entry("TLS1", "INFO", "not offered"),
            _entry("cipherlist_STRONG", "OK", "not offered"),
            _entry("cert_keySize", "INFO", "RSA 2048 bits"),
            _entry("cert_chain_of_trust", "OK", "passed."),
        ],
    )
    assert not checks["tls10"](clean)
    assert not checks["rsa-1024"](clean)
    assert not checks["incomplete-chain"](clean)
    assert checks["cbc-only"](clean)  # no AEAD suite offered
    assert bench_scan.testssl_findings(tmp_path / "missing.json") == {}


def test_every_lab_fault_has_a_testssl_reading(lab: Lab) -> None:
    faults = {name for name, (_, expected) in lab.endpoints.items() if expected}
    assert set(bench_scan.TESTSSL_CHECKS) == faults
    order = bench_scan.testssl_order(lab)
    assert order[: len(bench_scan.TESTSSL_DEFAULT)] == list(bench_scan.TESTSSL_DEFAULT)
    assert sorted(order) == sorted(faults)
