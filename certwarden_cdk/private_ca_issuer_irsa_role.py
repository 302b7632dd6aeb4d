"""IAM role for aws-privateca-issuer's service account: issue from one private CA."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from certwarden_cdk._irsa import irsa_role

_CA_ARN = re.compile(
    r"^arn:aws[a-z-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/[0-9a-f-]{36}$"
)


class PrivateCaIssuerIrsaRole(Construct):
    """The role aws-privateca-issuer assumes through IRSA to sign cert-manager requests with
    the issuing (subordinate) CA.

    Its customer-managed policy allows ``acm-pca:IssueCertificate``, ``acm-pca:GetCertificate``
    and ``acm-pca:DescribeCertificateAuthority`` on that CA only, and refuses the CA
    templates (``RootCACertificate*``, ``SubordinateCACertificate*``): the role can issue leaf
    certificates, never another CA.

    :param oidc_provider_arn: the EKS cluster's IAM OIDC provider.
    :param certificate_authority_arn: the issuing CA; may be a token
        (``CfnCertificateAuthority.attr_arn``).
    :param oidc_issuer_url: the cluster's issuer URL; default: taken from the provider ARN.
    :param namespace: the issuer's namespace. Default ``aws-privateca-issuer``.
    :param service_account: its service account. Default ``aws-privateca-issuer``.
    :param role_name: a fixed role name (see :class:`CertManagerIrsaRole`). Default: generated.

    Attributes: ``role`` (:class:`aws_iam.Role`), ``policy`` (:class:`aws_iam.ManagedPolicy`).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        oidc_provider_arn: str,
        certificate_authority_arn: str,
        oidc_issuer_url: str | None = None,
        namespace: str = "aws-privateca-issuer",
        service_account: str = "aws-privateca-issuer",
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if not cdk.Token.is_unresolved(certificate_authority_arn) and not _CA_ARN.match(
            certificate_authority_arn
        ):
            raise ValueError(
                f"certificate_authority_arn {certificate_authority_arn!r} is not an ACM Private "
                "CA ARN (arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/UUID)"
            )
        partition = cdk.Stack.of(self).partition
        self.role, self.policy = irsa_role(
            self,
            description="aws-privateca-issuer (IRSA): leaf certificates from the issuing CA",
            oidc_provider_arn=oidc_provider_arn,
            oidc_issuer_url=oidc_issuer_url,
            namespace=namespace,
            service_account=service_account,
            role_name=role_name,
            statements=[
                iam.PolicyStatement(
                    sid="IssueLeafCertificates",
                    actions=["acm-pca:IssueCertificate"],
                    resources=[certificate_authority_arn],
                    conditions={
                        "StringNotLike": {
                            "acm-pca:TemplateArn": [
                                f"arn:{partition}:acm-pca:::template/RootCACertificate*",
                                f"arn:{partition}:acm-pca:::template/SubordinateCACertificate*",
                            ]
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="ReadIssuedAndCa",
                    actions=["acm-pca:GetCertificate", "acm-pca:DescribeCertificateAuthority"],
                    resources=[certificate_authority_arn],
                ),
            ],
        )
