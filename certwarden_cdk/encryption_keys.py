"""Customer-managed KMS keys for CertWarden, and the key-policy helpers their consumers call.

Three keys, split by who must be able to use them:

* ``alerts_key`` -- SNS alert topics and SQS dead-letter queues. CloudWatch alarms and
  EventBridge rules publish to those topics, so their service principals need the key
  (:func:`allow_alarm_and_event_delivery`). Without that grant an alarm fires and nothing is
  delivered -- no compliance rule notices.
* ``logs_key`` -- CloudWatch Logs log groups, CloudTrail and the audit bucket
  (:func:`allow_cloudwatch_logs`; the audit-trail construct adds CloudTrail's own statements).
* ``data_key`` -- the reports bucket and Lambda environment variables.

Each construct that uses a key adds the statements its service needs, through the helpers in
this module, on the key it is given.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

#: Actions CloudWatch Logs needs on the key of an encrypted log group (CloudWatch Logs guide,
#: "Encrypt log data in CloudWatch Logs using AWS KMS").
CLOUDWATCH_LOGS_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)
#: Actions a publisher needs on the key of an SSE-KMS encrypted SNS topic.
TOPIC_PUBLISH_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey*")

_ALIAS_PREFIX_RE = re.compile(r"^[A-Za-z0-9/_-]{1,200}$")
_DELIVERY_MARKER_ID = "CertWardenAlarmAndEventDelivery"


def allow_cloudwatch_logs(key: kms.Key, *, log_group_arn_pattern: str) -> None:
    """Let CloudWatch Logs in the key's region use ``key`` for the log groups matching a pattern.

    Adds a key-policy statement for ``logs.<region>.amazonaws.com`` with
    ``kms:Encrypt*``, ``kms:Decrypt*``, ``kms:ReEncrypt*``, ``kms:GenerateDataKey*`` and
    ``kms:Describe*``, conditioned on ``ArnLike kms:EncryptionContext:aws:logs:arn`` so the
    service can use the key only for those log groups.

    :param key: the key (must be a :class:`aws_kms.Key` of this app: imported keys have no
        policy to edit).
    :param log_group_arn_pattern: log group ARN, or ARN pattern with ``*``, e.g.
        ``arn:aws:logs:us-east-1:111111111111:log-group:/certwarden/*``. Must be a
        ``log-group`` ARN (tokens are accepted unchecked).
    """
    if not cdk.Token.is_unresolved(log_group_arn_pattern) and not re.match(
        r"^arn:[a-z0-9-]+:logs:[a-z0-9-*]+:(\d{12}|\*):log-group:.+$", log_group_arn_pattern
    ):
        raise ValueError(
            f"log_group_arn_pattern {log_group_arn_pattern!r} is not a log group ARN pattern; "
            "expected arn:<partition>:logs:<region>:<account>:log-group:<name or pattern>"
        )
    region = cdk.Stack.of(key).region
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
            actions=list(CLOUDWATCH_LOGS_KEY_ACTIONS),
            resources=["*"],
            conditions={
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn_pattern},
            },
        )
    )


def allow_alarm_and_event_delivery(key: kms.Key) -> None:
    """Let CloudWatch alarms and EventBridge rules publish to SNS topics encrypted with ``key``.

    Adds key-policy statements giving ``cloudwatch.amazonaws.com`` and ``events.amazonaws.com``
    ``kms:Decrypt`` and ``kms:GenerateDataKey*`` (SNS guide, "compatibility between event
    sources from AWS services and encrypted topics").

    No ``aws:SourceArn``/``aws:SourceAccount`` condition is set on these KMS statements:
    EventBridge does not send those keys to KMS, so such a condition silently drops every
    notification. The confused-deputy protection lives on the topic policies instead
    (:class:`certwarden_cdk.alert_topics.AlertTopics`), and this key only encrypts topics and
    queues of this account. Calling it more than once on the same key is harmless.
    """
    if key.node.try_find_child(_DELIVERY_MARKER_ID) is not None:
        return
    Construct(key, _DELIVERY_MARKER_ID)  # marker only: makes the helper idempotent
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToPublishToEncryptedTopics",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=list(TOPIC_PUBLISH_KEY_ACTIONS),
            resources=["*"],
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowEventBridgeToPublishToEncryptedTopics",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=list(TOPIC_PUBLISH_KEY_ACTIONS),
            resources=["*"],
        )
    )


class EncryptionKeys(Construct):
    """Three customer-managed, yearly-rotated KMS keys with aliases under ``alias_prefix``.

    The key policies start with the account-root statement only (access is then delegated to
    IAM); each consumer adds its service's statements with the module helpers
    (:func:`allow_cloudwatch_logs`, :func:`allow_alarm_and_event_delivery`).

    :param alias_prefix: prefix of the key aliases, e.g. ``certwarden/production`` gives
        ``alias/certwarden/production/alerts``, ``.../logs`` and ``.../data``. Letters, digits,
        ``/``, ``_`` and ``-``; a leading ``alias/`` is accepted and ignored; must not start
        with ``aws/`` (reserved for AWS managed keys). Required.
    :param removal_policy: what happens to the keys when they leave the stack. Default
        ``RETAIN``: a deleted key makes everything encrypted with it (six years of audit logs)
        unreadable.

    Attributes: ``alerts_key``, ``logs_key``, ``data_key`` (:class:`aws_kms.Key`).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias_prefix: str,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        prefix = alias_prefix
        if not cdk.Token.is_unresolved(prefix):
            prefix = prefix.removeprefix("alias/").strip("/")
            if not _ALIAS_PREFIX_RE.match(prefix) or "//" in prefix:
                raise ValueError(
                    f"alias_prefix {alias_prefix!r} is not a valid KMS alias prefix; allowed: "
                    "letters, digits, '/', '_' and '-' (e.g. 'certwarden/production')"
                )
            if prefix.lower() == "aws" or prefix.lower().startswith("aws/"):
                raise ValueError(
                    f"alias_prefix {alias_prefix!r} must not start with 'aws/' "
                    "(reserved for AWS managed keys)"
                )
        self.alias_prefix = prefix

        self.alerts_key = self._key(
            "AlertsKey",
            "alerts",
            removal_policy,
            "CertWarden alerts: SNS alert topics and SQS dead-letter queues "
            "(used by CloudWatch alarms and EventBridge)",
        )
        self.logs_key = self._key(
            "LogsKey",
            "logs",
            removal_policy,
            "CertWarden logs: CloudWatch Logs log groups, CloudTrail and the audit bucket",
        )
        self.data_key = self._key(
            "DataKey",
            "data",
            removal_policy,
            "CertWarden data: reports bucket and Lambda environment variables",
        )

    def _key(
        self, id: str, purpose: str, removal_policy: cdk.RemovalPolicy, description: str
    ) -> kms.Key:
        return kms.Key(
            self,
            id,
            alias=f"alias/{self.alias_prefix}/{purpose}",
            description=description,
            enable_key_rotation=True,
            key_spec=kms.KeySpec.SYMMETRIC_DEFAULT,
            key_usage=kms.KeyUsage.ENCRYPT_DECRYPT,
            pending_window=cdk.Duration.days(30),
            removal_policy=removal_policy,
        )
