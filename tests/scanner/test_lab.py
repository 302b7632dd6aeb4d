"""Every lab fault is detected with the right rule, and nothing else above INFO fires;
every good server comes out SECURE."""

from __future__ import annotations

import re

import pytest

from certwarden_runtime.scanner.engine import (
    BUDGET_FLOOR_SECONDS,
    CONNECTIONS_PER_SERVER,
    STALL_LIMIT,
)
from certwarden_runtime.scanner.evaluate import RULES
from certwarden_runtime.scanner.models import EndpointResult, FindingSeverity, Rating
from tests.scanner.conftest import LAB_TIMEOUT, Lab
from tests.scanner.lab import TarpitServer

pytestmark = pytest.mark.slow

GOOD = ("good-rsa", "good-ec", "tls13-only")
#: Findings that truly follow from a fault besides its own rule.
CONSEQUENCES: dict[str, set[str]] = {
    # Modern validators refuse SHA-1 signatures, so the chain does not validate either.
    "sha1-signature": {"cert-untrusted"},
    # sslyze completes a handshake with a P-224 certificate only through its legacy OpenSSL
    # 1.0.2 client, on TLS 1.0/1.1, so the lab's P-224 server has to offer TLS 1.0.
    "ec-224": {"protocol-tlsv1"},
}
FAULTS = (
    "null-cipher", "anon-cipher", "no-forward-secrecy", "cbc-only", "sslv3", "rc4-cipher",
    "3des-cipher", "tls10", "tls11", "rsa-1024", "ec-224", "sha1-signature", "expired",
    "expiring-45", "expiring-30", "expiring-15", "expiring-7", "validity-too-long",
    "hostname-mismatch", "self-signed", "incomplete-chain", "not-yet-valid", "untrusted",
    "hostile-hang", "hostile-garbage", "hostile-close", "hostile-stall", "hostile-tarpit",
    "refused",
)  # fmt: skip


def _rules(result: EndpointResult, *, above_info: bool = True) -> set[str]:
    return {
        f.rule for f in result.findings if not above_info or f.severity is not FindingSeverity.INFO
    }


def test_lab_covers_every_endpoint(lab: Lab) -> None:
    assert set(lab.endpoints) == set(GOOD) | set(FAULTS)


@pytest.mark.parametrize("name", GOOD)
def test_good_servers_are_secure(lab_results: dict[str, EndpointResult], name: str) -> None:
    result = lab_results[name]
    assert result.rating is Rating.SECURE, [f.to_dict() for f in result.findings]
    assert "TLSv1.3" in result.protocols
    assert result.certificates
    assert result.certificates[0].days_to_expiry > 45


@pytest.mark.parametrize("name", FAULTS)
def test_fault_detected_and_nothing_else(
    lab: Lab, lab_results: dict[str, EndpointResult], name: str
) -> None:
    expected = lab.endpoints[name][1]
    result = lab_results[name]
    found = _rules(result, above_info=False)
    assert expected <= found, [f.to_dict() for f in result.findings]
    assert _rules(result) - expected <= CONSEQUENCES.get(name, set()), [
        f.to_dict() for f in result.findings
    ]
    assert result.rating is not Rating.SECURE
    for finding in result.findings:
        assert finding.evidence
        assert finding.policy == RULES[finding.rule][1]


def test_severities_follow_the_issue(lab_results: dict[str, EndpointResult]) -> None:
    assert lab_results["sslv3"].rating is Rating.CRITICAL
    assert lab_results["expired"].rating is Rating.CRITICAL
    for name in ("tls10", "tls11", "rc4-cipher", "3des-cipher", "null-cipher", "anon-cipher"):
        assert lab_results[name].rating is Rating.HIGH, name
    for name in ("no-forward-secrecy", "cbc-only", "expiring-45", "expiring-30"):
        assert lab_results[name].rating is Rating.MEDIUM, name
    for name in ("expiring-15", "expiring-7"):
        assert lab_results[name].rating is Rating.HIGH, name


def test_expiry_tier_named_in_evidence(lab_results: dict[str, EndpointResult]) -> None:
    for days in (45, 30, 15, 7):
        [finding] = [
            f for f in lab_results[f"expiring-{days}"].findings if f.rule == "cert-expiry-tier"
        ]
        assert f"within {days} days" in finding.title


def test_tls13_absence_is_informational(lab_results: dict[str, EndpointResult]) -> None:
    rules = _rules(lab_results["no-forward-secrecy"], above_info=False)
    assert "protocol-no-tls13" in rules
    assert "protocol-no-tls13" not in _rules(lab_results["good-ec"], above_info=False)


def test_hanging_endpoint_costs_about_one_timeout(lab_results: dict[str, EndpointResult]) -> None:
    result = lab_results["hostile-hang"]
    assert [f.rule for f in result.findings] == ["endpoint-timeout"]
    # Bounded by the pre-flight: one timeout plus scheduling slack, never sslyze's retries.
    assert result.seconds < LAB_TIMEOUT * 3


@pytest.mark.parametrize("name", ["hostile-stall", "hostile-tarpit"])
def test_stalling_endpoint_is_abandoned_by_the_stall_watch(
    lab_results: dict[str, EndpointResult], name: str
) -> None:
    """hostile-stall answers the pre-flight with the start of a ServerHello, then nothing;
    hostile-tarpit completes real handshakes, then stalls every later connection. Both pass
    the pre-flight; the stall watch, not the budget backstop, ends their scans."""
    result = lab_results[name]
    assert [f.rule for f in result.findings] == ["endpoint-timeout"]
    evidence = result.findings[0].evidence
    stalls = re.search(r"then stalled (\d+) times", evidence)
    assert stalls is not None, evidence
    assert int(stalls.group(1)) >= STALL_LIMIT
    # The documented bound: pre-flight + STALL_LIMIT network timeouts (+ slack), nowhere near
    # the backstop (sslyze alone: a dozen timeouts for hostile-stall, hundreds for the tarpit).
    assert result.seconds < LAB_TIMEOUT * (STALL_LIMIT + 2) < BUDGET_FLOOR_SECONDS


def test_abandoned_scan_stops_connecting(lab: Lab, lab_results: dict[str, EndpointResult]) -> None:
    """After the stall, sslyze's leftover workers fail at once instead of reaching the server:
    the tarpit sees the pre-flight, the connectivity test and a few rounds of connections, not
    the hundreds of handshakes of a full scan."""
    assert lab_results["hostile-tarpit"].findings
    [tarpit] = [s for s in lab.servers if isinstance(s, TarpitServer)]
    assert tarpit.answered < tarpit.connections <= tarpit.answered + 4 * CONNECTIONS_PER_SERVER


def test_endpoint_problems_carry_reasons(lab_results: dict[str, EndpointResult]) -> None:
    assert "refused" in lab_results["refused"].findings[0].evidence
    assert "HTTP/1.1 400" in lab_results["hostile-garbage"].findings[0].evidence
    assert not lab_results["refused"].reachable
