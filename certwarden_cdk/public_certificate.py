"""``PublicCertificate``: a DNS-validated public ACM certificate for names in one Route 53 zone."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_route53 as route53
from constructs import Construct

from certwarden_cdk._checkov import skip_checkov_check
from certwarden_runtime.policy import (
    ACM_PUBLIC_KEY_ALGORITHMS,
    DEFAULT_POLICY,
    CompliancePolicy,
    PolicyError,
)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(\*\.)?({_LABEL}\.)+[a-z0-9-]{{2,63}}$")
_ZONE_RE = re.compile(rf"^({_LABEL}\.)+[a-z0-9-]{{2,63}}$")
_ZONE_ID_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")
#: ACM's hard limit on names in one certificate (the default quota is 10).
MAX_DOMAIN_NAMES = 100
#: ACM's limit on the length of the first name (the certificate's common name).
MAX_COMMON_NAME_LENGTH = 64


def allowed_public_key_algorithms(policy: CompliancePolicy) -> tuple[str, ...]:
    """Key algorithms that both meet ``policy`` and ACM issues for public certificates."""
    return tuple(a for a in policy.allowed_key_algorithms if a in ACM_PUBLIC_KEY_ALGORITHMS)


class PublicCertificate(Construct):
    """A public ACM certificate validated through DNS records in an existing Route 53 zone.

    The zone is referenced by attributes (no lookup: synth stays offline) and CloudFormation
    creates the validation records itself. An apex name and its wildcard (``example.org`` and
    ``*.example.org``) share one validation CNAME, so only one ``DomainValidationOption`` is
    rendered for them. Renewal is automatic as long as the records stay in the zone.

    :param domain_names: names on the certificate; the first one is the common name (at most
        64 characters), the rest are subject alternative names. Each must be the zone's name or
        inside it; a leading ``*.`` is allowed. Duplicates (case-insensitive) are dropped.
        Required, 1 to 100 names. A wildcard name is the caller's explicit choice: checkov's
        "no wildcard certificate" check (``CKV2_AWS_71``) is then skipped on this certificate
        with the names in the reason (the certificate is never exportable, so its private key
        stays in ACM and is not copied from host to host).
    :param hosted_zone_id: the Route 53 hosted zone id, e.g. ``Z0PRODEXAMPLE0001``. Required.
    :param hosted_zone_name: the zone's name, e.g. ``example.org``. Required.
    :param key_algorithm: ACM key algorithm name. Must be allowed by ``policy`` and issuable
        publicly by ACM (``RSA_2048``, ``EC_prime256v1``, ``EC_secp384r1``).
        Default: ``policy.default_key_algorithm`` (``EC_prime256v1``).
    :param policy: the compliance policy. Default: ``DEFAULT_POLICY``.
    :param transparency_logging: log the certificate to public certificate transparency logs.
        Default: ``True``. ``False`` renders ``DISABLED``, which the ``CertWarden-ACM2`` synth
        check rejects unless acknowledged on this certificate with a reason.

    :raises ValueError: naming the prop and the allowed values when a prop is invalid.
        Checks are skipped for unresolved tokens.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_names: Sequence[str],
        hosted_zone_id: str,
        hosted_zone_name: str,
        key_algorithm: str | None = None,
        policy: CompliancePolicy = DEFAULT_POLICY,
        transparency_logging: bool = True,
    ) -> None:
        super().__init__(scope, id)
        zone_name = _validate_zone_name(hosted_zone_name)
        _validate_zone_id(hosted_zone_id)
        names = _validate_domain_names(domain_names, zone_name)
        algorithm = key_algorithm if key_algorithm is not None else policy.default_key_algorithm
        _validate_key_algorithm(algorithm, policy)

        self.policy = policy
        #: The names on the certificate, de-duplicated, common name first.
        self.domain_names: tuple[str, ...] = names
        #: The ACM key algorithm name (``EC_prime256v1``...).
        self.key_algorithm: str = algorithm
        #: The zone holding the validation records (imported by attributes).
        self.hosted_zone: route53.IHostedZone = route53.HostedZone.from_hosted_zone_attributes(
            self, "HostedZone", hosted_zone_id=hosted_zone_id, zone_name=zone_name
        )
        #: The ACM certificate (L2).
        self.certificate: acm.Certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=names[0],
            subject_alternative_names=list(names[1:]) or None,
            validation=acm.CertificateValidation.from_dns(self.hosted_zone),
            key_algorithm=acm.KeyAlgorithm(algorithm),
            transparency_logging_enabled=transparency_logging,
        )
        #: The certificate's ARN (a token).
        self.certificate_arn: str = self.certificate.certificate_arn
        wildcards = [name for name in names if name.startswith("*.")]
        if wildcards:
            cfn_certificate = self.certificate.node.default_child
            assert isinstance(cfn_certificate, acm.CfnCertificate)
            skip_checkov_check(
                cfn_certificate,
                "CKV2_AWS_71",
                f"wildcard name(s) {', '.join(wildcards)} requested explicitly in domain_names; "
                "the certificate is not exportable, so its private key stays in ACM and the "
                "services it is attached to, never copied to the hosts the wildcard covers",
            )

    def metric_days_to_expiry(self, *, label: str | None = None) -> cloudwatch.Metric:
        """``AWS/CertificateManager DaysToExpiry`` of this certificate: statistic Minimum over
        one day, as ACM publishes it (once a day, until expiry). Alarm on it with
        ``TreatMissingData.BREACHING``: ACM stops publishing when the certificate expires."""
        return self.certificate.metric_days_to_expiry(
            period=cdk.Duration.days(1), statistic=cloudwatch.Stats.MINIMUM, label=label
        )


def _validate_zone_name(name: str) -> str:
    if cdk.Token.is_unresolved(name):
        raise ValueError(
            "hosted_zone_name must be a literal zone name such as 'example.org' (it is used to "
            "check that every domain name is inside the zone), got a token"
        )
    normalized = name.strip().lower().rstrip(".")
    if not _ZONE_RE.match(normalized) or len(normalized) > 253:
        raise ValueError(
            f"hosted_zone_name {name!r} is not a DNS zone name; allowed: dot-separated labels of "
            "letters, digits and hyphens, such as 'example.org'"
        )
    return normalized


def _validate_zone_id(zone_id: str) -> None:
    if cdk.Token.is_unresolved(zone_id):
        return
    if not _ZONE_ID_RE.match(zone_id):
        raise ValueError(
            f"hosted_zone_id {zone_id!r} is not a Route 53 hosted zone id; allowed: 'Z' followed "
            "by 1-31 upper-case letters or digits, e.g. 'Z0PRODEXAMPLE0001' (without "
            "'/hostedzone/')"
        )


def _validate_domain_names(domain_names: Sequence[str], zone_name: str) -> tuple[str, ...]:
    if isinstance(domain_names, str):
        raise ValueError(
            f"domain_names must be a list of names, got the string {domain_names!r}; "
            f"write [{domain_names!r}]"
        )
    names: list[str] = []
    seen: set[str] = set()
    for name in domain_names:
        if cdk.Token.is_unresolved(name):
            names.append(name)
            continue
        normalized = name.strip().lower().rstrip(".")
        if len(normalized) > 253 or not _DOMAIN_RE.match(normalized):
            raise ValueError(
                f"domain_names: {name!r} is not a DNS name; allowed: dot-separated labels of "
                "letters, digits and hyphens, optionally starting with '*.'"
            )
        bare = normalized.removeprefix("*.")
        if bare != zone_name and not bare.endswith("." + zone_name):
            raise ValueError(
                f"domain_names: {name!r} is outside the hosted zone {zone_name!r}; allowed: "
                f"{zone_name!r} or names ending in '.{zone_name}' (DNS validation records are "
                "created in that zone)"
            )
        if normalized not in seen:
            seen.add(normalized)
            names.append(normalized)
    if not names:
        raise ValueError(
            "domain_names must name at least one domain, e.g. ['example.org', '*.example.org']"
        )
    if len(names) > MAX_DOMAIN_NAMES:
        raise ValueError(
            f"domain_names has {len(names)} names; ACM allows at most {MAX_DOMAIN_NAMES} per "
            "certificate"
        )
    first = names[0]
    if not cdk.Token.is_unresolved(first) and len(first) > MAX_COMMON_NAME_LENGTH:
        raise ValueError(
            f"domain_names: the first name {first!r} becomes the common name and must be at most "
            f"{MAX_COMMON_NAME_LENGTH} characters; put a shorter name first"
        )
    return tuple(names)


def _validate_key_algorithm(algorithm: str, policy: CompliancePolicy) -> None:
    allowed = allowed_public_key_algorithms(policy)
    if cdk.Token.is_unresolved(algorithm):
        return
    try:
        meets_policy = policy.key_algorithm_allowed(algorithm)
    except PolicyError:
        raise ValueError(
            f"key_algorithm {algorithm!r} is not an ACM key algorithm; allowed: "
            f"{', '.join(allowed)}"
        ) from None
    if not meets_policy:
        raise ValueError(
            f"key_algorithm {algorithm!r} is below the compliance policy; allowed: "
            f"{', '.join(allowed)}"
        )
    if algorithm not in allowed:
        raise ValueError(
            f"key_algorithm {algorithm!r} is not issued by ACM for public certificates; "
            f"allowed: {', '.join(allowed)}"
        )
