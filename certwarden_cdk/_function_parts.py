"""Parts every CertWarden function has: its own KMS-encrypted log group kept for the policy's
retention, and a KMS-encrypted dead-letter queue for failed invocations and schedule events."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from certwarden_cdk._storage import log_retention_at_least
from certwarden_cdk.compliance import acknowledge
from certwarden_cdk.function_network import allow_log_group_encryption
from certwarden_runtime.policy import CompliancePolicy


def function_log_group(
    scope: Construct, *, environment_name: str, key: kms.IKey, policy: CompliancePolicy
) -> logs.LogGroup:
    """``/certwarden/<environment>/<unique name>``, encrypted with ``key`` (whose policy lets
    CloudWatch Logs use it for this group only), retained at least the policy's log retention.

    The group is created here rather than through the function's ``log_retention`` prop, which
    would add a framework Lambda to the stack."""
    log_group_name = (
        f"/certwarden/{environment_name}/"
        f"{cdk.Names.unique_resource_name(scope, max_length=200, separator='-')}"
    )
    log_group = logs.LogGroup(
        scope,
        "LogGroup",
        log_group_name=log_group_name,
        encryption_key=key,
        retention=log_retention_at_least(policy.log_retention_days),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    allow_log_group_encryption(scope, key, log_group_name)
    return log_group


def dead_letter_queue(scope: Construct, *, key: kms.IKey, owner: str) -> sqs.Queue:
    """A KMS-encrypted, TLS-only queue keeping failed events 14 days; ``owner`` names what it
    serves in the acknowledgement that it has no DLQ of its own."""
    queue = sqs.Queue(
        scope,
        "DeadLetterQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=cdk.Duration.hours(1),
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    cfn_queue = queue.node.default_child
    assert isinstance(cfn_queue, sqs.CfnQueue)
    acknowledge(
        cfn_queue,
        "AwsSolutions-SQS3",
        f"This queue is itself the dead-letter queue of {owner} and its schedule; a DLQ of a "
        "DLQ would only move the same failed events again.",
    )
    return queue
