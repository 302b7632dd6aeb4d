"""Tiered CloudWatch alarms on ACM's ``DaysToExpiry`` metric, one per certificate per tier."""

from __future__ import annotations

import re
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from certwarden_cdk.encryption_keys import allow_alarm_and_event_delivery
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy, Severity

#: ACM's metric (published daily per certificate, in the certificate's region).
ACM_METRICS_NAMESPACE = "AWS/CertificateManager"
ACM_DAYS_TO_EXPIRY_METRIC = "DaysToExpiry"
ACM_CERTIFICATE_DIMENSION = "CertificateArn"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _region_of(certificate: acm.ICertificate) -> str | None:
    """The certificate's region when known at synth time (its ARN, else its stack's env)."""
    arn = certificate.certificate_arn
    if not cdk.Token.is_unresolved(arn):
        parts = arn.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    region = certificate.env.region
    return None if cdk.Token.is_unresolved(region) else region


class CertificateExpiryAlarms(Construct):
    """For every certificate and every policy alert tier, an alarm to that tier's topic.

    Each alarm watches ``AWS/CertificateManager DaysToExpiry`` (dimension ``CertificateArn``,
    statistic ``Minimum``, period one day, one evaluation period) and goes to ALARM when the
    value is ``<=`` the tier's days. Missing data is treated as **breaching**: ACM stops
    publishing the metric once a certificate has expired, so "no data" must not look healthy.
    The alarm notifies the topic of the tier's severity on ALARM and on return to OK.

    CloudWatch alarms can only watch metrics of their own region: certificates must live in
    the stack's region (checked when both regions are known).

    :param certificates: ``{name: certificate}``; the name (letters, digits, ``_ . -``, up to
        64 characters) appears in construct ids and alarm descriptions. At least one.
    :param warning_topic: topic for tiers of severity WARNING. Required.
    :param critical_topic: topic for tiers of severity CRITICAL. Required.
    :param policy: the compliance policy whose ``alert_tiers`` define the alarms.
        Default: :data:`DEFAULT_POLICY` (45/30 days warning, 15/7 days critical).

    Attributes: ``alarms`` (list of :class:`aws_cloudwatch.Alarm`), ``alarms_by_certificate``
    (``{name: {tier_days: alarm}}``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        certificates: Mapping[str, acm.ICertificate],
        warning_topic: sns.ITopic,
        critical_topic: sns.ITopic,
        policy: CompliancePolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(scope, id)
        if not certificates:
            raise ValueError(
                "certificates must name at least one certificate ({name: ICertificate}); "
                "an expiry alarm construct without certificates watches nothing"
            )
        if warning_topic is None or critical_topic is None:
            raise ValueError("warning_topic and critical_topic are both required")
        stack_region = cdk.Stack.of(self).region
        for name, certificate in certificates.items():
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise ValueError(
                    f"certificates: name {name!r} is not allowed; use 1-64 letters, digits, "
                    "'_', '.' or '-', starting with a letter or digit"
                )
            certificate_region = _region_of(certificate)
            if (
                certificate_region is not None
                and not cdk.Token.is_unresolved(stack_region)
                and certificate_region != stack_region
            ):
                raise ValueError(
                    f"certificates[{name!r}] is in region {certificate_region} but the alarms "
                    f"are in {stack_region}: ACM publishes DaysToExpiry in the certificate's "
                    "region and alarms can only watch metrics of their own region; create "
                    "the alarms in a stack of the certificate's region"
                )
        topics = {Severity.WARNING: warning_topic, Severity.CRITICAL: critical_topic}
        self.alarms: list[cloudwatch.Alarm] = []
        self.alarms_by_certificate: dict[str, dict[int, cloudwatch.Alarm]] = {}
        arns_by_severity: dict[Severity, list[str]] = {s: [] for s in Severity}
        for name, certificate in certificates.items():
            metric = cloudwatch.Metric(
                namespace=ACM_METRICS_NAMESPACE,
                metric_name=ACM_DAYS_TO_EXPIRY_METRIC,
                dimensions_map={ACM_CERTIFICATE_DIMENSION: certificate.certificate_arn},
                statistic=cloudwatch.Stats.MINIMUM,
                period=cdk.Duration.days(1),
            )
            by_tier: dict[int, cloudwatch.Alarm] = {}
            for tier in policy.alert_tiers:
                alarm = cloudwatch.Alarm(
                    self,
                    f"{name}Within{tier.days}Days",
                    metric=metric,
                    threshold=tier.days,
                    comparison_operator=(
                        cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD
                    ),
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                    treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
                    actions_enabled=True,
                    alarm_description=(
                        f"CertWarden {tier.severity.value}: certificate {name} expires within "
                        f"{tier.days} days (or ACM stopped publishing DaysToExpiry, which "
                        "happens when it has expired). Renew or reimport it."
                    ),
                )
                action = cloudwatch_actions.SnsAction(topics[tier.severity])
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
                by_tier[tier.days] = alarm
                self.alarms.append(alarm)
                arns_by_severity[tier.severity].append(alarm.alarm_arn)
            self.alarms_by_certificate[name] = by_tier
        for severity, topic in topics.items():
            if arns_by_severity[severity]:
                authorize_alarm_delivery(topic, arns_by_severity[severity])


def authorize_alarm_delivery(topic: sns.ITopic, alarm_arns: list[str]) -> None:
    """Make sure CloudWatch can deliver the given alarms to ``topic``.

    For a topic of this app: a topic-policy statement for ``cloudwatch.amazonaws.com`` limited
    to these alarms (``aws:SourceArn``) and this account (``aws:SourceAccount``), and, when the
    topic is encrypted with a key of this app, the key-policy statements of
    :func:`~certwarden_cdk.encryption_keys.allow_alarm_and_event_delivery`. Imported topics
    and keys are left alone (their owner must allow delivery).
    """
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": cdk.Stack.of(topic).account},
                "ArnLike": {"aws:SourceArn": alarm_arns},
            },
        )
    )
    key = getattr(topic, "master_key", None)
    if isinstance(key, kms.Key):
        allow_alarm_and_event_delivery(key)
