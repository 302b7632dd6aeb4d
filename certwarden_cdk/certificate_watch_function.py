"""The daily certificate-watch Lambda: schedule, dead-letter queue, logs, least privilege, alarms.

The function runs ``certwarden_runtime`` (handler :data:`contract.WATCH_HANDLER`) once a day in a
:class:`~certwarden_cdk.function_network.FunctionNetwork`: it inventories ACM in ``regions``,
alerts on the SNS topics, writes reports and its alert state to the reports bucket and publishes
fleet metrics (EMF). Every permission is in one customer-managed policy on its own role (no
inline policies), and every number comes from the compliance policy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from certwarden_cdk._cfn_lint import ignore_cfn_lint_rule
from certwarden_cdk._function_parts import dead_letter_queue, function_log_group
from certwarden_cdk.compliance import acknowledge, nag_arn
from certwarden_cdk.encryption_keys import allow_alarm_and_event_delivery
from certwarden_cdk.function_network import (
    FunctionNetwork,
    acknowledge_vpc_access_wildcards,
    cfn_resource,
    lambda_vpc_access_statements,
    selected_subnets,
)
from certwarden_cdk.lambda_bundling import LAMBDA_RUNTIME, runtime_code
from certwarden_runtime import contract
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

#: Daily at 06:00 UTC.
DAILY_SCHEDULE = events.Schedule.cron(minute="0", hour="6")

#: The heartbeat alarms when no successful run was recorded for this many hours.
HEARTBEAT_HOURS = 26

_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def _unresolved(value: object) -> bool:
    return isinstance(value, str) and cdk.Token.is_unresolved(value)


class CertificateWatchFunction(Construct):
    """The certificate-watch Lambda function with its schedule, DLQ, log group and alarms.

    :param environment_name: CertWarden environment (lower-case letters, digits, ``-``; up to
        31 characters); the ``Environment`` dimension of the job's metrics. Required.
    :param network: where the function runs (its subnets and security group). Required.
    :param env_key: KMS key encrypting the environment variables. Required.
    :param logs_key: KMS key of the function's log group (CloudWatch Logs statement added to
        it when it is a :class:`aws_kms.Key` of this app). Required.
    :param alerts_key: KMS key of the alert topics and of the dead-letter queue. Required.
    :param warning_topic: SNS topic for WARNING alerts. Required.
    :param critical_topic: SNS topic for CRITICAL alerts. Required.
    :param reports_bucket: bucket for reports (``reports/``) and the alert state. Required.
    :param reports_key: SSE-KMS key of ``reports_bucket``. Required.
    :param alarm_topic: SNS topic the function's own alarms notify (alarm and OK). Required.
    :param regions: regions whose ACM certificates are inventoried. Default: the stack's
        region. Other regions are reachable only if the network has a route to them (a created
        :class:`FunctionNetwork` has endpoints in its own region only).
    :param policy: compliance policy passed to the function and used for log retention.
        Default :data:`DEFAULT_POLICY`.
    :param schedule: when the job runs. Default :data:`DAILY_SCHEDULE` (06:00 UTC daily).
    :param reserved_concurrency: reserved concurrent executions (at least 1). Default 1: one
        run at a time, so two runs never race on the alert state.
    :param timeout: 1 second to 15 minutes. Default 10 minutes.
    :param memory_size: MiB, 128 to 10240. Default 1024.

    Attributes: ``function`` (lambda_.Function), ``role`` (its iam.Role), ``managed_policy``
    (the iam.ManagedPolicy holding every permission), ``log_group``, ``dead_letter_queue``
    (sqs.Queue, used by Lambda's asynchronous invocation and by the schedule target),
    ``rule`` (the events.Rule), ``alarms`` (dict: ``errors``, ``throttles``,
    ``dead_letter_queue``, ``heartbeat``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_name: str,
        network: FunctionNetwork,
        env_key: kms.IKey,
        logs_key: kms.IKey,
        alerts_key: kms.IKey,
        warning_topic: sns.ITopic,
        critical_topic: sns.ITopic,
        reports_bucket: s3.IBucket,
        reports_key: kms.IKey,
        alarm_topic: sns.ITopic,
        regions: Sequence[str] = (),
        policy: CompliancePolicy = DEFAULT_POLICY,
        schedule: events.Schedule = DAILY_SCHEDULE,
        reserved_concurrency: int = 1,
        timeout: cdk.Duration = cdk.Duration.minutes(10),  # noqa: B008 (immutable)
        memory_size: int = 1024,
    ) -> None:
        super().__init__(scope, id)
        _validate(environment_name, regions, reserved_concurrency, timeout, memory_size)
        self.environment_name = environment_name
        stack = cdk.Stack.of(self)
        region_list = list(dict.fromkeys(regions)) or [stack.region]
        if network.created:
            remote = [r for r in region_list if not _unresolved(r) and r != stack.region]
            if remote and not _unresolved(stack.region):
                cdk.Annotations.of(self).add_warning_v2(
                    "certwarden:remoteRegionsUnreachable",
                    f"regions {remote} are outside {stack.region}: the created VPC has "
                    "endpoints in its own region only; deploy per region or use a VPC with a "
                    "route to those endpoints",
                )

        # -- log group (KMS, retention from policy; not the log_retention prop) -------------
        self.log_group = function_log_group(
            self, environment_name=environment_name, key=logs_key, policy=policy
        )

        # -- dead-letter queue --------------------------------------------------------------
        self.dead_letter_queue = dead_letter_queue(self, key=alerts_key, owner="the watch function")
        if isinstance(alerts_key, kms.Key):
            # EventBridge needs the key to deliver failed events to the encrypted DLQ.
            allow_alarm_and_event_delivery(alerts_key)
        else:
            cdk.Annotations.of(self).add_warning_v2(
                "certwarden:importedAlertsKey",
                "alerts_key is imported: allow events.amazonaws.com kms:Decrypt and "
                "kms:GenerateDataKey* on it, or failed schedule events never reach the DLQ",
            )

        # -- role and its one managed policy ------------------------------------------------
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"CertWarden certificate watch ({environment_name})",
        )
        # Lambda's VPC attachment, scoped to the function's subnets and security group.
        vpc_statements = lambda_vpc_access_statements(
            self,
            subnets=selected_subnets(network.vpc, network.subnets),
            security_groups=[network.security_group],
        )
        self.managed_policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"CertWarden certificate watch ({environment_name}): least privilege",
            statements=self._statements(
                stack,
                vpc_statements,
                region_list,
                warning_topic,
                critical_topic,
                reports_bucket,
                reports_key,
                alerts_key,
            ),
            roles=[self.role],
        )
        acknowledge(
            cfn_resource(self.managed_policy),
            "AwsSolutions-IAM5[Resource::*]",
            "acm:ListCertificates and tag:GetResources support no resource-level permissions, "
            "nor do ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets, which Lambda's VPC "
            "attachment needs (the read actions of AWSLambdaVPCAccessExecutionRole).",
        )
        acknowledge_vpc_access_wildcards(cfn_resource(self.managed_policy), vpc_statements)
        account = "<AWS::AccountId>" if _unresolved(stack.account) else stack.account
        for region in region_list:
            acknowledge(
                cfn_resource(self.managed_policy),
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:"
                f"{'<AWS::Region>' if _unresolved(region) else region}"
                f":{account}:certificate/*]",
                "The job inventories and renews every ACM certificate of the account in this "
                "region, including ones created after deployment; scoped to certificates.",
            )
        acknowledge(
            cfn_resource(self.managed_policy),
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, reports_bucket.bucket_arn)}/reports/*]",
            "Each run writes its reports under reports/<date>/<run id>/, names known only at "
            "run time; limited to the reports/ prefix of the reports bucket.",
        )

        # -- function -----------------------------------------------------------------------
        environment = {
            **policy.to_environment(),
            contract.ENV_ENVIRONMENT: environment_name,
            contract.ENV_REGIONS: ",".join(region_list),
            contract.ENV_WARNING_TOPIC_ARN: warning_topic.topic_arn,
            contract.ENV_CRITICAL_TOPIC_ARN: critical_topic.topic_arn,
            contract.ENV_REPORTS_BUCKET: reports_bucket.bucket_name,
            contract.ENV_REPORTS_KMS_KEY_ID: reports_key.key_arn,
            contract.ENV_STATE_KEY: contract.DEFAULT_STATE_KEY,
            "POWERTOOLS_SERVICE_NAME": contract.SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": contract.METRICS_NAMESPACE,
        }
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"CertWarden certificate watch ({environment_name})",
            runtime=LAMBDA_RUNTIME,
            code=runtime_code(),
            handler=contract.WATCH_HANDLER,
            role=self.role,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            environment=environment,
            environment_encryption=env_key,
            log_group=self.log_group,
            vpc=network.vpc,
            vpc_subnets=network.subnets,
            security_groups=[network.security_group],
            retry_attempts=2,
            max_event_age=cdk.Duration.hours(6),
        )
        # The DLQ is set on the L1: the L2 prop would add an inline (DefaultPolicy) grant;
        # sqs:SendMessage is in the managed policy instead.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letter_queue.queue_arn
        )
        # Lambda checks the role's VPC and DLQ permissions when it creates the function.
        self.function.node.add_dependency(self.managed_policy)
        ignore_cfn_lint_rule(
            cfn_function,
            "W3005",
            "aws-cdk-lib's Function always adds DependsOn on its role; the GetAtt makes it "
            "redundant but harmless, and the managed-policy DependsOn beside it is needed",
        )

        # -- schedule -----------------------------------------------------------------------
        self.rule = events.Rule(
            self,
            "Schedule",
            description=f"Runs the CertWarden certificate watch ({environment_name})",
            schedule=schedule,
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=cdk.Duration.hours(12),
                )
            ],
        )

        # -- alarms -------------------------------------------------------------------------
        five_minutes = cdk.Duration.minutes(5)
        self.alarms: dict[str, cloudwatch.Alarm] = {
            "errors": self.function.metric_errors(
                period=five_minutes, statistic="Sum"
            ).create_alarm(
                self,
                "ErrorsAlarm",
                alarm_description=f"CertWarden certificate watch ({environment_name}) failed",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "throttles": self.function.metric_throttles(
                period=five_minutes, statistic="Sum"
            ).create_alarm(
                self,
                "ThrottlesAlarm",
                alarm_description=(
                    f"CertWarden certificate watch ({environment_name}) was throttled"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "dead_letter_queue": (
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=five_minutes, statistic="Maximum"
                ).create_alarm(
                    self,
                    "DeadLetterQueueAlarm",
                    alarm_description=(
                        f"CertWarden certificate watch ({environment_name}): events in the "
                        "dead-letter queue"
                    ),
                    threshold=0,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            ),
            # Hourly datapoints, all 26 breaching: no successful run in 26 hours. A missing
            # datapoint (no run) breaches, as does a run that published JobSucceeded=0.
            "heartbeat": self.metric_job_succeeded().create_alarm(
                self,
                "HeartbeatAlarm",
                alarm_description=(
                    f"CertWarden certificate watch ({environment_name}): no successful run in "
                    f"{HEARTBEAT_HOURS} hours"
                ),
                threshold=1,
                evaluation_periods=HEARTBEAT_HOURS,
                datapoints_to_alarm=HEARTBEAT_HOURS,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
        }
        action = cw_actions.SnsAction(alarm_topic)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

    # -- metrics -------------------------------------------------------------------------------
    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A custom metric of the job (namespace ``CertWarden``, dimension ``Environment``)."""
        options: dict[str, Any] = {"statistic": "Sum", "period": cdk.Duration.hours(1), **props}
        return cloudwatch.Metric(
            namespace=contract.METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={contract.DIMENSION_ENVIRONMENT: self.environment_name},
            **options,
        )

    def metric_job_succeeded(self, **props: Any) -> cloudwatch.Metric:
        """``JobSucceeded`` (1 per complete run; Sum over one hour by default)."""
        return self.metric(contract.METRIC_JOB_SUCCEEDED, **props)

    def metric_min_days_to_expiry(self, **props: Any) -> cloudwatch.Metric:
        """Fleet minimum days to expiry (Minimum over one day by default)."""
        return self.metric(
            contract.METRIC_MIN_DAYS_TO_EXPIRY,
            **{"statistic": "Minimum", "period": cdk.Duration.days(1), **props},
        )

    # -- policy --------------------------------------------------------------------------------
    def _statements(
        self,
        stack: cdk.Stack,
        vpc_statements: list[iam.PolicyStatement],
        regions: list[str],
        warning_topic: sns.ITopic,
        critical_topic: sns.ITopic,
        reports_bucket: s3.IBucket,
        reports_key: kms.IKey,
        alerts_key: kms.IKey,
    ) -> list[iam.PolicyStatement]:
        certificates = [
            stack.format_arn(
                service="acm",
                region=region,
                resource="certificate",
                resource_name="*",
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )
            for region in regions
        ]
        state_object = reports_bucket.arn_for_objects(contract.DEFAULT_STATE_KEY)
        via = {
            "s3": f"s3.{stack.region}.amazonaws.com",
            "sns": f"sns.{stack.region}.amazonaws.com",
            "sqs": f"sqs.{stack.region}.amazonaws.com",
        }
        return [
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            *vpc_statements,
            iam.PolicyStatement(
                sid="ListFleet",
                actions=["acm:ListCertificates", "tag:GetResources"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DescribeAndRenewCertificates",
                actions=["acm:DescribeCertificate", "acm:RenewCertificate"],
                resources=certificates,
            ),
            iam.PolicyStatement(
                sid="PublishAlerts",
                actions=["sns:Publish"],
                resources=[warning_topic.topic_arn, critical_topic.topic_arn],
            ),
            iam.PolicyStatement(
                sid="ReadAlertState",
                actions=["s3:GetObject"],
                resources=[state_object],
            ),
            iam.PolicyStatement(
                sid="WriteReportsAndAlertState",
                actions=["s3:PutObject"],
                resources=[reports_bucket.arn_for_objects("reports/*"), state_object],
            ),
            iam.PolicyStatement(
                sid="ListReportsBucket",
                actions=["s3:ListBucket"],
                resources=[reports_bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReportsEncryption",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[reports_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": via["s3"]}},
            ),
            iam.PolicyStatement(
                sid="AlertsEncryption",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[alerts_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": [via["sns"], via["sqs"]]}},
            ),
            iam.PolicyStatement(
                sid="DeadLetterQueue",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
            ),
        ]


def _validate(
    environment_name: str,
    regions: Sequence[str],
    reserved_concurrency: int,
    timeout: cdk.Duration,
    memory_size: int,
) -> None:
    if not _unresolved(environment_name) and not _ENV_NAME.match(environment_name):
        raise ValueError(
            f"environment_name {environment_name!r} must be lower-case letters, digits and '-', "
            "starting with a letter, at most 31 characters"
        )
    if isinstance(regions, str):
        raise ValueError("regions must be a sequence of region names, not one string")
    for region in regions:
        if not _unresolved(region) and not _REGION.match(region):
            raise ValueError(f"regions: {region!r} is not an AWS region name such as us-east-1")
    if reserved_concurrency < 1:
        raise ValueError(
            f"reserved_concurrency must be at least 1 (0 disables the function), "
            f"got {reserved_concurrency}"
        )
    if not timeout.is_unresolved():
        seconds = timeout.to_seconds()
        if not 1 <= seconds <= 900:
            raise ValueError(f"timeout must be 1 second to 15 minutes, got {seconds} seconds")
    if not 128 <= memory_size <= 10240:
        raise ValueError(f"memory_size must be 128 to 10240 MiB, got {memory_size}")
