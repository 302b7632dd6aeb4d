"""Keys, alert topics, expiry alarms, ACM event rules and the ACM account setting.

One synthesis for the module; every test reads the same template. The central property is the
delivery chain: alarm -> topic -> key policy (and rule -> topic -> key policy) must let the
publishing service use the key, or alerts vanish without any compliance rule noticing.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Match, Template

from certwarden_cdk.acm_account_expiry_events import AcmAccountExpiryEvents
from certwarden_cdk.alert_topics import AlertTopics
from certwarden_cdk.certificate_event_rules import ACM_EVENTS, CertificateEventRules
from certwarden_cdk.certificate_expiry_alarms import CertificateExpiryAlarms
from certwarden_cdk.encryption_keys import (
    EncryptionKeys,
    allow_alarm_and_event_delivery,
    allow_cloudwatch_logs,
)
from certwarden_runtime.policy import DEFAULT_POLICY, AlertTier, CompliancePolicy, Severity
from tests.nag_helpers import nag_findings, new_app, template_of

ENV = cdk.Environment(account="111111111111", region="us-east-1")
LOG_GROUP_PATTERN = "arn:aws:logs:us-east-1:111111111111:log-group:/certwarden/*"
IMPORTED_CERT_ARN = (
    "arn:aws:acm:us-east-1:111111111111:certificate/11111111-2222-3333-4444-555555555555"
)


class Built:
    def __init__(self) -> None:
        self.app = new_app()
        stack = cdk.Stack(self.app, "AlertingTest", env=ENV)
        self.stack = stack
        keys = EncryptionKeys(stack, "Keys", alias_prefix="alias/certwarden/test")
        allow_cloudwatch_logs(keys.logs_key, log_group_arn_pattern=LOG_GROUP_PATTERN)
        allow_alarm_and_event_delivery(keys.alerts_key)  # second call: must stay idempotent
        self.keys = keys
        self.alerts = AlertTopics(
            stack,
            "Alerts",
            key=keys.alerts_key,
            critical_emails=["oncall@example.org", "oncall@example.org"],
            warning_emails=["team@example.org"],
        )
        zone = route53.HostedZone.from_hosted_zone_attributes(
            stack, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.org"
        )
        issued = acm.Certificate(
            stack,
            "Certificate",
            domain_name="example.org",
            validation=acm.CertificateValidation.from_dns(zone),
        )
        imported = acm.Certificate.from_certificate_arn(stack, "Imported", IMPORTED_CERT_ARN)
        self.alarms = CertificateExpiryAlarms(
            stack,
            "ExpiryAlarms",
            certificates={"public": issued, "imported": imported},
            warning_topic=self.alerts.warning_topic,
            critical_topic=self.alerts.critical_topic,
        )
        self.rules = CertificateEventRules(
            stack,
            "Events",
            warning_topic=self.alerts.warning_topic,
            critical_topic=self.alerts.critical_topic,
        )
        self.account_events = AcmAccountExpiryEvents(stack, "AccountExpiryEvents")
        self.role = iam.Role(
            stack,
            "PublisherRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.publish_policy = self.alerts.grant_publish(self.role)
        self.findings = nag_findings(self.app)
        self.template = template_of(self.app, stack)
        self.assertions = Template.from_json(self.template)

    def resources(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == type_name
        }


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


# -- helpers walking the template ------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _ref(value: Any) -> str:
    """Logical id of ``{"Ref": id}`` or ``{"Fn::GetAtt": [id, ...]}``."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise AssertionError(f"not a reference to a resource of the template: {value!r}")


def _service_statements(policy: dict[str, Any], service: str) -> list[dict[str, Any]]:
    return [
        statement
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        and service in _as_list(statement.get("Principal", {}).get("Service", []))
    ]


def _key_allows_publish_delivery(built: Built, topic_id: str, service: str) -> dict[str, Any]:
    """Follow topic -> key; return the key-policy statement letting ``service`` use the key."""
    topic = built.template["Resources"][topic_id]
    assert topic["Type"] == "AWS::SNS::Topic"
    key_id = _ref(topic["Properties"]["KmsMasterKeyId"])
    key = built.template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    for statement in _service_statements(key["Properties"]["KeyPolicy"], service):
        actions = set(_as_list(statement["Action"]))
        if {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions:
            return statement
    raise AssertionError(f"key {key_id} of topic {topic_id} does not let {service} publish")


def _topic_policy_allows(built: Built, topic_id: str, service: str) -> list[dict[str, Any]]:
    statements = []
    for policy in built.resources("AWS::SNS::TopicPolicy").values():
        if topic_id in [_ref(t) for t in policy["Properties"]["Topics"]]:
            for statement in _service_statements(policy["Properties"]["PolicyDocument"], service):
                if "sns:Publish" in _as_list(statement["Action"]):
                    statements.append(statement)
    return statements


# -- the delivery chains ---------------------------------------------------------------------
def test_every_alarm_reaches_a_topic_whose_key_lets_cloudwatch_publish(built: Built) -> None:
    checked = 0
    for alarm_id, alarm in built.resources("AWS::CloudWatch::Alarm").items():
        actions = alarm["Properties"].get("AlarmActions", [])
        assert actions, f"alarm {alarm_id} has no action"
        for action in actions:
            topic_id = _ref(action)
            statement = _key_allows_publish_delivery(built, topic_id, "cloudwatch.amazonaws.com")
            assert "Condition" not in statement
            policies = _topic_policy_allows(built, topic_id, "cloudwatch.amazonaws.com")
            assert policies, f"topic {topic_id} does not let CloudWatch publish"
            for policy_statement in policies:
                assert policy_statement["Condition"]["StringEquals"]["aws:SourceAccount"] == (
                    "111111111111"
                )
            checked += 1
    assert checked >= 8


def test_every_acm_rule_reaches_a_topic_whose_key_lets_eventbridge_publish(built: Built) -> None:
    checked = 0
    for rule_id, rule in built.resources("AWS::Events::Rule").items():
        targets = rule["Properties"]["Targets"]
        assert targets, f"rule {rule_id} has no target"
        for target in targets:
            assert "RoleArn" not in target, "SNS targets must use the topic policy, not a role"
            topic_id = _ref(target["Arn"])
            statement = _key_allows_publish_delivery(built, topic_id, "events.amazonaws.com")
            # EventBridge does not send SourceArn/SourceAccount to KMS: no such condition.
            condition_keys = {
                key for block in statement.get("Condition", {}).values() for key in block
            }
            assert not condition_keys & {"aws:SourceArn", "aws:SourceAccount"}
            assert _topic_policy_allows(built, topic_id, "events.amazonaws.com")
            checked += 1
    assert checked == 3


def test_no_unconditioned_service_publish_on_topics(built: Built) -> None:
    for policy in built.resources("AWS::SNS::TopicPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow" and "Service" in statement.get("Principal", {}):
                assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def test_event_rule_topic_statements_name_the_rules(built: Built) -> None:
    rule_ids = set(built.resources("AWS::Events::Rule"))
    named: set[str] = set()
    for policy in built.resources("AWS::SNS::TopicPolicy").values():
        for statement in _service_statements(
            policy["Properties"]["PolicyDocument"], "events.amazonaws.com"
        ):
            for arn in _as_list(
                statement["Condition"].get("ArnEquals", {}).get("aws:SourceArn", [])
            ):
                named.add(_ref(arn))
    assert named == rule_ids


# -- keys --------------------------------------------------------------------------------------
def test_keys_rotate_and_are_retained(built: Built) -> None:
    keys = built.resources("AWS::KMS::Key")
    assert len(keys) == 3
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"
    aliases = sorted(
        a["Properties"]["AliasName"] for a in built.resources("AWS::KMS::Alias").values()
    )
    assert aliases == [
        "alias/certwarden/test/alerts",
        "alias/certwarden/test/data",
        "alias/certwarden/test/logs",
    ]


def test_logs_key_lets_regional_logs_service_use_it_for_matching_log_groups(built: Built) -> None:
    built.assertions.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                            "Action": [
                                "kms:Encrypt*",
                                "kms:Decrypt*",
                                "kms:ReEncrypt*",
                                "kms:GenerateDataKey*",
                                "kms:Describe*",
                            ],
                            "Resource": "*",
                            "Condition": {
                                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": LOG_GROUP_PATTERN}
                            },
                        }
                    ]
                )
            }
        },
    )


def test_delivery_helper_is_idempotent(built: Built) -> None:
    key_id = built.stack.get_logical_id(built.keys.alerts_key.node.default_child)  # type: ignore[arg-type]
    statements = built.template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    sids = [s.get("Sid") for s in statements if s.get("Sid")]
    assert len(sids) == len(set(sids))


# -- topics ------------------------------------------------------------------------------------
def test_topics_are_encrypted_and_tls_only(built: Built) -> None:
    topics = built.resources("AWS::SNS::Topic")
    assert len(topics) == 2
    for topic_id, topic in topics.items():
        assert "KmsMasterKeyId" in topic["Properties"]
        deny_tls = [
            statement
            for policy in built.resources("AWS::SNS::TopicPolicy").values()
            if topic_id in [_ref(t) for t in policy["Properties"]["Topics"]]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny"
            and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert deny_tls, f"topic {topic_id} accepts requests without TLS"


def test_email_subscriptions_per_severity(built: Built) -> None:
    subscriptions = built.resources("AWS::SNS::Subscription").values()
    by_topic: dict[str, list[str]] = {}
    for subscription in subscriptions:
        assert subscription["Properties"]["Protocol"] == "email"
        by_topic.setdefault(_ref(subscription["Properties"]["TopicArn"]), []).append(
            subscription["Properties"]["Endpoint"]
        )
    critical = built.stack.get_logical_id(built.alerts.critical_topic.node.default_child)  # type: ignore[arg-type]
    warning = built.stack.get_logical_id(built.alerts.warning_topic.node.default_child)  # type: ignore[arg-type]
    assert by_topic == {critical: ["oncall@example.org"], warning: ["team@example.org"]}


def test_topic_for_severity(built: Built) -> None:
    assert built.alerts.topic_for(Severity.CRITICAL) is built.alerts.critical_topic
    assert built.alerts.topic_for(Severity.WARNING) is built.alerts.warning_topic


def test_grant_publish_uses_a_managed_policy(built: Built) -> None:
    assert built.publish_policy is not None
    assert not built.resources("AWS::IAM::Policy"), "inline (default) policies are not allowed"
    policies = list(built.resources("AWS::IAM::ManagedPolicy").values())
    assert len(policies) == 1
    document = policies[0]["Properties"]["PolicyDocument"]
    actions = {a for s in document["Statement"] for a in _as_list(s["Action"])}
    assert actions == {"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"}
    assert policies[0]["Properties"]["Roles"]


# -- alarms ------------------------------------------------------------------------------------
def test_days_to_expiry_alarms_follow_the_policy(built: Built) -> None:
    alarms = built.resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 2 * len(DEFAULT_POLICY.alert_tiers)  # one per certificate per tier
    seen: set[tuple[str, float]] = set()
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["Namespace"] == "AWS/CertificateManager"
        assert props["MetricName"] == "DaysToExpiry"
        assert props["Period"] == 86400
        assert props["EvaluationPeriods"] == 1
        assert props["Statistic"] == "Minimum"
        assert props["TreatMissingData"] == "breaching"
        assert props["ComparisonOperator"] == "LessThanOrEqualToThreshold"
        assert [d["Name"] for d in props["Dimensions"]] == ["CertificateArn"]
        seen.add((str(props["Dimensions"][0]["Value"]), props["Threshold"]))
    assert len(seen) == len(alarms)
    assert {threshold for _, threshold in seen} == {45, 30, 15, 7}


def test_alarm_tiers_go_to_their_severity_topic(built: Built) -> None:
    warning = built.stack.get_logical_id(built.alerts.warning_topic.node.default_child)  # type: ignore[arg-type]
    critical = built.stack.get_logical_id(built.alerts.critical_topic.node.default_child)  # type: ignore[arg-type]
    for alarm in built.resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        expected = warning if props["Threshold"] in (45, 30) else critical
        assert [_ref(a) for a in props["AlarmActions"]] == [expected]


def test_alarms_exposed(built: Built) -> None:
    assert len(built.alarms.alarms) == 8
    assert set(built.alarms.alarms_by_certificate["public"]) == {45, 30, 15, 7}


# -- event rules and the account setting -------------------------------------------------------
def test_event_rules_match_acm_events_with_readable_messages(built: Built) -> None:
    rules = built.resources("AWS::Events::Rule")
    detail_types = {}
    for rule in rules.values():
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.acm"]
        [target] = rule["Properties"]["Targets"]
        transformer = target["InputTransformer"]
        assert "$.detail.CommonName" in transformer["InputPathsMap"].values()
        assert "$.resources[0]" in transformer["InputPathsMap"].values()
        assert "CertWarden" in transformer["InputTemplate"]
        detail_types[pattern["detail-type"][0]] = _ref(target["Arn"])
    warning = built.stack.get_logical_id(built.alerts.warning_topic.node.default_child)  # type: ignore[arg-type]
    critical = built.stack.get_logical_id(built.alerts.critical_topic.node.default_child)  # type: ignore[arg-type]
    assert detail_types == {
        "ACM Certificate Approaching Expiration": warning,
        "ACM Certificate Expired": critical,
        "ACM Certificate Renewal Action Required": critical,
    }
    assert {e.detail_type for e in ACM_EVENTS} == set(detail_types)


def test_acm_account_days_before_expiry_is_first_tier(built: Built) -> None:
    built.assertions.resource_count_is("AWS::CertificateManager::Account", 1)
    built.assertions.has_resource_properties(
        "AWS::CertificateManager::Account",
        {"ExpiryEventsConfiguration": {"DaysBeforeExpiry": 45}},
    )


# -- whole template ----------------------------------------------------------------------------
def test_no_inline_policies_and_no_lambdas(built: Built) -> None:
    assert not built.resources("AWS::IAM::Policy")
    assert not built.resources("AWS::Lambda::Function")
    assert not [r for r in built.template["Resources"].values() if r["Type"].startswith("Custom::")]


def test_nag_clean(built: Built) -> None:
    assert built.findings == []


# -- eager validation (no synthesis) ---------------------------------------------------------
def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Validation", env=ENV)


def _topics(stack: cdk.Stack) -> AlertTopics:
    keys = EncryptionKeys(stack, "Keys", alias_prefix="certwarden/v")
    return AlertTopics(stack, "Alerts", key=keys.alerts_key, critical_emails=["a@example.org"])


def test_alarms_need_certificates() -> None:
    stack = _stack()
    topics = _topics(stack)
    with pytest.raises(ValueError, match="certificates must name at least one"):
        CertificateExpiryAlarms(
            stack,
            "Alarms",
            certificates={},
            warning_topic=topics.warning_topic,
            critical_topic=topics.critical_topic,
        )


def test_alarms_reject_bad_names_and_other_regions() -> None:
    stack = _stack()
    topics = _topics(stack)
    other_region = "arn:aws:acm:eu-west-1:111111111111:certificate/abc"
    certificate = acm.Certificate.from_certificate_arn(stack, "Other", other_region)
    with pytest.raises(ValueError, match="name 'bad/name' is not allowed"):
        CertificateExpiryAlarms(
            stack,
            "A1",
            certificates={"bad/name": certificate},
            warning_topic=topics.warning_topic,
            critical_topic=topics.critical_topic,
        )
    with pytest.raises(ValueError, match="region eu-west-1"):
        CertificateExpiryAlarms(
            stack,
            "A2",
            certificates={"other": certificate},
            warning_topic=topics.warning_topic,
            critical_topic=topics.critical_topic,
        )


def test_alert_topics_validation() -> None:
    stack = _stack()
    keys = EncryptionKeys(stack, "Keys", alias_prefix="certwarden/v")
    with pytest.raises(ValueError, match="critical_emails must name at least one"):
        AlertTopics(stack, "A1", key=keys.alerts_key, critical_emails=[])
    with pytest.raises(ValueError, match="warning_emails: 'nobody' is not an email"):
        AlertTopics(
            stack,
            "A2",
            key=keys.alerts_key,
            critical_emails=["a@example.org"],
            warning_emails=["nobody"],
        )
    with pytest.raises(ValueError, match="not one string"):
        AlertTopics(stack, "A3", key=keys.alerts_key, critical_emails="a@example.org")


def test_grant_publish_rejects_users() -> None:
    stack = _stack()
    topics = _topics(stack)
    with pytest.raises(ValueError, match="roles and service principals"):
        topics.grant_publish(iam.User(stack, "User"))


def test_keys_validation() -> None:
    stack = _stack()
    with pytest.raises(ValueError, match="must not start with 'aws/'"):
        EncryptionKeys(stack, "K1", alias_prefix="aws/certwarden")
    with pytest.raises(ValueError, match="not a valid KMS alias prefix"):
        EncryptionKeys(stack, "K2", alias_prefix="cert warden")
    keys = EncryptionKeys(stack, "K3", alias_prefix="certwarden/ok")
    with pytest.raises(ValueError, match="not a log group ARN pattern"):
        allow_cloudwatch_logs(keys.logs_key, log_group_arn_pattern="/certwarden/*")


def test_account_expiry_events_validation() -> None:
    stack = _stack()
    with pytest.raises(ValueError, match=r"out of range; ACM allows 1\.\.45"):
        AcmAccountExpiryEvents(stack, "A1", days_before_expiry=60)
    policy = CompliancePolicy(
        alert_tiers=(AlertTier(50, Severity.WARNING), AlertTier(10, Severity.CRITICAL)),
        renewal_window_days=60,
    )
    with pytest.raises(ValueError, match="days_before_expiry 50 is out of range"):
        AcmAccountExpiryEvents(stack, "A2", policy=policy)
    assert AcmAccountExpiryEvents(stack, "A3", days_before_expiry=30).days_before_expiry == 30


def test_custom_policy_tiers_drive_alarm_count() -> None:
    stack = _stack()
    topics = _topics(stack)
    policy = CompliancePolicy(
        alert_tiers=(AlertTier(40, Severity.WARNING), AlertTier(5, Severity.CRITICAL))
    )
    alarms = CertificateExpiryAlarms(
        stack,
        "Alarms",
        certificates={"c": acm.Certificate.from_certificate_arn(stack, "C", IMPORTED_CERT_ARN)},
        warning_topic=topics.warning_topic,
        critical_topic=topics.critical_topic,
        policy=policy,
    )
    assert set(alarms.alarms_by_certificate["c"]) == {40, 5}
