"""The compliance policy: its numbers, its decisions and its self-validation."""

from __future__ import annotations

import dataclasses

import pytest

from certwarden_runtime.policy import (
    DEFAULT_POLICY,
    AlertTier,
    CompliancePolicy,
    PolicyError,
    Severity,
    key_algorithm_strength,
)


def test_defaults_are_the_hipaa_baseline() -> None:
    assert DEFAULT_POLICY.min_tls_version == "TLSv1.2"
    assert DEFAULT_POLICY.alert_tier_days == (45, 30, 15, 7)
    assert DEFAULT_POLICY.crl_validity_days == 7
    assert DEFAULT_POLICY.log_retention_days == 2192
    assert DEFAULT_POLICY.allowed_key_algorithms == (
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "EC_prime256v1",
        "EC_secp384r1",
        "EC_secp521r1",
    )


@pytest.mark.parametrize(
    ("algorithm", "allowed"),
    [("RSA_1024", False), ("RSA_2048", True), ("EC_prime256v1", True), ("EC_secp384r1", True)],
)
def test_key_algorithm_allowed(algorithm: str, allowed: bool) -> None:
    assert DEFAULT_POLICY.key_algorithm_allowed(algorithm) is allowed


def test_unknown_key_algorithm_names_the_allowed_values() -> None:
    with pytest.raises(PolicyError, match="RSA_2048"):
        key_algorithm_strength("DSA_1024")


@pytest.mark.parametrize(
    ("days", "expected"),
    [(60, None), (45.5, None), (45, 45), (44, 45), (30, 30), (16, 30), (15, 15), (7, 7), (-3, 7)],
)
def test_tier_uses_less_or_equal_so_a_skipped_day_still_alerts(
    days: float, expected: int | None
) -> None:
    tier = DEFAULT_POLICY.tier_for(days)
    assert (tier.days if tier else None) == expected


def test_tier_severity_routes() -> None:
    assert DEFAULT_POLICY.tier_for(40) == AlertTier(45, Severity.WARNING)
    assert DEFAULT_POLICY.tier_for(10) == AlertTier(15, Severity.CRITICAL)


def test_first_alert_tier_must_come_after_renewal_starts() -> None:
    with pytest.raises(PolicyError, match="must come after renewal starts"):
        CompliancePolicy(renewal_window_days=30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"min_tls_version": "TLSv1.1"}, "min_tls_version"),
        ({"min_rsa_bits": 1024}, "min_rsa_bits"),
        ({"log_retention_days": 365}, "six years"),
        (
            {"alert_tiers": (AlertTier(7, Severity.CRITICAL), AlertTier(30, Severity.WARNING))},
            "descending",
        ),
        ({"default_key_algorithm": "RSA_1024"}, "default_key_algorithm"),
        ({"crl_validity_days": 0}, "crl_validity_days"),
    ],
)
def test_inconsistent_policies_are_rejected(change: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        dataclasses.replace(DEFAULT_POLICY, **change)  # type: ignore[arg-type]


def test_environment_round_trip() -> None:
    custom = dataclasses.replace(
        DEFAULT_POLICY,
        alert_tiers=(AlertTier(50, Severity.WARNING), AlertTier(10, Severity.CRITICAL)),
        renewal_window_days=55,
        required_tags=("Owner",),
    )
    assert CompliancePolicy.from_environment(custom.to_environment()) == custom


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(PolicyError, match="CERTWARDEN_MIN_RSA_BITS"):
        CompliancePolicy.from_environment({"CERTWARDEN_MIN_RSA_BITS": "many"})
    with pytest.raises(PolicyError, match="CERTWARDEN_ALERT_TIERS"):
        CompliancePolicy.from_environment({"CERTWARDEN_ALERT_TIERS": "45:LOUD"})


def test_missing_tags_and_tls_versions() -> None:
    assert DEFAULT_POLICY.missing_tags({"Owner": "x", "Environment": " "}) == (
        "Environment",
        "DataClassification",
        "Compliance",
    )
    assert DEFAULT_POLICY.tls_version_allowed("TLSv1.3")
    assert not DEFAULT_POLICY.tls_version_allowed("TLSv1.1")
    with pytest.raises(PolicyError, match="known"):
        DEFAULT_POLICY.tls_version_allowed("TLS9")
