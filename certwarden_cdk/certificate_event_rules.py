"""EventBridge rules that turn ACM's own certificate events into readable SNS alerts."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from certwarden_cdk.encryption_keys import allow_alarm_and_event_delivery
from certwarden_runtime.policy import Severity

ACM_EVENT_SOURCE = "aws.acm"


@dataclass(frozen=True)
class AcmEvent:
    """One ACM EventBridge event type and how CertWarden reports it."""

    construct_id: str
    detail_type: str
    severity: Severity
    #: Message template; ``<name>`` placeholders are filled by the input transformer.
    message: str


def _field(path: str) -> str:
    return events.EventField.from_path(path)


# Event fields per the ACM user guide ("Amazon EventBridge support for ACM"). ``resources[0]``
# is the certificate ARN in all three events.
ACM_EVENTS: tuple[AcmEvent, ...] = (
    AcmEvent(
        "ApproachingExpiration",
        "ACM Certificate Approaching Expiration",
        Severity.WARNING,
        "CertWarden WARNING: the ACM certificate for {cn} expires in {days} days.\n"
        "Certificate: {arn}\n"
        "Account {account}, region {region}, event time {time}.\n"
        "ACM renews the certificates it issued from 60 days before expiry; an imported "
        "certificate must be reissued and reimported before it expires.",
    ),
    AcmEvent(
        "Expired",
        "ACM Certificate Expired",
        Severity.CRITICAL,
        "CertWarden CRITICAL: the ACM certificate for {cn} has EXPIRED "
        "(expiry date {expiry}).\n"
        "Certificate: {arn}\n"
        "Account {account}, region {region}, event time {time}.\n"
        "Clients now reject connections that use it: replace it immediately.",
    ),
    AcmEvent(
        "RenewalActionRequired",
        "ACM Certificate Renewal Action Required",
        Severity.CRITICAL,
        "CertWarden CRITICAL: ACM cannot renew the certificate for {cn} without action "
        "(reason: {reason}); it expires in {days} days.\n"
        "Certificate: {arn}\n"
        "Account {account}, region {region}, event time {time}.\n"
        "Check the DNS validation records, CAA records or private CA named in the reason.",
    ),
)


def _message(template: str) -> events.RuleTargetInput:
    return events.RuleTargetInput.from_multiline_text(
        template.format(
            cn=_field("$.detail.CommonName"),
            days=_field("$.detail.DaysToExpiry"),
            expiry=_field("$.detail.CertificateExpirationDate"),
            reason=_field("$.detail.RenewalStatusReason"),
            arn=_field("$.resources[0]"),
            account=_field("$.account"),
            region=_field("$.region"),
            time=_field("$.time"),
        )
    )


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """An SNS target that grants nothing by itself.

    aws-cdk-lib's ``SnsTopic`` target adds an unconditioned ``events.amazonaws.com`` statement
    to the topic policy (any account's rule could then publish); CertificateEventRules adds a
    statement limited to its own rules instead.
    """

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self._topic = topic
        self._message = message

    def bind(self, _rule: IRuleRef, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn, input=self._message)


class CertificateEventRules(Construct):
    """Rules on the default event bus for ACM's expiry events, each to its severity's topic.

    * ``ACM Certificate Approaching Expiration`` -> warning topic (sent daily per certificate
      from ``DaysBeforeExpiry`` days before expiry, see ``AcmAccountExpiryEvents``),
    * ``ACM Certificate Expired`` -> critical topic,
    * ``ACM Certificate Renewal Action Required`` -> critical topic,

    each with an input transformer that turns the event into a readable message (common name,
    days to expiry / expiry date / renewal failure reason, certificate ARN, account, region).

    Delivery needs no IAM role (no inline policy): each topic of this app gets a topic-policy
    statement for ``events.amazonaws.com`` limited to these rules (``aws:SourceArn``) and this
    account (``aws:SourceAccount``), and a KMS key of this app that encrypts a topic gets the
    EventBridge statements of ``allow_alarm_and_event_delivery`` (without SourceArn /
    SourceAccount conditions, which EventBridge does not send to KMS). For imported topics or
    keys, their owner must allow delivery.

    :param warning_topic: topic for approaching-expiration events. Required.
    :param critical_topic: topic for expired and renewal-action-required events. Required.

    Attributes: ``rules`` (``{detail_type: events.Rule}``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        warning_topic: sns.ITopic,
        critical_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id)
        if warning_topic is None or critical_topic is None:
            raise ValueError("warning_topic and critical_topic are both required")
        topics = {Severity.WARNING: warning_topic, Severity.CRITICAL: critical_topic}
        self.rules: dict[str, events.Rule] = {}
        arns_by_severity: dict[Severity, list[str]] = {s: [] for s in Severity}
        for event in ACM_EVENTS:
            rule = events.Rule(
                self,
                event.construct_id,
                description=f"CertWarden: {event.detail_type} -> {event.severity.value} topic",
                event_pattern=events.EventPattern(
                    source=[ACM_EVENT_SOURCE], detail_type=[event.detail_type]
                ),
            )
            rule.add_target(_TopicTarget(topics[event.severity], _message(event.message)))
            self.rules[event.detail_type] = rule
            arns_by_severity[event.severity].append(rule.rule_arn)
        for severity, topic in topics.items():
            if arns_by_severity[severity]:
                authorize_event_delivery(topic, arns_by_severity[severity])

    def rule_for(self, detail_type: str) -> events.Rule:
        """The rule of an ACM event ``detail_type``."""
        if detail_type not in self.rules:
            raise ValueError(
                f"detail_type {detail_type!r} is not handled; handled: {', '.join(self.rules)}"
            )
        return self.rules[detail_type]


def authorize_event_delivery(topic: sns.ITopic, rule_arns: list[str]) -> None:
    """Let EventBridge deliver the given rules' events to ``topic`` (and through its key).

    A topic-policy statement for ``events.amazonaws.com`` limited to these rules and this
    account; the key-policy statements of ``allow_alarm_and_event_delivery`` when the topic is
    encrypted with a key of this app. Imported topics and keys are left alone.
    """
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": cdk.Stack.of(topic).account},
                "ArnEquals": {"aws:SourceArn": rule_arns},
            },
        )
    )
    key = getattr(topic, "master_key", None)
    if isinstance(key, kms.Key):
        allow_alarm_and_event_delivery(key)
