"""The scheduled TLS scanner Lambda: scans the environment's endpoints against the policy.

The function runs :data:`certwarden_runtime.scanner.contract.SCANNER_HANDLER` on a schedule
(EventBridge): it scans every target (protocols, cipher suites, certificate chain), writes a
JSON and a CSV report to the reports bucket (SSE-KMS), sends one SNS alert per run listing the
HIGH/CRITICAL endpoints and emits one metric per rating (``TlsEndpointsSecure`` ...
``TlsEndpointsCritical``, namespace ``CertWarden``, dimension ``Environment``).

Its asset is the ``certwarden_runtime`` package plus sslyze and its native wheels (nassl,
cryptography, pydantic-core) for CPython 3.14 on manylinux x86_64, installed at synth time
*offline* from the wheelhouse ``make setup`` fills (``scripts/build-lambda-wheelhouse.sh``):
no Docker, no network at synth.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from certwarden_cdk._cfn_lint import ignore_cfn_lint_rule
from certwarden_cdk._checkov import skip_checkov_check
from certwarden_cdk._function_parts import dead_letter_queue, function_log_group
from certwarden_cdk.compliance import acknowledge, nag_arn
from certwarden_cdk.function_network import (
    acknowledge_vpc_access_wildcards,
    cfn_resource,
    lambda_vpc_access_statements,
    selected_subnets,
)
from certwarden_cdk.lambda_bundling import LAMBDA_RUNTIME, bundle_into
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy
from certwarden_runtime.scanner import contract
from certwarden_runtime.scanner.models import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    Target,
)
from certwarden_runtime.scanner.targets import targets_to_json

#: Daily at 05:30 UTC (before the certificate watch at 06:00).
DAILY_SCAN_SCHEDULE = events.Schedule.cron(minute="30", hour="5")
#: ``make setup`` fills this (relative to the repository root).
DEFAULT_WHEELHOUSE = Path(__file__).resolve().parent.parent / "build" / "lambda-wheelhouse"
#: Lambda's environment variables may hold 4 KiB in all.
_MAX_TARGETS_JSON = 3000
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
#: The Lambda platform the wheels are installed for.
PIP_PLATFORM_ARGS: tuple[str, ...] = (
    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
    "--python-version", "3.14", "--implementation", "cp",
    "--abi", "cp314", "--abi", "abi3", "--abi", "none",
)  # fmt: skip


class ScanTargetLike(Protocol):
    """What a target needs (``cdk_app.config.ScanTarget`` fits; ``type``/``compliance``
    are optional)."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def sni(self) -> str | None: ...


def _as_target(raw: ScanTargetLike) -> Target:
    return Target(
        host=raw.host,
        port=int(raw.port),
        name=raw.name,
        sni=raw.sni,
        type=getattr(raw, "type", None) or "https",
        compliance=getattr(raw, "compliance", None) or "",
    )


# -- bundling ---------------------------------------------------------------------------------
def wheelhouse_requirements(wheelhouse: Path) -> Path:
    return wheelhouse / "requirements-scanner.txt"


def check_wheelhouse(wheelhouse: Path) -> None:
    if (
        not (wheelhouse / ".complete").is_file()
        or not wheelhouse_requirements(wheelhouse).is_file()
    ):
        raise ValueError(
            f"wheelhouse {wheelhouse}: not built; run `make setup` (scripts/"
            "build-lambda-wheelhouse.sh downloads the scanner's manylinux wheels once)"
        )


def install_scanner_packages(output_dir: str | Path, wheelhouse: Path) -> None:
    """pip-install the scanner's wheels for the Lambda platform into ``output_dir``, offline."""
    check_wheelhouse(wheelhouse)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-index", "--find-links", str(wheelhouse), "--only-binary=:all:",
        *PIP_PLATFORM_ARGS, "--no-compile", "--target", str(output_dir),
        "-r", str(wheelhouse_requirements(wheelhouse)),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"installing the scanner's wheels from {wheelhouse} failed: {result.stderr.strip()}"
        )
    for cache in Path(output_dir).rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


@jsii.implements(cdk.ILocalBundling)
class ScannerLocalBundling:
    """Runtime package (+ powertools) copied, sslyze & co. installed from the wheelhouse."""

    def __init__(self, wheelhouse: Path) -> None:
        self.wheelhouse = wheelhouse

    # jsii passes the BundlingOptions struct positionally.
    def try_bundle(self, output_dir: str, options: Any = None, **_: Any) -> bool:
        bundle_into(output_dir)
        install_scanner_packages(output_dir, self.wheelhouse)
        return True


def scanner_code(wheelhouse: Path = DEFAULT_WHEELHOUSE) -> lambda_.Code:
    """The scanner's Lambda code; its asset hash covers the runtime sources and the wheels."""
    check_wheelhouse(wheelhouse)
    from certwarden_cdk.lambda_bundling import runtime_package_dir

    digest = hashlib.sha256()
    package = runtime_package_dir()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    for wheel in sorted(wheelhouse.glob("*.whl")):
        digest.update(wheel.name.encode())
    digest.update(wheelhouse_requirements(wheelhouse).read_bytes())
    return lambda_.Code.from_asset(
        str(package),
        asset_hash=digest.hexdigest(),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(
            image=LAMBDA_RUNTIME.bundling_image,
            local=cast(cdk.ILocalBundling, ScannerLocalBundling(wheelhouse)),
        ),
    )


# -- the construct ----------------------------------------------------------------------------
class TlsScannerFunction(Construct):
    """Scheduled TLS scanner: function, schedule, dead-letter queue, log group, least privilege.

    :param environment_name: CertWarden environment (lower-case letters, digits, ``-``); the
        ``Environment`` dimension of the metrics and part of the report keys. Required.
    :param targets: endpoints to scan (``cdk_app.config.ScanTarget`` objects or anything with
        ``name``, ``host``, ``port``, ``sni``). At least one. Required.
    :param reports_bucket: where the reports go (``<reports_prefix>/<env>/<yyyy/mm/dd>/``).
    :param encryption_key: KMS key of the environment variables, the log group and the DLQ.
    :param alert_topic: SNS topic for the one alert per run about HIGH/CRITICAL endpoints.
    :param reports_key: SSE-KMS key for the reports. Default ``encryption_key``.
    :param alerts_key: KMS key of ``alert_topic`` (for kms:GenerateDataKey when publishing).
        Default ``encryption_key``.
    :param policy: compliance policy (passed to the function; log retention). Default
        :data:`DEFAULT_POLICY`.
    :param vpc: run in this VPC (its subnets need a route to the targets and to S3/SNS, e.g.
        a NAT gateway). Default: no VPC (the function reaches public endpoints directly; the
        HIPAA/NIST "Lambda inside VPC" rules are acknowledged, and checkov's ``CKV_AWS_117``
        skipped, with that reason).
    :param vpc_subnets: subnets within ``vpc``. Default: the VPC's private subnets.
    :param schedule: Default :data:`DAILY_SCAN_SCHEDULE`.
    :param scan_timeout_seconds: per network step (0 < t <= 10). Default 5.
    :param scan_concurrency: endpoints scanned at once (1..64). Default 8.
    :param reports_prefix: key prefix of the reports. Default ``tls-scans``.
    :param reserved_concurrency: Default 1 (one run at a time).
    :param timeout: function timeout. Default 10 minutes.
    :param memory_size: MiB. Default 1024.
    :param wheelhouse: where ``make setup`` put the Lambda wheels. Default
        ``build/lambda-wheelhouse`` of this repository.

    Attributes: ``function``, ``role``, ``managed_policy``, ``log_group``,
    ``dead_letter_queue``, ``rule``, ``security_group`` (None outside a VPC).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_name: str,
        targets: Sequence[ScanTargetLike],
        reports_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        alert_topic: sns.ITopic,
        reports_key: kms.IKey | None = None,
        alerts_key: kms.IKey | None = None,
        policy: CompliancePolicy = DEFAULT_POLICY,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        schedule: events.Schedule = DAILY_SCAN_SCHEDULE,
        scan_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        scan_concurrency: int = DEFAULT_CONCURRENCY,
        reports_prefix: str = contract.DEFAULT_REPORTS_PREFIX,
        reserved_concurrency: int = 1,
        timeout: cdk.Duration = cdk.Duration.minutes(10),  # noqa: B008 (immutable)
        memory_size: int = 1024,
        wheelhouse: str | Path = DEFAULT_WHEELHOUSE,
    ) -> None:
        super().__init__(scope, id)
        scan_targets = [_as_target(t) for t in targets]
        targets_json = targets_to_json(scan_targets)
        _validate(
            environment_name,
            scan_targets,
            targets_json,
            scan_timeout_seconds,
            scan_concurrency,
            reports_prefix,
            reserved_concurrency,
            vpc,
            vpc_subnets,
        )
        reports_key = reports_key or encryption_key
        alerts_key = alerts_key or encryption_key
        stack = cdk.Stack.of(self)
        self.environment_name = environment_name
        prefix = reports_prefix.strip("/")

        # -- log group: KMS, retention from the policy -------------------------------------
        self.log_group = function_log_group(
            self, environment_name=environment_name, key=encryption_key, policy=policy
        )

        # -- dead-letter queue ---------------------------------------------------------------
        self.dead_letter_queue = dead_letter_queue(
            self, key=encryption_key, owner="the TLS scanner"
        )

        # -- network -------------------------------------------------------------------------
        self.security_group: ec2.SecurityGroup | None = None
        if vpc is not None:
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=vpc,
                description=f"CertWarden TLS scanner ({environment_name}): egress to targets",
                allow_all_outbound=False,
            )
            ports = sorted({t.port for t in scan_targets} | {443})
            for port in ports:
                self.security_group.add_egress_rule(
                    ec2.Peer.any_ipv4(),
                    ec2.Port.tcp(port),
                    f"TLS to scan targets / AWS APIs on {port}",
                )

        # -- role and its one managed policy --------------------------------------------------
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"CertWarden TLS scanner ({environment_name})",
        )
        reports_objects = reports_bucket.arn_for_objects(f"{prefix}/{environment_name}/*")
        statements = [
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="WriteScanReports", actions=["s3:PutObject"], resources=[reports_objects]
            ),
            iam.PolicyStatement(
                sid="ReportsEncryption",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[reports_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="PublishAlert", actions=["sns:Publish"], resources=[alert_topic.topic_arn]
            ),
            iam.PolicyStatement(
                sid="AlertsAndQueueEncryption",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=list(dict.fromkeys([alerts_key.key_arn, encryption_key.key_arn])),
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"sns.{stack.region}.amazonaws.com",
                            f"sqs.{stack.region}.amazonaws.com",
                        ]
                    }
                },
            ),
            iam.PolicyStatement(
                sid="EnvironmentDecryption",
                actions=["kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"lambda.{stack.region}.amazonaws.com"}
                },
            ),
            iam.PolicyStatement(
                sid="DeadLetterQueue",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
            ),
        ]
        vpc_statements: list[iam.PolicyStatement] = []
        if vpc is not None:
            assert self.security_group is not None
            # Lambda's VPC attachment, scoped to the function's subnets and security group.
            vpc_statements = lambda_vpc_access_statements(
                self,
                subnets=selected_subnets(vpc, vpc_subnets),
                security_groups=[self.security_group],
            )
            statements.extend(vpc_statements)
        self.managed_policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"CertWarden TLS scanner ({environment_name}): least privilege",
            statements=statements,
            roles=[self.role],
        )
        policy_resource = cfn_resource(self.managed_policy)
        acknowledge(
            policy_resource,
            f"AwsSolutions-IAM5[Resource::{nag_arn(stack, reports_objects)}]",
            "Each run writes two reports whose keys carry the run date and time; limited to "
            f"the {prefix}/{environment_name}/ prefix of the reports bucket.",
        )
        if vpc is not None:
            acknowledge(
                policy_resource,
                "AwsSolutions-IAM5[Resource::*]",
                "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets, which Lambda's VPC "
                "attachment needs, support no resource-level permissions.",
            )
        acknowledge_vpc_access_wildcards(policy_resource, vpc_statements)

        # -- function ------------------------------------------------------------------------
        environment = {
            **policy.to_environment(),
            contract.ENV_ENVIRONMENT: environment_name,
            contract.ENV_SCAN_TARGETS: targets_json,
            contract.ENV_SCAN_TIMEOUT: f"{scan_timeout_seconds:g}",
            contract.ENV_SCAN_CONCURRENCY: str(scan_concurrency),
            contract.ENV_SCAN_ALERT_TOPIC_ARN: alert_topic.topic_arn,
            contract.ENV_SCAN_REPORTS_PREFIX: prefix,
            contract.ENV_REPORTS_BUCKET: reports_bucket.bucket_name,
            contract.ENV_REPORTS_KMS_KEY_ID: reports_key.key_arn,
        }
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"CertWarden TLS scanner ({environment_name})",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            code=scanner_code(Path(wheelhouse)),
            handler=contract.SCANNER_HANDLER,
            role=self.role,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            environment=environment,
            environment_encryption=encryption_key,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=vpc_subnets if vpc is not None else None,
            security_groups=[self.security_group] if self.security_group else None,
            retry_attempts=0,
            max_event_age=cdk.Duration.hours(6),
        )
        # DLQ on the L1: the L2 prop would add an inline (DefaultPolicy) grant.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letter_queue.queue_arn
        )
        self.function.node.add_dependency(self.managed_policy)
        ignore_cfn_lint_rule(
            cfn_function,
            "W3005",
            "aws-cdk-lib's Function always adds DependsOn on its role; the GetAtt makes it "
            "redundant but harmless, and the managed-policy DependsOn beside it is needed",
        )
        if vpc is None:
            reason = (
                "The TLS scanner must reach the endpoints it scans, which are public, so it "
                "is deployed outside any VPC, in the Lambda service network, with no inbound "
                "path; the certificate-watch function, which handles inventory data, runs in "
                "the VPC."
            )
            for rule in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
                acknowledge(cfn_function, rule, reason)
            skip_checkov_check(cfn_function, "CKV_AWS_117", reason)

        # -- schedule ------------------------------------------------------------------------
        self.rule = events.Rule(
            self,
            "Schedule",
            description=f"Runs the CertWarden TLS scanner ({environment_name})",
            schedule=schedule,
            targets=[
                event_targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.hours(6),
                )
            ],
        )


def _validate(
    environment_name: str,
    targets: Sequence[Target],
    targets_json: str,
    scan_timeout_seconds: float,
    scan_concurrency: int,
    reports_prefix: str,
    reserved_concurrency: int,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
) -> None:
    if not _ENV_NAME.match(environment_name):
        raise ValueError(
            f"environment_name {environment_name!r}: lower-case letters, digits and '-', "
            "starting with a letter, at most 31 characters"
        )
    if not targets:
        raise ValueError("targets: at least one scan target is required")
    if len(targets_json) > _MAX_TARGETS_JSON:
        raise ValueError(
            f"targets: {len(targets)} targets take {len(targets_json)} bytes of environment; "
            f"at most {_MAX_TARGETS_JSON} fit in the function's 4 KiB environment"
        )
    names = [t.name for t in targets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"targets: names must be unique, repeated: {', '.join(duplicates)}")
    if not 0 < scan_timeout_seconds <= 10:
        raise ValueError(f"scan_timeout_seconds {scan_timeout_seconds}: must be > 0 and <= 10")
    if not 1 <= scan_concurrency <= 64:
        raise ValueError(f"scan_concurrency {scan_concurrency}: must be 1..64")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9/_.-]{0,100}", reports_prefix.strip("/")):
        raise ValueError(
            f"reports_prefix {reports_prefix!r}: letters, digits, '/', '_', '.', '-' only"
        )
    if reserved_concurrency < 1:
        raise ValueError(f"reserved_concurrency {reserved_concurrency}: must be at least 1")
    if vpc_subnets is not None and vpc is None:
        raise ValueError("vpc_subnets: given without vpc; pass the VPC they belong to")
