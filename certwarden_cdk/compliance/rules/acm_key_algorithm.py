"""CertWarden-ACM1: an ACM certificate's key algorithm is allowed by the policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certwarden_runtime.policy import (
    ACM_PUBLIC_KEY_ALGORITHMS,
    CompliancePolicy,
    PolicyError,
)

from . import Rule, RuleResult, describe

RESOURCE_TYPE = "AWS::CertificateManager::Certificate"
#: What ACM uses when ``KeyAlgorithm`` is absent.
ACM_DEFAULT_KEY_ALGORITHM = "RSA_2048"


def check_acm_key_algorithm(
    resource_type: str, properties: Mapping[str, Any], policy: CompliancePolicy
) -> RuleResult:
    """``KeyAlgorithm`` (absent = RSA_2048) meets the policy's minimum strength; a public
    certificate (no ``CertificateAuthorityArn``) must also use an algorithm ACM issues publicly."""
    if resource_type != RESOURCE_TYPE:
        return None
    algorithm = properties.get("KeyAlgorithm", ACM_DEFAULT_KEY_ALGORITHM)
    public = "CertificateAuthorityArn" not in properties
    allowed = [
        a for a in policy.allowed_key_algorithms if not public or a in ACM_PUBLIC_KEY_ALGORITHMS
    ]
    kind = "public" if public else "private"
    message = (
        f"KeyAlgorithm is {describe(algorithm)}; allowed for a {kind} certificate by the "
        f"policy: {', '.join(allowed)}"
    )
    if not isinstance(algorithm, str):
        return [message]
    try:
        strong_enough = policy.key_algorithm_allowed(algorithm)
    except PolicyError:
        return [message]
    if not strong_enough or algorithm not in allowed:
        return [message]
    return []


RULE = Rule(
    rule_id="ACM1",
    resource_types=frozenset({RESOURCE_TYPE}),
    info="The ACM certificate's key algorithm is not allowed by the CertWarden policy.",
    explanation=(
        "HIPAA-grade TLS needs RSA keys of at least 2048 bits or EC keys of at least P-256 "
        "(CompliancePolicy.min_rsa_bits / min_ec_bits); ACM issues public certificates only "
        "with RSA_2048, EC_prime256v1 or EC_secp384r1. An absent KeyAlgorithm means RSA_2048."
    ),
    check=check_acm_key_algorithm,
)
