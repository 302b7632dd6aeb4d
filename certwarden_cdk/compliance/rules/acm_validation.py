"""CertWarden-ACM2: a public ACM certificate uses DNS validation and CT logging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certwarden_runtime.policy import CompliancePolicy

from . import Rule, RuleResult, describe

RESOURCE_TYPE = "AWS::CertificateManager::Certificate"


def check_acm_validation(
    resource_type: str, properties: Mapping[str, Any], policy: CompliancePolicy
) -> RuleResult:
    """``ValidationMethod`` is ``DNS`` (CloudFormation's default is EMAIL) and
    ``CertificateTransparencyLoggingPreference`` is not ``DISABLED``.

    Certificates issued by a private CA (``CertificateAuthorityArn``) are neither validated nor
    logged to CT, so the rule does not apply to them.
    """
    del policy  # the rule has no tunable number
    if resource_type != RESOURCE_TYPE or "CertificateAuthorityArn" in properties:
        return None
    problems: list[str] = []
    method = properties.get("ValidationMethod")
    if method != "DNS":
        shown = "absent (CloudFormation then uses EMAIL)" if method is None else describe(method)
        problems.append(f"ValidationMethod is {shown}; allowed: 'DNS'")
    transparency = properties.get("CertificateTransparencyLoggingPreference", "ENABLED")
    if transparency != "ENABLED":
        problems.append(
            f"CertificateTransparencyLoggingPreference is {describe(transparency)}; allowed: "
            "'ENABLED' or absent"
        )
    return problems


RULE = Rule(
    rule_id="ACM2",
    resource_types=frozenset({RESOURCE_TYPE}),
    info="The public ACM certificate does not use DNS validation with certificate transparency.",
    explanation=(
        "DNS validation lets ACM renew the certificate automatically as long as the CNAME stays "
        "in Route 53; email validation needs a person to click a link every renewal and stalls "
        "the stack. Certificate transparency logs let browsers and monitors detect mis-issuance."
    ),
    check=check_acm_validation,
)
