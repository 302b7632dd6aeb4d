"""cfn-lint exceptions recorded on the one resource they concern, each with its reason.

cfn-lint reads ``Metadata.cfn-lint.config.ignore_checks``; the reason sits beside it under
``Metadata.cfn-lint.reasons`` (cfn-lint ignores keys it does not know), where the project's
tests require one for every ignored rule.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

METADATA_KEY = "cfn-lint"


def ignore_cfn_lint_rule(resource: cdk.CfnResource, rule_id: str, reason: str) -> None:
    """Ignore cfn-lint ``rule_id`` (e.g. ``W3005``) on ``resource`` only, for ``reason``."""
    if len(reason.strip()) < 20:
        raise ValueError(f"cfn-lint {rule_id} on {resource.node.path}: give a specific reason")
    current: dict[str, Any] = resource.get_metadata(METADATA_KEY) or {}
    checks = list(current.get("config", {}).get("ignore_checks", []))
    reasons = dict(current.get("reasons", {}))
    if rule_id not in checks:
        checks.append(rule_id)
    reasons[rule_id] = reason
    resource.add_metadata(METADATA_KEY, {"config": {"ignore_checks": checks}, "reasons": reasons})
