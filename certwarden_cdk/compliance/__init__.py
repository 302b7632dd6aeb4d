"""Compliance checks that run on every synth and fail it on any unacknowledged finding."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks
from constructs import IConstruct

#: Names of the plugin reports in ``validation-report.json``, in registration order.
RULE_PACKS: tuple[str, ...] = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5")


def compliance_packs(app: IConstruct) -> Sequence[NagPack]:
    """The rule packs CertWarden enforces, with acknowledgements written into the templates
    (``Metadata.cdk_nag.rules_to_suppress``) so auditors see each reason next to its resource."""
    packs: list[NagPack] = [
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True),
        HIPAASecurityChecks(app, write_suppressions_to_cloud_formation=True),
        NIST80053R5Checks(app, write_suppressions_to_cloud_formation=True),
    ]
    return packs


def apply_compliance_checks(app: cdk.App) -> None:
    """Register every pack on ``app``; ``app.synth()`` then raises on unacknowledged errors."""
    cdk.Validations.of(app).add_plugins(*compliance_packs(app))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on one construct, with a reason an auditor can check.

    ``rule_id`` must be the full (granular) id, e.g. ``AwsSolutions-IAM5[Action::s3:*]``.
    """
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledgement of {rule_id} needs a specific reason, got {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
