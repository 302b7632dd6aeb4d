"""CertWarden-PCA2: a private CA's key and signing algorithms meet the policy."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from certwarden_runtime.policy import CompliancePolicy, PolicyError

from . import Rule, RuleResult, describe

CA_RESOURCE_TYPE = "AWS::ACMPCA::CertificateAuthority"
#: The CA certificates (root self-signed, subordinate signed by its parent).
CERTIFICATE_RESOURCE_TYPE = "AWS::ACMPCA::Certificate"
#: Hashes of at least 256 bits; SHA-1 and MD5 are not offered by ACM PCA but are refused here.
_SIGNING_RE = re.compile(r"^SHA(256|384|512)WITH(RSA|ECDSA)$")
_FAMILY = {"RSA": "RSA", "ECDSA": "EC"}


def allowed_signing_algorithms(family: str | None = None) -> tuple[str, ...]:
    """The signing algorithms the rule accepts, for one key family (``RSA``/``EC``) or all."""
    return tuple(
        f"SHA{bits}WITH{suffix}"
        for suffix, fam in _FAMILY.items()
        if family in (None, fam)
        for bits in (256, 384, 512)
    )


def _signing_problem(where: str, value: object, family: str | None) -> str | None:
    match = _SIGNING_RE.match(value) if isinstance(value, str) else None
    if match and (family is None or _FAMILY[match.group(2)] == family):
        return None
    return (
        f"{where} is {describe(value)}; allowed"
        + (f" for {family} keys" if family else "")
        + f": {', '.join(allowed_signing_algorithms(family))}"
    )


def check_pca_algorithms(
    resource_type: str, properties: Mapping[str, Any], policy: CompliancePolicy
) -> RuleResult:
    """A CA's ``KeyAlgorithm`` is allowed by the policy's minimum strength and its
    ``SigningAlgorithm`` is SHA-256 or stronger with the key's family (RSA or ECDSA); a CA
    certificate's ``SigningAlgorithm`` is SHA-256 or stronger."""
    if resource_type == CERTIFICATE_RESOURCE_TYPE:
        problem = _signing_problem("SigningAlgorithm", properties.get("SigningAlgorithm"), None)
        return [problem] if problem else []
    if resource_type != CA_RESOURCE_TYPE:
        return None
    problems: list[str] = []
    key = properties.get("KeyAlgorithm")
    family: str | None = None
    try:
        if not isinstance(key, str) or not policy.key_algorithm_allowed(key):
            raise PolicyError(str(key))
        family = "RSA" if key.startswith("RSA_") else "EC"
    except PolicyError:
        problems.append(
            f"KeyAlgorithm is {describe(key)}; allowed by the policy: "
            f"{', '.join(policy.allowed_key_algorithms)}"
        )
    problem = _signing_problem("SigningAlgorithm", properties.get("SigningAlgorithm"), family)
    if problem:
        problems.append(problem)
    return problems


RULE = Rule(
    rule_id="PCA2",
    resource_types=frozenset({CA_RESOURCE_TYPE, CERTIFICATE_RESOURCE_TYPE}),
    info="The private CA's key or signing algorithm does not meet the CertWarden policy.",
    explanation=(
        "Every certificate the CA issues is only as strong as the CA key and the hash it signs "
        "with: RSA >= 2048 bits or EC >= P-256 (CompliancePolicy) and SHA-256 or stronger, "
        "with the signing algorithm matching the key family."
    ),
    check=check_pca_algorithms,
)
