"""CertWarden's own synth-time rules: one pure function per file, on CloudFormation dicts.

cdk-nag has no rules for ACM or ACM Private CA, so these check what
:class:`~certwarden_runtime.policy.CompliancePolicy` demands of them. Each rule module exposes
``RULE`` (a :class:`Rule`) whose ``check`` takes the resource type, the resource's
CloudFormation ``Properties`` (as synthesized) and the policy, and returns:

* ``None``: the rule does not apply to this resource;
* ``[]``: compliant;
* a list of problems: non-compliant, each a readable sentence naming the property.

Values that are not literals (``Ref``, ``Fn::GetAtt``...) cannot be checked at synth and are
reported as problems: acknowledge them on the resource with a reason if they are intended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from certwarden_runtime.policy import CompliancePolicy

#: ``None`` (not applicable), ``[]`` (compliant) or the problems found.
RuleResult = list[str] | None
RuleCheck = Callable[[str, Mapping[str, Any], CompliancePolicy], RuleResult]


@dataclass(frozen=True)
class Rule:
    """One synth-time rule of the ``CertWarden`` pack (reported as ``CertWarden-<rule_id>``)."""

    rule_id: str
    #: CloudFormation types the rule can apply to (the pack skips every other resource).
    resource_types: frozenset[str]
    info: str
    explanation: str
    check: RuleCheck


def is_literal(value: object) -> bool:
    """True for plain JSON values; False for intrinsic functions such as ``{"Ref": ...}``."""
    return not (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)).startswith(("Ref", "Fn::"))
    )


def describe(value: object) -> str:
    """``'RSA_1024'`` for literals, ``a non-literal value ({...})`` for intrinsics."""
    return repr(value) if is_literal(value) else f"a non-literal value {value!r}"
