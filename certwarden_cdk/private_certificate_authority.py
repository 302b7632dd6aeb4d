"""A two-tier AWS Private CA hierarchy (root + issuing CA) that ACM can issue from."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_acmpca as acmpca
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from certwarden_cdk import _storage
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

#: Actions ACM needs on the issuing CA to issue and renew private certificates.
ACM_PERMISSION_ACTIONS: tuple[str, ...] = ("IssueCertificate", "GetCertificate", "ListPermissions")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class PrivateCertificateAuthority(Construct):
    """A root CA that signs only one issuing (subordinate) CA, both activated in the stack.

    **Opt-in: AWS Private CA in general-purpose mode costs about $400 a month per CA, so this
    hierarchy costs about $800 a month** (plus per-certificate fees).

    * Root CA: ``policy.ca_key_algorithm`` (RSA_4096) / ``policy.ca_signing_algorithm``
      (SHA512WITHRSA), self-signed with the ``RootCACertificate/V1`` template, valid
      ``root_validity_years``.
    * Issuing CA: same algorithms, signed by the root with
      ``SubordinateCACertificate_PathLen0/V1`` (path length 0: it can sign only end-entity
      certificates), valid half the root's years; activated with the root's chain.
    * Activation through ``AWS::ACMPCA::Certificate`` +
      ``AWS::ACMPCA::CertificateAuthorityActivation`` (there is no L2).
    * Revocation: OCSP on, and a CRL expiring after ``policy.crl_validity_days`` written to a
      dedicated bucket (block public access, bucket-owner-enforced ownership, versioning,
      TLS-only, server access logs) with ``S3ObjectAcl: BUCKET_OWNER_FULL_CONTROL``, a bucket
      policy for ``acm-pca.amazonaws.com`` bound by ``aws:SourceAccount``/``aws:SourceArn``; both
      CAs depend on that policy. The bucket is private: publish the CRL to relying parties
      through CloudFront (origin access control) if they need it; OCSP needs nothing.
    * ``AWS::ACMPCA::Permission`` letting ``acm.amazonaws.com`` issue and renew private
      certificates from the issuing CA.

    :param common_name: subject CN of the root; the issuing CA gets ``<common_name> Issuing CA``.
        Required, 1-64 characters.
    :param organization: subject O. Required, 1-64 characters.
    :param country: subject C, two capital letters. Default: ``US``.
    :param root_validity_years: validity of the root certificate, 2-30. Default: 10.
    :param access_logs_bucket: destination of the CRL bucket's server access logs. Required.
    :param policy: compliance policy (algorithms, CRL validity, TLS). Default: ``DEFAULT_POLICY``.

    Exposes :attr:`root_ca`, :attr:`issuing_ca` (``CfnCertificateAuthority``),
    :attr:`issuing_ca_arn`, :attr:`certificate_authority` (``ICertificateAuthority`` for
    ``acm.PrivateCertificate``), :attr:`crl_bucket`, :attr:`root_activation`,
    :attr:`issuing_activation`, :attr:`acm_permission`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        common_name: str,
        organization: str,
        country: str = "US",
        root_validity_years: int = 10,
        access_logs_bucket: s3.IBucket,
        policy: CompliancePolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(scope, construct_id)
        _validate(common_name, organization, country, root_validity_years)
        stack = cdk.Stack.of(self)
        issuing_years = root_validity_years // 2

        self.crl_bucket = s3.Bucket(
            self,
            "CrlBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="crl/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-crls",
                    enabled=True,
                    noncurrent_version_expiration=cdk.Duration.days(policy.log_retention_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            **_storage.secure_bucket_props(policy),
        )
        # The CA ARNs are unknown until the CAs exist, and the CAs depend on this policy:
        # bind to this account's CAs by ARN pattern.
        ca_arns = (
            f"arn:{stack.partition}:acm-pca:{stack.region}:{stack.account}:certificate-authority/*"
        )
        self.crl_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AcmPcaWritesCrl",
                principals=[iam.ServicePrincipal("acm-pca.amazonaws.com")],
                actions=[
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                    "s3:GetBucketAcl",
                    "s3:GetBucketLocation",
                ],
                resources=[self.crl_bucket.bucket_arn, self.crl_bucket.arn_for_objects("*")],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": ca_arns},
                },
            )
        )
        self._acknowledge_crl_bucket()

        revocation = acmpca.CfnCertificateAuthority.RevocationConfigurationProperty(
            crl_configuration=acmpca.CfnCertificateAuthority.CrlConfigurationProperty(
                enabled=True,
                expiration_in_days=policy.crl_validity_days,
                s3_bucket_name=self.crl_bucket.bucket_name,
                s3_object_acl="BUCKET_OWNER_FULL_CONTROL",
            ),
            ocsp_configuration=acmpca.CfnCertificateAuthority.OcspConfigurationProperty(
                enabled=True
            ),
        )
        template = f"arn:{stack.partition}:acm-pca:::template"

        self.root_ca = self._authority(
            "RootCa", "ROOT", common_name, organization, country, revocation, policy
        )
        root_certificate = acmpca.CfnCertificate(
            self,
            "RootCaCertificate",
            certificate_authority_arn=self.root_ca.attr_arn,
            certificate_signing_request=self.root_ca.attr_certificate_signing_request,
            signing_algorithm=policy.ca_signing_algorithm,
            template_arn=f"{template}/RootCACertificate/V1",
            validity=acmpca.CfnCertificate.ValidityProperty(
                type="YEARS", value=root_validity_years
            ),
        )
        self.root_activation = acmpca.CfnCertificateAuthorityActivation(
            self,
            "RootCaActivation",
            certificate_authority_arn=self.root_ca.attr_arn,
            certificate=root_certificate.attr_certificate,
            status="ACTIVE",
        )

        self.issuing_ca = self._authority(
            "IssuingCa",
            "SUBORDINATE",
            f"{common_name} Issuing CA",
            organization,
            country,
            revocation,
            policy,
        )
        issuing_certificate = acmpca.CfnCertificate(
            self,
            "IssuingCaCertificate",
            certificate_authority_arn=self.root_ca.attr_arn,
            certificate_signing_request=self.issuing_ca.attr_certificate_signing_request,
            signing_algorithm=policy.ca_signing_algorithm,
            template_arn=f"{template}/SubordinateCACertificate_PathLen0/V1",
            validity=acmpca.CfnCertificate.ValidityProperty(type="YEARS", value=issuing_years),
        )
        issuing_certificate.node.add_dependency(self.root_activation)
        self.issuing_activation = acmpca.CfnCertificateAuthorityActivation(
            self,
            "IssuingCaActivation",
            certificate_authority_arn=self.issuing_ca.attr_arn,
            certificate=issuing_certificate.attr_certificate,
            certificate_chain=self.root_activation.attr_complete_certificate_chain,
            status="ACTIVE",
        )
        self.issuing_ca_arn: str = self.issuing_ca.attr_arn

        self.acm_permission = acmpca.CfnPermission(
            self,
            "AcmPermission",
            actions=list(ACM_PERMISSION_ACTIONS),
            certificate_authority_arn=self.issuing_ca.attr_arn,
            principal="acm.amazonaws.com",
            source_account=stack.account,
        )
        self.acm_permission.node.add_dependency(self.issuing_activation)
        self.certificate_authority = acmpca.CertificateAuthority.from_certificate_authority_arn(
            self, "IssuingCaRef", self.issuing_ca_arn
        )

    def _authority(
        self,
        construct_id: str,
        ca_type: str,
        common_name: str,
        organization: str,
        country: str,
        revocation: acmpca.CfnCertificateAuthority.RevocationConfigurationProperty,
        policy: CompliancePolicy,
    ) -> acmpca.CfnCertificateAuthority:
        authority = acmpca.CfnCertificateAuthority(
            self,
            construct_id,
            type=ca_type,
            key_algorithm=policy.ca_key_algorithm,
            signing_algorithm=policy.ca_signing_algorithm,
            usage_mode="GENERAL_PURPOSE",
            subject=acmpca.CfnCertificateAuthority.SubjectProperty(
                common_name=common_name, organization=organization, country=country
            ),
            revocation_configuration=revocation,
        )
        authority.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        assert self.crl_bucket.policy is not None
        authority.node.add_dependency(self.crl_bucket.policy)
        return authority

    def _acknowledge_crl_bucket(self) -> None:
        no_kms = (
            "a CRL is a signed public document relying parties must be able to fetch; SSE-S3 "
            "protects it at rest without a key policy that would block CloudFront and clients"
        )
        no_replication = (
            "the CRL is regenerated by AWS Private CA on every update and on revocation; a "
            "lost copy is rewritten, and OCSP answers revocation queries independently"
        )
        _storage.acknowledge_rules(self.crl_bucket, _storage.KMS_RULES, no_kms)
        _storage.acknowledge_rules(self.crl_bucket, _storage.REPLICATION_RULES, no_replication)


def _validate(common_name: str, organization: str, country: str, years: int) -> None:
    for prop, value in (("common_name", common_name), ("organization", organization)):
        if _storage.unresolved(value):
            continue
        if not 1 <= len(value.strip()) <= 64:
            raise ValueError(f"{prop} {value!r} must be 1-64 characters (X.509 upper bound)")
    if not _storage.unresolved(country) and not _COUNTRY.fullmatch(country):
        raise ValueError(f"country {country!r} must be a two-letter ISO 3166 code such as 'US'")
    if not 2 <= years <= 30:
        raise ValueError(
            f"root_validity_years {years} must be between 2 and 30 (the issuing CA gets half)"
        )
