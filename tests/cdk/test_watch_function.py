"""CertificateWatchFunction, FunctionNetwork and the local Lambda bundling: one synth per module."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from certwarden_cdk.certificate_watch_function import HEARTBEAT_HOURS, CertificateWatchFunction
from certwarden_cdk.compliance import acknowledge
from certwarden_cdk.function_network import (
    WATCH_FUNCTION_ENDPOINTS,
    FunctionNetwork,
    lambda_vpc_access_statements,
)
from certwarden_cdk.lambda_bundling import bundle_into, distribution_closure, runtime_code
from certwarden_runtime import contract
from certwarden_runtime.policy import DEFAULT_POLICY
from tests.nag_helpers import nag_findings, new_app, template_of

ENV = cdk.Environment(account="111111111111", region="us-east-1")


class Built:
    def __init__(self) -> None:
        self.app = new_app()
        self.app.node.set_context("@aws-cdk/aws-ec2:restrictDefaultSecurityGroup", False)
        stack = cdk.Stack(self.app, "WatchTest", env=ENV)
        keys = {
            name: kms.Key(stack, f"{name}Key", enable_key_rotation=True)
            for name in ("Env", "Logs", "Alerts", "Reports")
        }
        topics = {
            name: sns.Topic(stack, f"{name}Topic", master_key=keys["Alerts"], enforce_ssl=True)
            for name in ("Warning", "Critical", "Alarm")
        }
        bucket = s3.Bucket(
            stack,
            "Reports",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=keys["Reports"],
            enforce_ssl=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_prefix="access/",
        )
        for rule in (
            "HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
        ):
            acknowledge(bucket, rule, "test stand-in for the reports bucket built elsewhere")
        self.network = FunctionNetwork(stack, "Network", logs_key=keys["Logs"])
        self.watch = CertificateWatchFunction(
            stack,
            "Watch",
            environment_name="staging",
            network=self.network,
            env_key=keys["Env"],
            logs_key=keys["Logs"],
            alerts_key=keys["Alerts"],
            warning_topic=topics["Warning"],
            critical_topic=topics["Critical"],
            reports_bucket=bucket,
            reports_key=keys["Reports"],
            alarm_topic=topics["Alarm"],
        )
        self.keys = keys
        self.topics = topics
        self.bucket = bucket
        self.stack = stack

        existing_stack = cdk.Stack(self.app, "ExistingVpcTest", env=ENV)
        self.existing = FunctionNetwork.from_existing(
            existing_stack,
            "Network",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=["us-east-1a", "us-east-1b"],
            private_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        )
        self.existing_stack = existing_stack
        key_arn = "arn:aws:kms:us-east-1:111111111111:key/{}-1111-1111-1111-111111111111"
        imported_keys = {
            name: kms.Key.from_key_arn(existing_stack, f"{name}Key", key_arn.format(n * 8))
            for name, n in (("Env", "1"), ("Logs", "2"), ("Alerts", "3"), ("Reports", "4"))
        }
        topic_arn = "arn:aws:sns:us-east-1:111111111111:certwarden-{}"
        self.existing_watch = CertificateWatchFunction(
            existing_stack,
            "Watch",
            environment_name="production",
            network=self.existing,
            env_key=imported_keys["Env"],
            logs_key=imported_keys["Logs"],
            alerts_key=imported_keys["Alerts"],
            warning_topic=sns.Topic.from_topic_arn(
                existing_stack, "Warning", topic_arn.format("warning")
            ),
            critical_topic=sns.Topic.from_topic_arn(
                existing_stack, "Critical", topic_arn.format("critical")
            ),
            reports_bucket=s3.Bucket.from_bucket_name(
                existing_stack, "Reports", "certwarden-reports-example"
            ),
            reports_key=imported_keys["Reports"],
            alarm_topic=sns.Topic.from_topic_arn(existing_stack, "Alarm", topic_arn.format("ops")),
            regions=["us-east-1", "us-west-2"],
            reserved_concurrency=2,
        )

        self.findings = nag_findings(self.app)
        self.template_dict = template_of(self.app, stack)
        self.template = Template.from_json(self.template_dict)
        self.existing_template_dict = template_of(self.app, existing_stack)
        self.existing_template = Template.from_json(self.existing_template_dict)

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template_dict["Resources"].items() if v["Type"] == type_}

    def logical_id(self, construct: Any) -> str:
        child = construct.node.default_child
        return str(self.stack.resolve(self.stack.get_logical_id(child)))


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def _function(built: Built) -> dict[str, Any]:
    functions = built.resources("AWS::Lambda::Function")
    assert len(functions) == 1
    props: dict[str, Any] = next(iter(functions.values()))["Properties"]
    return props


# -- compliance -------------------------------------------------------------------------------
def test_nag_clean(built: Built) -> None:
    assert built.findings == []


def test_only_our_lambda_functions(built: Built) -> None:
    functions = built.resources("AWS::Lambda::Function")
    assert list(functions) == [built.logical_id(built.watch.function)]
    assert not built.resources("Custom::VpcRestrictDefaultSG")
    assert not [
        r for r in built.template_dict["Resources"].values() if r["Type"].startswith("Custom::")
    ]


def test_no_inline_policies(built: Built) -> None:
    assert built.resources("AWS::IAM::Policy") == {}
    role = built.resources("AWS::IAM::Role")[built.logical_id(built.watch.role)]
    assert "Policies" not in role["Properties"]
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWS managed policies either
    policy = built.resources("AWS::IAM::ManagedPolicy")[
        built.logical_id(built.watch.managed_policy)
    ]
    assert policy["Properties"]["Roles"] == [{"Ref": built.logical_id(built.watch.role)}]
    function = built.resources("AWS::Lambda::Function")[built.logical_id(built.watch.function)]
    assert built.logical_id(built.watch.managed_policy) in function["DependsOn"]


# -- function ---------------------------------------------------------------------------------
def test_runtime_handler_concurrency(built: Built) -> None:
    props = _function(built)
    assert props["Runtime"] == "python3.14"
    assert props["Handler"] == contract.WATCH_HANDLER
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["Timeout"] == 600
    assert props["MemorySize"] == 1024


def test_dead_letter_queue_kms_and_tls(built: Built) -> None:
    props = _function(built)
    queue_id = built.logical_id(built.watch.dead_letter_queue)
    assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    queue = built.resources("AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["KmsMasterKeyId"] == {
        "Fn::GetAtt": [built.logical_id(built.keys["Alerts"]), "Arn"]
    }
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in built.resources("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statements in policies
        for s in statements
    )


def test_log_group_kms_and_retention(built: Built) -> None:
    props = _function(built)
    group_id = built.logical_id(built.watch.log_group)
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}
    group = built.resources("AWS::Logs::LogGroup")[group_id]
    assert group["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [built.logical_id(built.keys["Logs"]), "Arn"]
    }
    assert group["Properties"]["RetentionInDays"] >= DEFAULT_POLICY.log_retention_days
    assert group["Properties"]["RetentionInDays"] == 2192
    assert group["DeletionPolicy"] == "Retain"


def test_logs_key_lets_cloudwatch_logs_use_it_for_the_log_groups(built: Built) -> None:
    key = built.resources("AWS::KMS::Key")[built.logical_id(built.keys["Logs"])]
    patterns = [
        json.dumps(s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal", {}).get("Service") == "logs.us-east-1.amazonaws.com"
    ]
    names = [
        built.resources("AWS::Logs::LogGroup")[built.logical_id(g)]["Properties"]["LogGroupName"]
        for g in (built.watch.log_group, built.network.flow_log_group)
    ]
    for name in names:
        assert any(name in p for p in patterns), name


def test_environment_encrypted_and_carries_policy(built: Built) -> None:
    props = _function(built)
    assert props["KmsKeyArn"] == {"Fn::GetAtt": [built.logical_id(built.keys["Env"]), "Arn"]}
    variables = props["Environment"]["Variables"]
    for name, value in DEFAULT_POLICY.to_environment().items():
        assert variables[name] == value
    assert variables["CERTWARDEN_LOG_RETENTION_DAYS"] == "2192"
    assert variables[contract.ENV_ENVIRONMENT] == "staging"
    assert variables[contract.ENV_REGIONS] == "us-east-1"
    assert variables[contract.ENV_WARNING_TOPIC_ARN] == {
        "Ref": built.logical_id(built.topics["Warning"])
    }
    assert variables[contract.ENV_CRITICAL_TOPIC_ARN] == {
        "Ref": built.logical_id(built.topics["Critical"])
    }
    assert variables[contract.ENV_REPORTS_BUCKET] == {"Ref": built.logical_id(built.bucket)}
    assert variables[contract.ENV_REPORTS_KMS_KEY_ID] == {
        "Fn::GetAtt": [built.logical_id(built.keys["Reports"]), "Arn"]
    }
    assert variables["POWERTOOLS_SERVICE_NAME"] == contract.SERVICE_NAME
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == contract.METRICS_NAMESPACE


def test_vpc_config(built: Built) -> None:
    props = _function(built)
    sg_id = built.logical_id(built.network.security_group)
    assert props["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [sg_id, "GroupId"]}]
    assert len(props["VpcConfig"]["SubnetIds"]) == 2


def test_managed_policy_least_privilege(built: Built) -> None:
    policy = built.resources("AWS::IAM::ManagedPolicy")[
        built.logical_id(built.watch.managed_policy)
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions: dict[str, list[Any]] = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            assert "*" not in action
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            actions.setdefault(action, []).extend(resources)
    for action in contract.WATCH_FUNCTION_ACTIONS:
        assert action in actions, action
    star_actions = {a for a, r in actions.items() if "*" in r}
    # Only list and describe actions, which support no resource-level permissions, on "*".
    assert star_actions == {
        "acm:ListCertificates",
        "tag:GetResources",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
    }
    assert actions["sns:Publish"] == [
        {"Ref": built.logical_id(built.topics["Warning"])},
        {"Ref": built.logical_id(built.topics["Critical"])},
    ]
    assert "certificate/*" in json.dumps(actions["acm:RenewCertificate"])
    kms_statements = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert kms_statements
    assert all("kms:ViaService" in s["Condition"]["StringEquals"] for s in kms_statements)


def _vpc_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [policy] = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and any(
            "ec2:DescribeSubnets" in s["Action"]
            for s in r["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    return {s["Sid"]: s for s in statements if "ec2:" in json.dumps(s["Action"])}


def test_vpc_attachment_write_actions_are_scoped(built: Built) -> None:
    """checkov CKV_AWS_111 (nag misses it): no ec2 write action on "*"; ENIs only in the
    function's subnets with its security group, and only in this account and region."""
    statements = _vpc_statements(built.template_dict)
    assert set(statements) == {
        "DescribeVpcAttachment",
        "CreateFunctionNetworkInterfaces",
        "ManageFunctionNetworkInterfaces",
    }
    describe = statements["DescribeVpcAttachment"]
    assert sorted(describe["Action"]) == ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    assert describe["Resource"] == "*"

    create = statements["CreateFunctionNetworkInterfaces"]
    assert create["Action"] == "ec2:CreateNetworkInterface"
    resources = [json.dumps(r) for r in create["Resource"]]
    assert sum(":ec2:us-east-1:111111111111:network-interface/*" in r for r in resources) == 1
    subnet_ids = _function(built)["VpcConfig"]["SubnetIds"]
    subnets = [r for r in resources if ":subnet/" in r]
    assert len(subnets) == len(subnet_ids) == 2
    for subnet_id in subnet_ids:
        assert any(json.dumps(subnet_id) in r and ":ec2:us-east-1:*:subnet/" in r for r in subnets)
    sg_id = built.logical_id(built.network.security_group)
    [group] = [r for r in resources if ":security-group/" in r]
    assert ":ec2:us-east-1:111111111111:security-group/" in group
    assert json.dumps({"Fn::GetAtt": [sg_id, "GroupId"]}) in group
    assert len(resources) == 4

    manage = statements["ManageFunctionNetworkInterfaces"]
    assert sorted(manage["Action"]) == [
        "ec2:AssignPrivateIpAddresses",
        "ec2:DeleteNetworkInterface",
        "ec2:UnassignPrivateIpAddresses",
    ]
    assert ":ec2:us-east-1:111111111111:*/*" in json.dumps(manage["Resource"])


def test_vpc_attachment_in_existing_vpc_names_its_subnets(built: Built) -> None:
    create = _vpc_statements(built.existing_template_dict)["CreateFunctionNetworkInterfaces"]
    text = json.dumps(create["Resource"])
    for subnet in ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"):
        assert f":ec2:us-east-1:*:subnet/{subnet}" in text


def test_vpc_access_statements_need_subnets_and_groups(built: Built) -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ValueError, match="subnets"):
        lambda_vpc_access_statements(
            stack, subnets=[], security_groups=[built.existing.security_group]
        )
    with pytest.raises(ValueError, match="security_groups"):
        lambda_vpc_access_statements(
            stack, subnets=built.existing.vpc.private_subnets, security_groups=[]
        )


# -- schedule ---------------------------------------------------------------------------------
def test_schedule_with_retry_and_dlq(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 6 * * ? *)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [built.logical_id(built.watch.function), "Arn"]},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": 8,
                            "MaximumEventAgeInSeconds": 43200,
                        },
                        "DeadLetterConfig": {
                            "Arn": {
                                "Fn::GetAtt": [
                                    built.logical_id(built.watch.dead_letter_queue),
                                    "Arn",
                                ]
                            }
                        },
                    }
                )
            ],
        },
    )


def test_eventbridge_can_use_the_dlq_key(built: Built) -> None:
    key = built.resources("AWS::KMS::Key")[built.logical_id(built.keys["Alerts"])]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal", {}).get("Service") == "events.amazonaws.com"
        and "kms:GenerateDataKey*" in s["Action"]
        for s in statements
    )


# -- alarms -----------------------------------------------------------------------------------
def _alarm(built: Built, name: str) -> dict[str, Any]:
    alarm = built.watch.alarms[name]
    props: dict[str, Any] = built.resources("AWS::CloudWatch::Alarm")[built.logical_id(alarm)][
        "Properties"
    ]
    assert props["AlarmActions"] == [{"Ref": built.logical_id(built.topics["Alarm"])}]
    return props


def test_errors_and_throttles_alarms(built: Built) -> None:
    for name, metric in (("errors", "Errors"), ("throttles", "Throttles")):
        props = _alarm(built, name)
        assert props["Namespace"] == "AWS/Lambda"
        assert props["MetricName"] == metric
        assert props["Dimensions"] == [
            {"Name": "FunctionName", "Value": {"Ref": built.logical_id(built.watch.function)}}
        ]
        assert props["Statistic"] == "Sum"
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"


def test_dead_letter_queue_alarm(built: Built) -> None:
    props = _alarm(built, "dead_letter_queue")
    assert props["Namespace"] == "AWS/SQS"
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": [built.logical_id(built.watch.dead_letter_queue), "QueueName"]
    }
    assert props["Threshold"] == 0
    assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_heartbeat_alarm(built: Built) -> None:
    props = _alarm(built, "heartbeat")
    assert props["Namespace"] == contract.METRICS_NAMESPACE
    assert props["MetricName"] == contract.METRIC_JOB_SUCCEEDED
    assert props["Dimensions"] == [{"Name": contract.DIMENSION_ENVIRONMENT, "Value": "staging"}]
    assert props["Statistic"] == "Sum"
    assert props["Period"] == 3600
    assert props["EvaluationPeriods"] == HEARTBEAT_HOURS == 26
    assert props["DatapointsToAlarm"] == 26
    assert props["Period"] * props["EvaluationPeriods"] <= 7 * 86400  # CloudWatch limit
    assert props["ComparisonOperator"] == "LessThanThreshold"
    assert props["Threshold"] == 1
    assert props["TreatMissingData"] == "breaching"


# -- network ----------------------------------------------------------------------------------
def test_vpc_isolated_without_internet(built: Built) -> None:
    assert len(built.resources("AWS::EC2::VPC")) == 1
    for type_ in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
        assert built.resources(type_) == {}, type_
    subnets = built.resources("AWS::EC2::Subnet").values()
    assert len(subnets) == 2
    for subnet in subnets:
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Isolated"
    for route in built.resources("AWS::EC2::Route").values():
        assert "GatewayId" not in route["Properties"]


def test_flow_logs_to_encrypted_log_group(built: Built) -> None:
    group_id = built.logical_id(built.network.flow_log_group)
    built.template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": group_id},
        },
    )
    group = built.resources("AWS::Logs::LogGroup")[group_id]["Properties"]
    assert "KmsKeyId" in group
    assert group["RetentionInDays"] == 2192


def test_interface_endpoints_for_each_api(built: Built) -> None:
    endpoints = built.resources("AWS::EC2::VPCEndpoint").values()
    interface = [
        e["Properties"] for e in endpoints if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    names = json.dumps([e["ServiceName"] for e in interface])
    for short in ("acm", "tagging", "sns", "kms", "logs"):
        assert f".{short}" in names, short
    assert len(interface) == len(WATCH_FUNCTION_ENDPOINTS)
    assert all(e["PrivateDnsEnabled"] is True for e in interface)
    gateway = [
        e["Properties"] for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    assert len(gateway) == 1
    assert ".s3" in json.dumps(gateway[0]["ServiceName"])


def test_function_security_group_https_only(built: Built) -> None:
    sg_id = built.logical_id(built.network.security_group)
    sg = built.resources("AWS::EC2::SecurityGroup")[sg_id]["Properties"]
    egress = list(sg.get("SecurityGroupEgress", []))
    egress += [
        r["Properties"]
        for r in built.resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert egress
    for rule in egress:
        assert rule["IpProtocol"] == "tcp"
        assert rule["FromPort"] == rule["ToPort"] == 443
    assert "SecurityGroupIngress" not in sg


def test_existing_vpc_by_attributes(built: Built) -> None:
    assert built.existing.created is False
    assert built.existing.vpc.vpc_id == "vpc-0123456789abcdef0"
    built.existing_template.resource_count_is("AWS::EC2::VPC", 0)
    built.existing_template.resource_count_is("AWS::EC2::VPCEndpoint", 0)
    built.existing_template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "VpcId": "vpc-0123456789abcdef0",
            "SecurityGroupEgress": [Match.object_like({"FromPort": 443, "ToPort": 443})],
        },
    )
    subnet_ids = [s.subnet_id for s in built.existing.subnets.subnets or []]
    assert subnet_ids == ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vpc_id": "vpc-xyz"}, "vpc_id"),
        ({"private_subnet_ids": ["subnet-0123456789abcdef0"]}, "same length"),
        ({"availability_zones": ["nowhere", "us-east-1b"]}, "availability_zones"),
    ],
)
def test_existing_vpc_validation(kwargs: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(new_app(), "S")
    args: dict[str, Any] = {
        "vpc_id": "vpc-0123456789abcdef0",
        "availability_zones": ["us-east-1a", "us-east-1b"],
        "private_subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        FunctionNetwork.from_existing(stack, "N", **args)


def test_watch_function_validation(built: Built) -> None:
    stack = cdk.Stack(new_app(), "S")
    base: dict[str, Any] = {
        "network": built.existing,
        "env_key": built.keys["Env"],
        "logs_key": built.keys["Logs"],
        "alerts_key": built.keys["Alerts"],
        "warning_topic": built.topics["Warning"],
        "critical_topic": built.topics["Critical"],
        "reports_bucket": built.bucket,
        "reports_key": built.keys["Reports"],
        "alarm_topic": built.topics["Alarm"],
    }
    with pytest.raises(ValueError, match="environment_name"):
        CertificateWatchFunction(stack, "A", environment_name="Prod!", **base)
    with pytest.raises(ValueError, match="reserved_concurrency"):
        CertificateWatchFunction(
            stack, "B", environment_name="prod", reserved_concurrency=0, **base
        )
    with pytest.raises(ValueError, match="regions"):
        CertificateWatchFunction(stack, "C", environment_name="prod", regions=["mars"], **base)
    with pytest.raises(ValueError, match="timeout"):
        CertificateWatchFunction(
            stack, "D", environment_name="prod", timeout=cdk.Duration.minutes(20), **base
        )
    with pytest.raises(ValueError, match="cidr"):
        FunctionNetwork(stack, "N", logs_key=built.keys["Logs"], cidr="10.0.0.0/8")
    assert isinstance(ec2.InterfaceVpcEndpointAwsService.TAGGING.short_name, str)


# -- bundling ---------------------------------------------------------------------------------
def _asset_dir(built: Built) -> Path:
    code = _function(built)["Code"]
    key = code["S3Key"]
    asset_hash = key.split(".")[0]
    path = Path(built.app.outdir) / f"asset.{asset_hash}"
    assert path.is_dir(), path
    return path


def test_asset_contains_runtime_and_powertools(built: Built) -> None:
    asset = _asset_dir(built)
    assert (asset / "certwarden_runtime" / "handler.py").is_file()
    assert (asset / "certwarden_runtime" / "policy.py").is_file()
    assert (asset / "aws_lambda_powertools" / "__init__.py").is_file()
    assert (asset / "jmespath").is_dir()
    assert (asset / "typing_extensions.py").is_file()
    assert not list(asset.rglob("__pycache__"))
    assert not list(asset.rglob("*.pyc"))
    assert not (asset / "boto3").exists()
    assert not (asset / "botocore").exists()


def test_bundling_is_deterministic(tmp_path: Path, built: Built) -> None:
    first = bundle_into(tmp_path / "a")
    second = bundle_into(tmp_path / "b")
    assert first == second
    asset = _asset_dir(built)
    for relative in first:
        assert (tmp_path / "a" / relative).read_bytes() == (asset / relative).read_bytes()


def test_runtime_code_rejects_missing_package() -> None:
    with pytest.raises(ValueError, match="not installed"):
        runtime_code(extra_packages=["certwarden-no-such-package"])
    names = {
        re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
        for d in distribution_closure(["aws-lambda-powertools"])
    }
    assert {"aws-lambda-powertools", "jmespath", "typing-extensions"} <= names
    assert not names & {"boto3", "botocore", "s3transfer"}


def test_watch_function_in_existing_vpc(built: Built) -> None:
    functions = [
        r["Properties"]
        for r in built.existing_template_dict["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert len(functions) == 1
    props = functions[0]
    assert props["VpcConfig"]["SubnetIds"] == [
        "subnet-0123456789abcdef0",
        "subnet-0123456789abcdef1",
    ]
    assert props["ReservedConcurrentExecutions"] == 2
    assert props["KmsKeyArn"].endswith(":key/11111111-1111-1111-1111-111111111111")
    variables = props["Environment"]["Variables"]
    assert variables[contract.ENV_REGIONS] == "us-east-1,us-west-2"
    assert variables[contract.ENV_REPORTS_BUCKET] == "certwarden-reports-example"
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in built.existing_template_dict["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    renew = [
        s
        for p in policies
        for s in p
        if s["Action"] == ["acm:DescribeCertificate", "acm:RenewCertificate"]
    ]
    assert len(renew) == 1
    text = json.dumps(renew[0]["Resource"])
    assert "us-east-1" in text
    assert "us-west-2" in text
    built.existing_template.resource_count_is("AWS::IAM::Policy", 0)


def test_imported_keys_warn_about_key_policies(built: Built) -> None:
    annotations = Annotations.from_stack(built.existing_stack)
    annotations.has_warning(
        "/ExistingVpcTest/Watch", Match.string_like_regexp("logs key is imported")
    )
    annotations.has_warning(
        "/ExistingVpcTest/Watch", Match.string_like_regexp("alerts_key is imported")
    )
    Annotations.from_stack(built.stack).has_no_warning("*", Match.string_like_regexp("imported"))


def test_handler_imports_from_asset_with_only_lambda_provided_packages(
    built: Built, tmp_path: Path
) -> None:
    """The asset plus what the Lambda runtime ships (boto3 and its dependencies) is enough."""
    provided = tmp_path / "lambda-runtime"
    provided.mkdir()
    for module in ("boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six"):
        spec = importlib.util.find_spec(module)
        assert spec is not None, module
        assert spec.origin is not None, module
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (provided / source.name).symlink_to(source)
    module_name, _, function = contract.WATCH_HANDLER.rpartition(".")
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3]; import importlib; "
        f"m = importlib.import_module({module_name!r}); assert callable(m.{function})"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, str(_asset_dir(built)), str(provided)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
