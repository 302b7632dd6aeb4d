"""Every lab fault is detected with the right rule, and nothing else above INFO fires;
every good server comes out SECURE."""

from __future__ import annotations

import pytest

from certwarden_runtime.scanner.evaluate import RULES
from certwarden_runtime.scanner.models import EndpointResult, FindingSeverity, Rating
from tests.scanner.conftest import LAB_TIMEOUT, Lab

pytestmark = pytest.mark.slow

GOOD = ("good-rsa", "good-ec", "tls13-only")
#: Findings that truly follow from a fault besides its own rule.
CONSEQUENCES: dict[str, set[str]] = {
    # Modern validators refuse SHA-1 signatures, so the chain does not validate either.
    "sha1-signature": {"cert-untrusted"},
}
FAULTS = (
    "null-cipher", "anon-cipher", "no-forward-secrecy", "cbc-only", "sslv3", "rc4-cipher",
    "3des-cipher", "tls10", "tls11", "rsa-1024", "sha1-signature", "expired", "expiring-45",
    "expiring-30", "expiring-15", "expiring-7", "validity-too-long", "hostname-mismatch",
    "self-signed", "incomplete-chain", "not-yet-valid", "untrusted", "hostile-hang",
    "hostile-garbage", "hostile-close", "refused",
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


def test_endpoint_problems_carry_reasons(lab_results: dict[str, EndpointResult]) -> None:
    assert "refused" in lab_results["refused"].findings[0].evidence
    assert "HTTP/1.1 400" in lab_results["hostile-garbage"].findings[0].evidence
    assert not lab_results["refused"].reachable
