"""ACM's account-level setting: from how many days before expiry it sends expiry events."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from constructs import Construct

from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

#: CloudFormation's allowed range for ``ExpiryEventsConfiguration.DaysBeforeExpiry``.
MIN_DAYS_BEFORE_EXPIRY = 1
MAX_DAYS_BEFORE_EXPIRY = 45


class AcmAccountExpiryEvents(Construct):
    """``AWS::CertificateManager::Account`` with ``ExpiryEventsConfiguration.DaysBeforeExpiry``.

    ACM then sends an ``ACM Certificate Approaching Expiration`` event every day for every
    certificate from that many days before it expires (see ``CertificateEventRules``).

    **A singleton per account and region**: the resource configures the whole account in the
    stack's region, so exactly one stack per account+region may declare it. When two
    environments share an account and region, the app configuration must pick one of them to
    create this construct; two declarations fight over the same setting.

    :param days_before_expiry: days before expiry when events start, 1..45 (CloudFormation's
        range). Default: the policy's first (earliest) alert tier, 45 with the default policy.
    :param policy: compliance policy supplying the default. Default: ``DEFAULT_POLICY``.

    Attributes: ``resource`` (:class:`aws_certificatemanager.CfnAccount`),
    ``days_before_expiry``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        days_before_expiry: int | None = None,
        policy: CompliancePolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(scope, id)
        if days_before_expiry is None:
            days_before_expiry = policy.alert_tier_days[0]
        if not cdk.Token.is_unresolved(days_before_expiry):
            if isinstance(days_before_expiry, bool) or not isinstance(days_before_expiry, int):
                raise ValueError(
                    f"days_before_expiry must be a whole number of days, got {days_before_expiry!r}"
                )
            if not MIN_DAYS_BEFORE_EXPIRY <= days_before_expiry <= MAX_DAYS_BEFORE_EXPIRY:
                raise ValueError(
                    f"days_before_expiry {days_before_expiry} is out of range; ACM allows "
                    f"{MIN_DAYS_BEFORE_EXPIRY}..{MAX_DAYS_BEFORE_EXPIRY} "
                    f"(policy's first alert tier: {policy.alert_tier_days[0]})"
                )
        self.days_before_expiry = days_before_expiry
        self.resource = acm.CfnAccount(
            self,
            "Resource",
            expiry_events_configuration=acm.CfnAccount.ExpiryEventsConfigurationProperty(
                days_before_expiry=days_before_expiry
            ),
        )
