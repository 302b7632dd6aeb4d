"""Compliance checks that run on every synth and fail it on any unacknowledged finding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks
from constructs import IConstruct

from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

from .certwarden_checks import PACK_NAME as CERTWARDEN_PACK_NAME
from .certwarden_checks import CertWardenChecks

#: Names of the plugin reports in ``validation-report.json``, in registration order.
RULE_PACKS: tuple[str, ...] = (
    "AwsSolutions",
    "HIPAA.Security",
    "NIST.800.53.R5",
    CERTWARDEN_PACK_NAME,
)


def compliance_packs(
    app: IConstruct, *, policy: CompliancePolicy = DEFAULT_POLICY
) -> Sequence[NagPack]:
    """The rule packs CertWarden enforces, with acknowledgements written into the templates
    (``Metadata.cdk_nag.rules_to_suppress``) so auditors see each reason next to its resource.

    ``CertWardenChecks`` adds the project's own rules for ACM, ACM PCA and DaysToExpiry alarms
    (cdk-nag has none), enforcing ``policy``."""
    packs: list[NagPack] = [
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True),
        HIPAASecurityChecks(app, write_suppressions_to_cloud_formation=True),
        NIST80053R5Checks(app, write_suppressions_to_cloud_formation=True),
        CertWardenChecks(app, policy=policy),
    ]
    return packs


def apply_compliance_checks(app: cdk.App, *, policy: CompliancePolicy = DEFAULT_POLICY) -> None:
    """Register every pack on ``app``; ``app.synth()`` then raises on unacknowledged errors."""
    cdk.Validations.of(app).add_plugins(*compliance_packs(app, policy=policy))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on one construct, with a reason an auditor can check.

    ``rule_id`` must be the full (granular) id, e.g. ``AwsSolutions-IAM5[Action::s3:*]``.
    """
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledgement of {rule_id} needs a specific reason, got {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def nag_arn(stack: cdk.Stack, arn: str) -> str:
    """How cdk-nag writes ``arn`` in granular finding ids (``<AWS::Partition>``, ``<Id.Arn>``),
    for acknowledgements such as ``AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]``."""
    return _nag_text(stack.resolve(arn))


def _nag_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_nag_text(part) for part in parts)
    return str(value)
