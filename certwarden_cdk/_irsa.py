"""IAM Roles for Service Accounts (IRSA): the web-identity trust shared by the IRSA roles."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

_PROVIDER_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/(?P<issuer>[A-Za-z0-9./-]+)$"
)
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def oidc_issuer(oidc_provider_arn: str, oidc_issuer_url: str | None) -> str:
    """The issuer as IAM condition keys spell it (``oidc.eks.REGION.amazonaws.com/id/ID``)."""
    if oidc_issuer_url is not None:
        if cdk.Token.is_unresolved(oidc_issuer_url):
            raise ValueError(
                "oidc_issuer_url must be a plain string (it becomes an IAM condition key), "
                "not a token"
            )
        issuer = oidc_issuer_url.removeprefix("https://").rstrip("/")
    else:
        match = (
            None
            if cdk.Token.is_unresolved(oidc_provider_arn)
            else _PROVIDER_ARN.match(oidc_provider_arn)
        )
        if match is None:
            raise ValueError(
                f"oidc_provider_arn {oidc_provider_arn!r} is not an IAM OIDC provider ARN "
                "(arn:aws:iam::ACCOUNT:oidc-provider/ISSUER); pass oidc_issuer_url when the ARN "
                "is a token"
            )
        issuer = match.group("issuer")
    if not re.fullmatch(r"[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*", issuer):
        raise ValueError(f"oidc_issuer_url {oidc_issuer_url!r} is not an OIDC issuer URL")
    return issuer


def service_account_principal(
    *,
    oidc_provider_arn: str,
    oidc_issuer_url: str | None,
    namespace: str,
    service_account: str,
) -> iam.WebIdentityPrincipal:
    """Only ``system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT`` tokens for STS may assume."""
    for prop, value in (("namespace", namespace), ("service_account", service_account)):
        if not _K8S_NAME.match(value):
            raise ValueError(f"{prop} {value!r} is not a Kubernetes name (lower-case DNS label)")
    issuer = oidc_issuer(oidc_provider_arn, oidc_issuer_url)
    return iam.WebIdentityPrincipal(
        oidc_provider_arn,
        conditions={
            "StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }
        },
    )


def irsa_role(
    scope: Construct,
    *,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    oidc_provider_arn: str,
    oidc_issuer_url: str | None,
    namespace: str,
    service_account: str,
    role_name: str | None,
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """``scope/Role`` trusted by one service account, with its permissions in
    ``scope/Policy``, a customer-managed policy (no inline policies); one-hour sessions."""
    role = iam.Role(
        scope,
        "Role",
        role_name=role_name,
        description=description,
        assumed_by=service_account_principal(
            oidc_provider_arn=oidc_provider_arn,
            oidc_issuer_url=oidc_issuer_url,
            namespace=namespace,
            service_account=service_account,
        ),
        max_session_duration=cdk.Duration.hours(1),
    )
    policy = iam.ManagedPolicy(
        scope, "Policy", description=description, roles=[role], statements=list(statements)
    )
    return role, policy
