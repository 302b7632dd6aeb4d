"""Pure per-certificate decisions: days to expiry, tier, policy findings and the action.

What ACM does by itself (ACM User Guide, "Managed certificate renewal"): AMAZON_ISSUED and
PRIVATE certificates requested through ACM are renewed by ACM from 60 days before expiry when
they are *eligible* (in use by an integrated service, or exported); an ineligible one silently
expires. A PRIVATE certificate can also be renewed on demand with ``RenewCertificate``.
IMPORTED certificates and certificates issued directly by the Private CA's ``IssueCertificate``
are never renewed by ACM: they must be replaced (re-imported) before they expire. Expired
certificates are not eligible for renewal at all.

No AWS calls here: :mod:`certwarden_runtime.job` calls the APIs and feeds the results in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from certwarden_runtime.inventory import CertificateRecord, ValidationRecord
from certwarden_runtime.policy import AlertTier, CompliancePolicy, PolicyError, Severity

TERMINAL_STATUSES = frozenset({"EXPIRED", "REVOKED", "FAILED"})
DORMANT_STATUSES = frozenset({"INACTIVE", "VALIDATION_TIMED_OUT"})
HIPAA_CLASSIFICATIONS = frozenset({"PHI", "EPHI", "HIPAA"})


class Action(StrEnum):
    """What the job does or asks people to do about one certificate."""

    NONE = "NONE"
    #: ACM renews it (eligible, inside the window): watch only.
    AWAIT_MANAGED_RENEWAL = "AWAIT_MANAGED_RENEWAL"
    #: Issuance or renewal waits for DNS validation records that are missing.
    FIX_VALIDATION = "FIX_VALIDATION"
    #: ACM's managed renewal failed (reason in the message).
    RENEWAL_FAILED = "RENEWAL_FAILED"
    #: Managed certificate inside the window but not eligible (not in use): it will expire.
    INELIGIBLE_WILL_EXPIRE = "INELIGIBLE_WILL_EXPIRE"
    #: Private certificate inside the window and eligible: the job calls RenewCertificate.
    RENEW = "RENEW"
    #: Imported certificate inside the window: ACM cannot renew it; re-import by the deadline.
    REPLACE = "REPLACE"
    #: Expired, revoked or failed and still attached to a service: outage or risk now.
    CRITICAL_IN_USE = "CRITICAL_IN_USE"
    #: Expired/revoked/failed/timed-out and unused: delete it to keep the inventory clean.
    CLEAN_UP = "CLEAN_UP"


#: Actions that warrant a message to people (once, see alert_state).
ALERTING_ACTIONS = frozenset(
    {
        Action.FIX_VALIDATION,
        Action.RENEWAL_FAILED,
        Action.INELIGIBLE_WILL_EXPIRE,
        Action.REPLACE,
        Action.CRITICAL_IN_USE,
    }
)


@dataclass(frozen=True)
class Finding:
    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}({self.detail})" if self.detail else self.code


@dataclass(frozen=True)
class Assessment:
    """The decision for one certificate on one run."""

    record: CertificateRecord
    days_to_expiry: float | None
    tier: AlertTier | None
    action: Action
    severity: Severity | None
    reason: str
    deadline: dt.datetime | None
    findings: tuple[Finding, ...]
    hipaa: bool
    pending_records: tuple[ValidationRecord, ...] = ()

    @property
    def level(self) -> int | None:
        """Alert level: the tier's days, 0 once expired, None outside every tier."""
        if self.days_to_expiry is not None and self.days_to_expiry <= 0:
            return 0
        if self.action is Action.CRITICAL_IN_USE:
            return 0
        return self.tier.days if self.tier else None

    @property
    def critical(self) -> bool:
        return self.severity is Severity.CRITICAL


def days_to_expiry(record: CertificateRecord, now: dt.datetime) -> float | None:
    if record.not_after is None:
        return None
    return (record.not_after - now).total_seconds() / 86400


def needs_detail(record: CertificateRecord, policy: CompliancePolicy, now: dt.datetime) -> bool:
    """True when the decision or its alert needs DescribeCertificate: the renewal summary and
    DNS records of managed certificates, and for an imported certificate that must be replaced,
    its issuer (the CA to go back to; ListCertificates does not return it)."""
    if record.status == "PENDING_VALIDATION" and record.type != "IMPORTED":
        return True
    days = days_to_expiry(record, now)
    return record.status == "ISSUED" and days is not None and policy.in_renewal_window(days)


def is_hipaa(tags: dict[str, str]) -> bool:
    classification = tags.get("DataClassification", "").strip().upper()
    return classification in HIPAA_CLASSIFICATIONS or "HIPAA" in tags.get("Compliance", "").upper()


def policy_findings(record: CertificateRecord, policy: CompliancePolicy) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    if record.key_algorithm:
        try:
            if not policy.key_algorithm_allowed(record.key_algorithm):
                findings.append(Finding("KEY_ALGORITHM_BELOW_POLICY", record.key_algorithm))
        except PolicyError:
            findings.append(Finding("KEY_ALGORITHM_UNKNOWN", record.key_algorithm))
    validity = record.validity_days
    if validity is not None:
        if validity > policy.max_validity_days:
            findings.append(
                Finding("VALIDITY_ABOVE_MAXIMUM", f"{validity:.0f}>{policy.max_validity_days}d")
            )
        if validity <= policy.renewal_window_days:
            findings.append(
                Finding(
                    "VALIDITY_WITHIN_RENEWAL_WINDOW",
                    f"{validity:.0f}<={policy.renewal_window_days}d",
                )
            )
    missing = policy.missing_tags(record.tags)
    if missing:
        findings.append(Finding("MISSING_TAGS", ",".join(missing)))
    return tuple(findings)


def _records_text(records: tuple[ValidationRecord, ...]) -> str:
    return "; ".join(f"{r.name} {r.type} {r.value}" for r in records if r.name)


def _decide_action(
    record: CertificateRecord, days: float | None, policy: CompliancePolicy
) -> tuple[Action, str, dt.datetime | None, tuple[ValidationRecord, ...]]:
    detail = record.detail
    pending = detail.pending_records if detail else ()
    expired = days is not None and days <= 0
    if record.status in TERMINAL_STATUSES or expired:
        state = record.status if record.status in TERMINAL_STATUSES else "EXPIRED"
        if record.in_use:
            return Action.CRITICAL_IN_USE, f"{state} and still in use", record.not_after, ()
        return Action.CLEAN_UP, f"{state}, not in use: delete it", None, ()
    if record.status in DORMANT_STATUSES:
        return Action.CLEAN_UP, f"{record.status}: request a new certificate or delete", None, ()
    if record.status == "PENDING_VALIDATION":
        text = _records_text(pending)
        return (
            Action.FIX_VALIDATION,
            "issuance waits for DNS validation" + (f": {text}" if text else ""),
            None,
            pending,
        )
    if days is None or not policy.in_renewal_window(days):
        return Action.NONE, "", None, ()
    if record.type == "IMPORTED":
        return (
            Action.REPLACE,
            "imported certificates are not renewed by ACM: re-import a new one",
            record.not_after,
            (),
        )
    renewal = detail.renewal_status if detail else ""
    if renewal == "FAILED":
        reason = detail.renewal_reason if detail else ""
        return Action.RENEWAL_FAILED, f"managed renewal failed: {reason or 'no reason'}", None, ()
    if renewal == "PENDING_VALIDATION":
        text = _records_text(pending)
        return (
            Action.FIX_VALIDATION,
            "renewal waits for DNS validation" + (f": {text}" if text else ""),
            record.not_after,
            pending,
        )
    if record.renewal_eligibility == "INELIGIBLE":
        return (
            Action.INELIGIBLE_WILL_EXPIRE,
            "not eligible for managed renewal (not in use, not exported): it will expire",
            record.not_after,
            (),
        )
    if record.type == "PRIVATE":
        return Action.RENEW, "inside the renewal window and eligible", None, ()
    return Action.AWAIT_MANAGED_RENEWAL, f"ACM renewal status {renewal or 'unknown'}", None, ()


def assess(record: CertificateRecord, policy: CompliancePolicy, now: dt.datetime) -> Assessment:
    """Decide tier, action, severity and findings for one certificate."""
    days = days_to_expiry(record, now)
    live = record.status not in TERMINAL_STATUSES | DORMANT_STATUSES or record.in_use
    tier = policy.tier_for(days) if days is not None and live else None
    action, reason, deadline, pending = _decide_action(record, days, policy)
    severity: Severity | None = tier.severity if tier else None
    if action is Action.CRITICAL_IN_USE:
        severity = Severity.CRITICAL
    elif action in ALERTING_ACTIONS and severity is None:
        severity = Severity.WARNING
    return Assessment(
        record=record,
        days_to_expiry=days,
        tier=tier,
        action=action,
        severity=severity,
        reason=reason,
        deadline=deadline,
        findings=policy_findings(record, policy),
        hipaa=is_hipaa(record.tags),
        pending_records=pending,
    )
