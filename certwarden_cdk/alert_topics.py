"""The warning and critical alert routes: two KMS-encrypted, TLS-only SNS topics."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from certwarden_cdk.encryption_keys import allow_alarm_and_event_delivery
from certwarden_runtime.policy import Severity

_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}$")


def _emails(prop: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        raise ValueError(f"{prop} must be a list of email addresses, not one string {values!r}")
    unique: list[str] = []
    for value in values:
        if not cdk.Token.is_unresolved(value) and not _EMAIL_RE.match(value):
            raise ValueError(f"{prop}: {value!r} is not an email address (user@example.org)")
        if value not in unique:
            unique.append(value)
    return unique


class AlertTopics(Construct):
    """A warning and a critical SNS topic that CloudWatch alarms and EventBridge can publish to.

    Both topics are encrypted with ``key`` (SSE-KMS), refuse any request not sent over TLS
    (``aws:SecureTransport`` deny), sign deliveries with SHA256 (signature version 2) and allow
    ``sns:Publish`` to ``cloudwatch.amazonaws.com`` (only from alarms of this account and
    region: ``aws:SourceAccount`` + ``aws:SourceArn``) and ``events.amazonaws.com`` (only from
    this account: ``aws:SourceAccount``). When ``key`` is a :class:`aws_kms.Key` of this app,
    its policy gets the statements CloudWatch and EventBridge need to publish to an encrypted
    topic (:func:`~certwarden_cdk.encryption_keys.allow_alarm_and_event_delivery`); for an
    imported key you must add them yourself, or alerts are silently dropped.

    :param key: KMS key encrypting both topics (``EncryptionKeys.alerts_key``). Required.
    :param critical_emails: addresses subscribed to the critical topic; at least one.
        Each receives a confirmation email from SNS after deployment.
    :param warning_emails: addresses subscribed to the warning topic. Default: none.

    Attributes: ``warning_topic``, ``critical_topic`` (:class:`aws_sns.Topic`), ``key``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        key: kms.IKey,
        critical_emails: Sequence[str],
        warning_emails: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id)
        critical = _emails("critical_emails", critical_emails)
        warning = _emails("warning_emails", warning_emails)
        if not critical:
            raise ValueError(
                "critical_emails must name at least one address: critical certificate alerts "
                "(expiring within days, expired, renewal blocked) must reach a person"
            )
        self.key = key
        if isinstance(key, kms.Key):
            allow_alarm_and_event_delivery(key)
        self.warning_topic = self._topic("WarningTopic", "CertWarden warning alerts", warning)
        self.critical_topic = self._topic("CriticalTopic", "CertWarden critical alerts", critical)
        self._publish_policies = 0

    def _topic(self, id: str, display_name: str, emails: list[str]) -> sns.Topic:
        stack = cdk.Stack.of(self)
        topic = sns.Topic(
            self,
            id,
            display_name=display_name,
            master_key=self.key,
            enforce_ssl=True,
            signature_version="2",
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeRulesOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        for email in emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    @property
    def topics(self) -> tuple[sns.Topic, sns.Topic]:
        """(warning_topic, critical_topic)."""
        return (self.warning_topic, self.critical_topic)

    def topic_for(self, severity: Severity) -> sns.Topic:
        """The topic alerts of ``severity`` go to."""
        if severity is Severity.CRITICAL:
            return self.critical_topic
        if severity is Severity.WARNING:
            return self.warning_topic
        raise ValueError(
            f"severity {severity!r} is not one of {', '.join(s.value for s in Severity)}"
        )

    def grant_publish(self, grantee: iam.IGrantable) -> iam.ManagedPolicy | None:
        """Allow ``grantee`` to publish to both topics, without an inline policy.

        * An IAM role (e.g. a Lambda function's role) gets a new customer-managed policy with
          ``sns:Publish`` on both topics and ``kms:GenerateDataKey`` + ``kms:Decrypt`` on the
          key; the policy is returned so callers can depend on it.
        * A service principal is added to both topic policies, limited to this account with
          ``aws:SourceAccount`` (use it only for services that send that key), and to the key
          policy when the key belongs to this app; ``None`` is returned.

        Other principals (users, groups, accounts) raise ValueError: attach a managed policy
        to them yourself.
        """
        principal = grantee.grant_principal
        if isinstance(principal, iam.ServicePrincipal):
            for topic in self.topics:
                topic.add_to_resource_policy(
                    iam.PolicyStatement(
                        principals=[principal],
                        actions=["sns:Publish"],
                        resources=[topic.topic_arn],
                        conditions={
                            "StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}
                        },
                    )
                )
            if isinstance(self.key, kms.Key):
                self.key.add_to_resource_policy(
                    iam.PolicyStatement(
                        principals=[principal],
                        actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                        resources=["*"],
                    )
                )
            return None
        if not (hasattr(principal, "role_arn") and hasattr(principal, "add_managed_policy")):
            raise ValueError(
                "grant_publish supports IAM roles and service principals; "
                f"got {type(principal).__name__}: attach a managed policy to it yourself"
            )
        role: iam.IRole = principal  # type: ignore[assignment]
        self._publish_policies += 1
        policy = iam.ManagedPolicy(
            self,
            f"PublishPolicy{self._publish_policies}",
            description="Publish CertWarden alerts to the warning and critical topics",
            statements=[
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    resources=[t.topic_arn for t in self.topics],
                ),
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.key.key_arn],
                ),
            ],
        )
        policy.attach_to_role(role)
        return policy
