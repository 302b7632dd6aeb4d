"""CertWarden-PCA1: a private CA publishes a short-lived CRL its bucket owner controls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certwarden_runtime.policy import CompliancePolicy

from . import Rule, RuleResult, describe

RESOURCE_TYPE = "AWS::ACMPCA::CertificateAuthority"
REQUIRED_ACL = "BUCKET_OWNER_FULL_CONTROL"


def check_pca_crl(
    resource_type: str, properties: Mapping[str, Any], policy: CompliancePolicy
) -> RuleResult:
    """``RevocationConfiguration.CrlConfiguration`` is enabled with ``S3ObjectAcl``
    BUCKET_OWNER_FULL_CONTROL (the API default is PUBLIC_READ, which a bucket with block public
    access rejects) and ``ExpirationInDays`` between 1 and ``policy.crl_validity_days``.

    CAs in ``SHORT_LIVED_CERTIFICATE`` usage mode need no revocation and are not checked.
    """
    if resource_type != RESOURCE_TYPE:
        return None
    if properties.get("UsageMode") == "SHORT_LIVED_CERTIFICATE":
        return None
    revocation = properties.get("RevocationConfiguration") or {}
    crl = revocation.get("CrlConfiguration") if isinstance(revocation, Mapping) else None
    if not isinstance(crl, Mapping) or crl.get("Enabled") is not True:
        return [
            "RevocationConfiguration.CrlConfiguration.Enabled is not true; a general-purpose CA "
            f"must publish a CRL (S3ObjectAcl {REQUIRED_ACL}, ExpirationInDays <= "
            f"{policy.crl_validity_days})"
        ]
    problems: list[str] = []
    acl = crl.get("S3ObjectAcl")
    if acl != REQUIRED_ACL:
        shown = "absent (ACM PCA then uses PUBLIC_READ)" if acl is None else describe(acl)
        problems.append(
            f"RevocationConfiguration.CrlConfiguration.S3ObjectAcl is {shown}; "
            f"required: '{REQUIRED_ACL}'"
        )
    days = crl.get("ExpirationInDays")
    if not (
        isinstance(days, int)
        and not isinstance(days, bool)
        and 1 <= days <= policy.crl_validity_days
    ):
        problems.append(
            f"RevocationConfiguration.CrlConfiguration.ExpirationInDays is {describe(days)}; "
            f"allowed: 1..{policy.crl_validity_days} (CompliancePolicy.crl_validity_days)"
        )
    return problems


RULE = Rule(
    rule_id="PCA1",
    resource_types=frozenset({RESOURCE_TYPE}),
    info=(
        "The private CA's CRL must be enabled, written with S3ObjectAcl "
        "BUCKET_OWNER_FULL_CONTROL and expire within the policy's CRL validity."
    ),
    explanation=(
        "Relying parties must learn of revoked certificates within the policy's CRL validity "
        "(7 days by default). CRL objects written PUBLIC_READ fail against a bucket that blocks "
        "public access and enforces bucket-owner ownership, so the CRL silently stops updating."
    ),
    check=check_pca_crl,
)
