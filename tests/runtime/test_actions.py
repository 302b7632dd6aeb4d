"""Pure decisions: every action type, severities, findings, when detail is needed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from certwarden_runtime.actions import Action, assess, is_hipaa, needs_detail, policy_findings
from certwarden_runtime.inventory import CertificateDetail, CertificateRecord, ValidationRecord
from certwarden_runtime.policy import DEFAULT_POLICY, Severity

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
TAGS = {"Environment": "p", "Owner": "o", "DataClassification": "PHI", "Compliance": "HIPAA"}


def rec(days: float | None = 200, **kw: Any) -> CertificateRecord:
    base: dict[str, Any] = {
        "arn": "arn:aws:acm:us-east-1:111111111111:certificate/x",
        "region": "us-east-1",
        "domain": "x.example.org",
        "san_count": 1,
        "type": "AMAZON_ISSUED",
        "status": "ISSUED",
        "key_algorithm": "EC_prime256v1",
        "not_before": None if days is None else NOW + dt.timedelta(days=days - 90),
        "not_after": None if days is None else NOW + dt.timedelta(days=days),
        "in_use": True,
        "renewal_eligibility": "ELIGIBLE",
        "tags": dict(TAGS),
    }
    base.update(kw)
    return CertificateRecord(**base)


PENDING = (
    ValidationRecord(
        "x.example.org",
        "_a.x.example.org.",
        "CNAME",
        "_b.acm-validations.aws.",
        "PENDING_VALIDATION",
    ),
)


@pytest.mark.parametrize(
    ("record", "action", "severity"),
    [
        (rec(200), Action.NONE, None),
        (
            rec(50, detail=CertificateDetail(renewal_status="PENDING_AUTO_RENEWAL")),
            Action.AWAIT_MANAGED_RENEWAL,
            None,
        ),
        (
            rec(40, detail=CertificateDetail(renewal_status="PENDING_AUTO_RENEWAL")),
            Action.AWAIT_MANAGED_RENEWAL,
            Severity.WARNING,
        ),
        (
            rec(
                20,
                detail=CertificateDetail(
                    renewal_status="PENDING_VALIDATION", pending_records=PENDING
                ),
            ),
            Action.FIX_VALIDATION,
            Severity.WARNING,
        ),
        (
            rec(
                None, status="PENDING_VALIDATION", detail=CertificateDetail(pending_records=PENDING)
            ),
            Action.FIX_VALIDATION,
            Severity.WARNING,
        ),
        (
            rec(10, detail=CertificateDetail(renewal_status="FAILED", renewal_reason="CAA_ERROR")),
            Action.RENEWAL_FAILED,
            Severity.CRITICAL,
        ),
        (
            rec(55, in_use=False, renewal_eligibility="INELIGIBLE"),
            Action.INELIGIBLE_WILL_EXPIRE,
            Severity.WARNING,
        ),
        (rec(30, type="PRIVATE"), Action.RENEW, Severity.WARNING),
        (
            rec(58, type="PRIVATE", renewal_eligibility="INELIGIBLE", in_use=False),
            Action.INELIGIBLE_WILL_EXPIRE,
            Severity.WARNING,
        ),
        (
            rec(59, type="IMPORTED", renewal_eligibility="INELIGIBLE"),
            Action.REPLACE,
            Severity.WARNING,
        ),
        (
            rec(6, type="IMPORTED", renewal_eligibility="INELIGIBLE"),
            Action.REPLACE,
            Severity.CRITICAL,
        ),
        (rec(-2, status="EXPIRED"), Action.CRITICAL_IN_USE, Severity.CRITICAL),
        (rec(100, status="REVOKED"), Action.CRITICAL_IN_USE, Severity.CRITICAL),
        (rec(None, status="FAILED"), Action.CRITICAL_IN_USE, Severity.CRITICAL),
        (rec(-2, status="EXPIRED", in_use=False), Action.CLEAN_UP, None),
        (rec(None, status="VALIDATION_TIMED_OUT", in_use=False), Action.CLEAN_UP, None),
    ],
)
def test_action_per_type(
    record: CertificateRecord, action: Action, severity: Severity | None
) -> None:
    a = assess(record, DEFAULT_POLICY, NOW)
    assert a.action is action, a.reason
    assert a.severity is severity


def test_replace_carries_the_deadline_and_fix_validation_the_records() -> None:
    replace = assess(rec(20, type="IMPORTED"), DEFAULT_POLICY, NOW)
    assert replace.deadline == NOW + dt.timedelta(days=20)
    fix = assess(
        rec(
            20,
            detail=CertificateDetail(renewal_status="PENDING_VALIDATION", pending_records=PENDING),
        ),
        DEFAULT_POLICY,
        NOW,
    )
    assert "_a.x.example.org." in fix.reason
    assert fix.pending_records == PENDING


def test_tiers_use_less_or_equal() -> None:
    assert assess(rec(45), DEFAULT_POLICY, NOW).tier.days == 45  # type: ignore[union-attr]
    assert assess(rec(45.01), DEFAULT_POLICY, NOW).tier is None
    assert assess(rec(3), DEFAULT_POLICY, NOW).tier.days == 7  # type: ignore[union-attr]
    assert assess(rec(-1, status="EXPIRED"), DEFAULT_POLICY, NOW).level == 0


def test_needs_detail_only_where_the_decision_depends_on_it() -> None:
    assert not needs_detail(rec(200), DEFAULT_POLICY, NOW)
    assert needs_detail(rec(59), DEFAULT_POLICY, NOW)
    assert needs_detail(rec(59, type="PRIVATE"), DEFAULT_POLICY, NOW)
    assert needs_detail(rec(10, type="IMPORTED"), DEFAULT_POLICY, NOW)  # for its issuer
    assert not needs_detail(rec(200, type="IMPORTED"), DEFAULT_POLICY, NOW)
    assert needs_detail(rec(None, status="PENDING_VALIDATION"), DEFAULT_POLICY, NOW)
    assert not needs_detail(rec(-1, status="EXPIRED"), DEFAULT_POLICY, NOW)


def test_policy_findings() -> None:
    weak = rec(200, key_algorithm="RSA_1024", tags={"Owner": "o"})
    long_lived = rec(200)
    long_lived.not_before = NOW - dt.timedelta(days=400)
    short = rec(20)
    short.not_before = NOW - dt.timedelta(days=10)

    def codes(r: CertificateRecord) -> list[str]:
        return [f.code for f in policy_findings(r, DEFAULT_POLICY)]

    assert codes(weak) == ["KEY_ALGORITHM_BELOW_POLICY", "MISSING_TAGS"]
    assert "Environment" in str(policy_findings(weak, DEFAULT_POLICY)[1])
    assert codes(long_lived) == ["VALIDITY_ABOVE_MAXIMUM"]
    assert codes(short) == ["VALIDITY_WITHIN_RENEWAL_WINDOW"]
    assert codes(rec(200, key_algorithm="DSA_1")) == ["KEY_ALGORITHM_UNKNOWN"]
    assert codes(rec(200)) == []


def test_hipaa_flag() -> None:
    assert is_hipaa({"DataClassification": "ePHI"})
    assert is_hipaa({"Compliance": "HIPAA,SOC2"})
    assert not is_hipaa({"DataClassification": "Public"})
