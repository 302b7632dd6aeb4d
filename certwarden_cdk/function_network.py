"""The private network CertWarden's Lambda functions run in: an existing VPC or a new one.

Either :meth:`FunctionNetwork.from_existing` (a VPC given by attributes: no lookups, synth stays
offline) or ``FunctionNetwork(...)``, which creates a VPC with isolated subnets only (no NAT
gateway, no internet gateway), VPC flow logs to a KMS-encrypted log group kept as long as the
policy demands, interface endpoints (private DNS) for every AWS API the functions call and an
S3 gateway endpoint. Both give a security group for the functions whose only egress is HTTPS.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from certwarden_cdk._storage import log_retention_at_least
from certwarden_cdk.compliance import acknowledge, nag_arn
from certwarden_cdk.encryption_keys import allow_cloudwatch_logs
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

#: The AWS APIs the certificate-watch function calls from inside the VPC (S3 goes through the
#: gateway endpoint): ACM, the Resource Groups Tagging API (``tagging``), SNS, KMS (SSE-KMS
#: reports and encrypted topics), CloudWatch Logs. The function never assumes a role, so STS
#: is not needed.
WATCH_FUNCTION_ENDPOINTS: tuple[ec2.InterfaceVpcEndpointAwsService, ...] = (
    ec2.InterfaceVpcEndpointAwsService.CERTIFICATE_MANAGER,
    ec2.InterfaceVpcEndpointAwsService.TAGGING,
    ec2.InterfaceVpcEndpointAwsService.SNS,
    ec2.InterfaceVpcEndpointAwsService.KMS,
    ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
)

_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_PREFIX_LIST_ID = re.compile(r"^pl-[0-9a-f]{8,17}$")
_AZ = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d[a-z]$")


def _unresolved(value: object) -> bool:
    return isinstance(value, str) and cdk.Token.is_unresolved(value)


class FunctionNetwork(Construct):
    """A VPC, the subnets and the security group CertWarden's Lambda functions use.

    Created mode (this constructor): a new VPC with isolated subnets only (no NAT, no IGW),
    flow logs of all traffic to a KMS-encrypted CloudWatch log group, interface endpoints with
    private DNS for ``interface_endpoints`` and an S3 gateway endpoint. The functions' security
    group may send HTTPS (443) to the endpoints' security group and to S3 only; nothing else
    is reachable: the subnets have no route out of the VPC.

    The VPC's default security group cannot be closed without the CDK custom-resource Lambda
    (``restrict_default_security_group``), which CertWarden does not deploy; nothing uses it.

    :param logs_key: KMS key of the flow-log group. When it is an :class:`aws_kms.Key` of this
        app the CloudWatch Logs statement is added to its policy (scoped to this log group);
        for an imported key, add it yourself. Required.
    :param policy: compliance policy; ``log_retention_days`` sets the flow-log retention.
        Default :data:`DEFAULT_POLICY` (2192 days).
    :param interface_endpoints: interface endpoints to create. Default
        :data:`WATCH_FUNCTION_ENDPOINTS` (ACM, tagging, SNS, KMS, CloudWatch Logs).
    :param cidr: IPv4 CIDR of the VPC, ``/16`` to ``/24``. Default ``10.80.0.0/22``.
    :param max_azs: availability zones (1 to 6; one isolated subnet and one endpoint ENI each).
        Default 2.
    :param s3_prefix_list_id: the region's S3 managed prefix list (``pl-...``). When given, S3
        egress is limited to it; when not (the default, since synth makes no lookups), HTTPS
        egress is open to any IPv4 address, which in these isolated subnets reaches only the
        S3 gateway endpoint and the interface endpoints.

    Attributes: ``vpc`` (ec2.IVpc), ``subnets`` (ec2.SubnetSelection), ``security_group``
    (the functions' ec2.SecurityGroup); in created mode also ``endpoint_security_group``,
    ``flow_log``, ``flow_log_group`` and ``endpoints`` (service short name -> endpoint).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        logs_key: kms.IKey,
        policy: CompliancePolicy = DEFAULT_POLICY,
        interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService] = (
            WATCH_FUNCTION_ENDPOINTS
        ),
        cidr: str = "10.80.0.0/22",
        max_azs: int = 2,
        s3_prefix_list_id: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        _check_cidr(cidr)
        if not 1 <= max_azs <= 6:
            raise ValueError(f"max_azs must be 1..6, got {max_azs}")
        if s3_prefix_list_id is not None and not (
            _unresolved(s3_prefix_list_id) or _PREFIX_LIST_ID.match(s3_prefix_list_id)
        ):
            raise ValueError(
                f"s3_prefix_list_id {s3_prefix_list_id!r} is not a prefix list id (pl-...)"
            )
        self.created = True
        self.endpoints: dict[str, ec2.IVpcEndpoint] = {}

        flow_log_group_name = self._flow_log_group_name()
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            log_group_name=flow_log_group_name,
            encryption_key=logs_key,
            retention=log_retention_at_least(policy.log_retention_days),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        allow_log_group_encryption(self, logs_key, flow_log_group_name)

        subnet_name = "Functions"
        self.vpc: ec2.IVpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=subnet_name,
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=_subnet_mask(cidr, max_azs),
                )
            ],
            enable_dns_hostnames=True,
            enable_dns_support=True,
            # The restriction is a CDK custom-resource Lambda; CertWarden deploys none.
            restrict_default_security_group=False,
        )
        for rule in (
            "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
            "HIPAA.Security-VPCDefaultSecurityGroupClosed",
        ):
            acknowledge(
                cfn_resource(self.vpc),
                rule,
                "Closing the default security group needs the CDK custom-resource Lambda "
                "(restrictDefaultSecurityGroup) and CertWarden deploys no framework Lambdas; "
                "no resource in this VPC uses the default group and the subnets have no route "
                "out of the VPC.",
            )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account},
                },
            ),
            description="Lets VPC Flow Logs write this VPC's flow log group",
        )
        flow_log_policy = iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            description="VPC Flow Logs delivery to one log group",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
            roles=[flow_log_role],
        )
        self.flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            # Grants the L2 would add as an inline policy are in flow_log_policy instead.
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, flow_log_role.without_policy_updates()
            ),
        )
        self.flow_log.node.add_dependency(flow_log_policy)

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="CertWarden interface endpoints: HTTPS from the functions only",
            allow_all_outbound=False,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "FunctionSecurityGroup",
            vpc=self.vpc,
            description="CertWarden functions: HTTPS to the VPC endpoints only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp(443), "HTTPS from CertWarden functions"
        )
        self.security_group.add_egress_rule(
            self.endpoint_security_group, ec2.Port.tcp(443), "HTTPS to the interface endpoints"
        )
        self.security_group.add_egress_rule(
            ec2.Peer.prefix_list(s3_prefix_list_id) if s3_prefix_list_id else ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to S3 through the gateway endpoint (no other route leaves the VPC)",
        )

        for service in interface_endpoints:
            self.endpoints[service.short_name] = self.vpc.add_interface_endpoint(
                _endpoint_id(service.short_name),
                service=service,
                private_dns_enabled=True,
                subnets=self.subnets,
                security_groups=[self.endpoint_security_group],
                open=False,
            )
        self.endpoints["s3"] = self.vpc.add_gateway_endpoint(
            "S3Endpoint",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[self.subnets],
        )

    # -- existing VPC ------------------------------------------------------------------------
    @classmethod
    def from_existing(
        cls,
        scope: Construct,
        id: str,
        *,
        vpc_id: str,
        availability_zones: Sequence[str],
        private_subnet_ids: Sequence[str],
    ) -> FunctionNetwork:
        """Use an existing VPC given by attributes (no lookup; synth stays offline).

        The VPC must already give the functions a path to the AWS APIs they call (VPC
        endpoints or a NAT gateway): nothing is created in it except the functions' security
        group, whose only egress is HTTPS (443).

        :param vpc_id: ``vpc-...``.
        :param availability_zones: the zones of ``private_subnet_ids``, in the same order.
        :param private_subnet_ids: ``subnet-...``, one per zone (at least one).
        """
        return cls._existing(
            scope,
            id,
            vpc_id=vpc_id,
            availability_zones=tuple(availability_zones),
            private_subnet_ids=tuple(private_subnet_ids),
        )

    @classmethod
    def _existing(
        cls,
        scope: Construct,
        id: str,
        *,
        vpc_id: str,
        availability_zones: tuple[str, ...],
        private_subnet_ids: tuple[str, ...],
    ) -> FunctionNetwork:
        _check_existing(vpc_id, availability_zones, private_subnet_ids)
        self = cls.__new__(cls)
        Construct.__init__(self, scope, id)
        self.created = False
        self.endpoints = {}
        self.vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=vpc_id,
            availability_zones=list(availability_zones),
            private_subnet_ids=list(private_subnet_ids),
        )
        for subnet in self.vpc.private_subnets:
            # Only Lambda ENIs are placed in these subnets; nothing here adds routes to them.
            cdk.Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId",
                "CertWarden places function ENIs in the existing subnets and adds no routes",
            )
        self.subnets = ec2.SubnetSelection(subnets=self.vpc.private_subnets)
        self.security_group = ec2.SecurityGroup(
            self,
            "FunctionSecurityGroup",
            vpc=self.vpc,
            description="CertWarden functions: HTTPS out only",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to the AWS APIs (through this VPC's endpoints or NAT)",
        )
        return self

    # -- helpers -----------------------------------------------------------------------------
    def _flow_log_group_name(self) -> str:
        unique = cdk.Names.unique_resource_name(self, max_length=200, separator="-")
        return f"/certwarden/vpc-flow-logs/{unique}"


def allow_log_group_encryption(scope: Construct, key: kms.IKey, log_group_name: str) -> None:
    """Let CloudWatch Logs use ``key`` for the log group named ``log_group_name`` (a literal
    name, so the key policy does not reference the log group: no dependency cycle). For an
    imported key, whose policy cannot be edited here, add a synth warning instead."""
    if isinstance(key, kms.Key):
        allow_cloudwatch_logs(
            key,
            log_group_arn_pattern=cdk.Stack.of(scope).format_arn(
                service="logs",
                resource="log-group",
                resource_name=log_group_name,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
    else:
        cdk.Annotations.of(scope).add_warning_v2(
            "certwarden:importedLogsKey",
            "the logs key is imported: allow logs.<region>.amazonaws.com to use it for the log "
            f"group {log_group_name} (kms:EncryptionContext:aws:logs:arn), or delivery fails",
        )


def lambda_vpc_access_statements(
    scope: Construct,
    *,
    subnets: Sequence[ec2.ISubnet],
    security_groups: Sequence[ec2.ISecurityGroup],
) -> list[iam.PolicyStatement]:
    """What Lambda needs, through a function's role, to place the function's network interfaces
    in ``subnets`` with ``security_groups``: the actions of the AWS managed
    AWSLambdaVPCAccessExecutionRole, with every write action scoped to resources.

    - ``ec2:DescribeNetworkInterfaces``, ``ec2:DescribeSubnets``: ``*`` (describe actions have
      no resource-level permissions).
    - ``ec2:CreateNetworkInterface``: a new interface of this account and region, only in these
      subnets and only with these security groups. The subnets' account is ``*`` so that
      subnets shared through AWS RAM work; subnet ids are unique, so it widens nothing.
    - ``ec2:DeleteNetworkInterface``, ``ec2:AssignPrivateIpAddresses``,
      ``ec2:UnassignPrivateIpAddresses``: ``arn:<partition>:ec2:<region>:<account>:*/*``, the
      form the Lambda developer guide gives for DeleteNetworkInterface (these actions act on
      network interfaces only, so it means this account's interfaces in this region).
    """
    if not subnets:
        raise ValueError("subnets: a function in a VPC needs at least one subnet")
    if not security_groups:
        raise ValueError("security_groups: a function in a VPC needs at least one group")
    stack = cdk.Stack.of(scope)

    def ec2_arn(resource: str, name: str, account: str | None = None) -> str:
        return stack.format_arn(
            service="ec2",
            resource=resource,
            resource_name=name,
            account=account,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    return [
        iam.PolicyStatement(
            sid="DescribeVpcAttachment",
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="CreateFunctionNetworkInterfaces",
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                ec2_arn("network-interface", "*"),
                *(ec2_arn("subnet", subnet.subnet_id, account="*") for subnet in subnets),
                *(ec2_arn("security-group", group.security_group_id) for group in security_groups),
            ],
        ),
        iam.PolicyStatement(
            sid="ManageFunctionNetworkInterfaces",
            actions=[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=[stack.format_arn(service="ec2", resource="*", resource_name="*")],
        ),
    ]


def selected_subnets(
    vpc: ec2.IVpc, selection: ec2.SubnetSelection | None = None
) -> list[ec2.ISubnet]:
    """The subnets of ``vpc`` that ``selection`` picks (the VPC's default when None), as a
    Lambda function given ``vpc_subnets=selection`` places its network interfaces."""
    s = selection or ec2.SubnetSelection()
    return list(
        vpc.select_subnets(
            availability_zones=s.availability_zones,
            one_per_az=s.one_per_az,
            subnet_filters=s.subnet_filters,
            subnet_group_name=s.subnet_group_name,
            subnet_type=s.subnet_type,
            subnets=s.subnets,
        ).subnets
    )


#: Why the scoped VPC statements still hold wildcards (cdk-nag IAM5 acknowledgements).
LAMBDA_VPC_ACCESS_REASON = (
    "Lambda's VPC attachment: the describe actions support no resource-level permissions, "
    "Lambda names the network interfaces it creates and deletes itself, and a subnet's owner "
    "account may be another (RAM-shared) one; create is limited to the function's subnets "
    "and security groups, delete to this account's interfaces in this region."
)


def acknowledge_vpc_access_wildcards(
    policy_resource: IConstruct, statements: Sequence[iam.PolicyStatement]
) -> None:
    """Acknowledge, on the policy holding :func:`lambda_vpc_access_statements`, each scoped
    resource of theirs that still has a wildcard (one granular IAM5 finding each)."""
    stack = cdk.Stack.of(policy_resource)
    for statement in statements:
        for resource in statement.resources:
            if resource != "*" and "*" in resource:
                acknowledge(
                    policy_resource,
                    f"AwsSolutions-IAM5[Resource::{nag_arn(stack, resource)}]",
                    LAMBDA_VPC_ACCESS_REASON,
                )


def cfn_resource(construct: IConstruct) -> IConstruct:
    """The CloudFormation resource of an L2 (acknowledgements name that resource only)."""
    child = construct.node.default_child
    assert child is not None, construct.node.path
    return child


def _endpoint_id(short_name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", short_name)) + (
        "Endpoint"
    )


def _check_cidr(cidr: str) -> None:
    if _unresolved(cidr):
        raise ValueError("cidr must be a literal IPv4 CIDR such as 10.80.0.0/22, not a token")
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError:
        raise ValueError(f"cidr {cidr!r} is not an IPv4 CIDR such as 10.80.0.0/22") from None
    if not 16 <= network.prefixlen <= 24:
        raise ValueError(f"cidr {cidr!r} must be a /16 to /24 network")


def _subnet_mask(cidr: str, max_azs: int) -> int:
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    bits = max(1, (max_azs - 1).bit_length())
    return min(28, prefix + bits)


def _check_existing(
    vpc_id: str, availability_zones: tuple[str, ...], private_subnet_ids: tuple[str, ...]
) -> None:
    if not _unresolved(vpc_id) and not _VPC_ID.match(vpc_id):
        raise ValueError(f"vpc_id {vpc_id!r} is not a VPC id (vpc- and 8 or 17 hex digits)")
    if not private_subnet_ids:
        raise ValueError("private_subnet_ids must name at least one subnet")
    for subnet in private_subnet_ids:
        if not _unresolved(subnet) and not _SUBNET_ID.match(subnet):
            raise ValueError(
                f"private_subnet_ids: {subnet!r} is not a subnet id (subnet- and hex digits)"
            )
    for zone in availability_zones:
        if not _unresolved(zone) and not _AZ.match(zone):
            raise ValueError(
                f"availability_zones: {zone!r} is not an availability zone such as us-east-1a"
            )
    if len(availability_zones) != len(private_subnet_ids):
        raise ValueError(
            "availability_zones and private_subnet_ids must have the same length (one subnet "
            f"per zone), got {len(availability_zones)} zones and {len(private_subnet_ids)} "
            "subnets"
        )
