"""Prometheus alerts on cert-manager's metrics, one per policy tier plus expired, not ready
and renewal overdue.

cert-manager's certificate metrics carry ``name``, ``namespace``, ``issuer_name``,
``issuer_kind`` and ``issuer_group`` (``ready_status`` also ``condition``). The expiry and
renewal timestamps read 0 until a certificate is first issued, hence the ``> 0`` guards.
The tier alerts are bands, so exactly one fires at a time, like the runtime's ``tier_for``.
"""

from __future__ import annotations

from typing import Any

from certwarden_runtime.policy import CompliancePolicy

from ._common import Manifest, manifest
from .cert_manager import NAMESPACE
from .durations import SECONDS_PER_DAY

EXPIRY = "certmanager_certificate_expiration_timestamp_seconds"
READY = "certmanager_certificate_ready_status"
RENEWAL = "certmanager_certificate_renewal_timestamp_seconds"
GROUP_NAME = "certwarden.certificates"
TIER_FOR = "15m"
NOT_READY_FOR = "30m"
#: A renewal may take a while (DNS propagation, ACME back-off): overdue after grace + for.
RENEWAL_GRACE_SECONDS = 3600
RENEWAL_OVERDUE_FOR = "1h"
_WHICH = "{{ $labels.namespace }}/{{ $labels.name }}"
_ISSUER = "issuer {{ $labels.issuer_kind }}/{{ $labels.issuer_name }}"


def tier_alert_name(days: int) -> str:
    return f"CertWardenCertificateExpiresWithin{days}Days"


def alert_rules(policy: CompliancePolicy) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    tiers = policy.alert_tiers
    for index, tier in enumerate(tiers):
        lower = tiers[index + 1].days if index + 1 < len(tiers) else 0
        rules.append(
            {
                "alert": tier_alert_name(tier.days),
                "expr": (
                    f"({EXPIRY} > 0) - time() <= {tier.days * SECONDS_PER_DAY} "
                    f"> {lower * SECONDS_PER_DAY}"
                ),
                "for": TIER_FOR,
                "labels": {"severity": tier.severity.value.lower(), "tier_days": str(tier.days)},
                "annotations": {
                    "summary": f"Certificate {_WHICH} expires within {tier.days} days",
                    "description": (
                        f"Certificate {_WHICH} ({_ISSUER}) expires within {tier.days} days. "
                        f"cert-manager should have renewed it {policy.renewal_window_days} days "
                        "before expiry: check its CertificateRequests and the issuer."
                    ),
                },
            }
        )
    rules.append(
        {
            "alert": "CertWardenCertificateExpired",
            "expr": f"({EXPIRY} > 0) - time() <= 0",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": f"Certificate {_WHICH} has expired",
                "description": f"Certificate {_WHICH} ({_ISSUER}) is past its notAfter date.",
            },
        }
    )
    rules.append(
        {
            "alert": "CertWardenCertificateNotReady",
            "expr": f'{READY}{{condition="False"}} == 1',
            "for": NOT_READY_FOR,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": f"Certificate {_WHICH} is not ready",
                "description": (
                    f"Certificate {_WHICH} ({_ISSUER}) has had Ready=False for "
                    f"{NOT_READY_FOR}: its secret is missing or out of date."
                ),
            },
        }
    )
    rules.append(
        {
            "alert": "CertWardenCertificateRenewalOverdue",
            "expr": f"time() - ({RENEWAL} > 0) > {RENEWAL_GRACE_SECONDS}",
            "for": RENEWAL_OVERDUE_FOR,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": f"Certificate {_WHICH} has not been renewed on time",
                "description": (
                    f"Certificate {_WHICH} ({_ISSUER}) passed its renewal time more than "
                    f"{RENEWAL_GRACE_SECONDS // 3600}h ago and has not been renewed."
                ),
            },
        }
    )
    return rules


def rule_groups(policy: CompliancePolicy) -> list[dict[str, Any]]:
    """The ``groups`` list (shared by the PrometheusRule and plain promtool rule files)."""
    return [{"name": GROUP_NAME, "rules": alert_rules(policy)}]


def prometheus_rule(policy: CompliancePolicy, labels: dict[str, str]) -> Manifest:
    return manifest(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        "certwarden-certificates",
        namespace=NAMESPACE,
        labels=labels,
        spec={"groups": rule_groups(policy)},
    )
