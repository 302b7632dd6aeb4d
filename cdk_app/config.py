"""Per-environment configuration: loaded from the file ``cdk.json`` points to, validated eagerly.

Every problem is reported as ``environment 'NAME': field 'a.b': what is wrong; what is allowed``
so that a bad file fails ``cdk synth`` with one readable message instead of a jsii traceback.
Pure Python: no aws_cdk import, so the Kubernetes generator and tests can use it cheaply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from certwarden_runtime.policy import (
    ACM_KEY_ALGORITHMS,
    ACM_PUBLIC_KEY_ALGORITHMS,
    DEFAULT_POLICY,
    CompliancePolicy,
)

CONFIG_CONTEXT_KEY = "certwarden:config"
ENVIRONMENT_CONTEXT_KEY = "env"

_DOMAIN_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(\*\.)?({_DOMAIN_LABEL}\.)+[a-z]{{2,63}}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ENV_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


class ConfigError(ValueError):
    """A configuration file is unreadable or an environment in it breaks the rules."""


def _domain(value: str) -> str:
    lowered = value.lower().rstrip(".")
    if len(lowered) > 253 or not _DOMAIN_RE.match(lowered):
        raise ValueError(
            f"{value!r} is not a valid DNS name (letters, digits and hyphens in dot-separated "
            "labels, optionally a leading '*.')"
        )
    return lowered


def _email(value: str) -> str:
    if not _EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not an email address (user@example.org)")
    return value


def _region(value: str) -> str:
    if not _REGION_RE.match(value):
        raise ValueError(f"{value!r} is not an AWS region name such as us-east-1")
    return value


DomainName = Annotated[str, AfterValidator(_domain)]
EmailAddress = Annotated[str, AfterValidator(_email)]
RegionName = Annotated[str, AfterValidator(_region)]
AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class HostedZone(_Strict):
    """The Route 53 zone that holds the DNS validation records (referenced by attributes)."""

    id: Annotated[str, Field(pattern=r"^Z[A-Z0-9]{1,31}$")]
    name: DomainName


class AlertEmails(_Strict):
    """Who is told, per severity. Critical alerts must reach at least one person."""

    warning: list[EmailAddress] = Field(default_factory=list)
    critical: list[EmailAddress] = Field(min_length=1)


class PrivateCaConfig(_Strict):
    """ACM Private CA hierarchy (a root and one issuing CA); about $400 a month per CA."""

    enabled: bool = False
    common_name: str = "CertWarden Private Root CA"
    organization: str = "Example Health"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    #: Validity of the root CA in years; the issuing CA gets half of it.
    root_validity_years: Annotated[int, Field(ge=5, le=30)] = 10


class VpcConfig(_Strict):
    """An existing VPC given by attributes (no lookups: synth stays offline)."""

    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    availability_zones: list[str] = Field(min_length=1)
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        min_length=1
    )

    @model_validator(mode="after")
    def _subnets_match_zones(self) -> VpcConfig:
        if len(self.private_subnet_ids) != len(self.availability_zones):
            raise ValueError(
                "private_subnet_ids|private_subnet_ids and availability_zones must have the same "
                "length (one subnet per zone)"
            )
        return self


class AuditConfig(_Strict):
    """The CloudTrail log bucket and its copy in the replica region."""

    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "COMPLIANCE"
    object_lock_years: Annotated[int, Field(ge=1, le=100)] = 6
    #: Name of the replica bucket the replica stack creates (passed by name, not reference).
    replica_bucket_name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]


class ScanTarget(_Strict):
    """A TLS endpoint the scheduled scanner checks."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    host: DomainName
    port: Annotated[int, Field(ge=1, le=65535)] = 443
    sni: DomainName | None = None
    #: ``https`` (a web endpoint) or ``tls`` (any other TLS service), as in a ``--targets`` file.
    type: Literal["https", "tls"] = "https"
    #: Free-text compliance label carried into the scan report (e.g. ``HIPAA``).
    compliance: Annotated[str, Field(max_length=64)] = ""


K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
IamRoleArn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@-]{1,64}$")]


class KubernetesCertificate(_Strict):
    """A cert-manager Certificate in a workload namespace (``certwarden_k8s`` generates it)."""

    name: K8sName
    namespace: K8sName
    dns_names: list[DomainName] = Field(min_length=1)
    #: ``letsencrypt`` and ``letsencrypt-staging`` solve DNS-01 in the hosted zone;
    #: ``private-ca`` is the issuing CA of the private hierarchy (internal names).
    issuer: Literal["letsencrypt", "letsencrypt-staging", "private-ca"] = "letsencrypt"
    key_algorithm: Literal["RSA_2048", "EC_prime256v1"] = "EC_prime256v1"
    #: Also usable as a TLS client certificate (adds the ``client auth`` usage).
    client_auth: bool = False


class KubernetesConfig(_Strict):
    """The EKS side: cert-manager, issuers, certificates, network policy, Istio, alerts."""

    acme_email: EmailAddress
    #: Workload namespaces (they must exist): default-deny ingress, Istio mTLS, certificates.
    namespaces: list[K8sName] = Field(min_length=1)
    certificates: list[KubernetesCertificate] = Field(default_factory=list)
    #: The cluster's IAM OIDC provider (IRSA); the IAM roles trust it.
    oidc_provider_arn: Annotated[
        str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/[A-Za-z0-9./-]+$")
    ]
    #: Role of cert-manager's service account (Route53 DNS-01, scoped to the hosted zone).
    cert_manager_role_arn: IamRoleArn
    #: The issuing (subordinate) CA; with it, an AWSPCAClusterIssuer is generated.
    private_ca_arn: (
        Annotated[
            str,
            Field(
                pattern=r"^arn:aws[a-z-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/"
                r"[0-9a-f-]{36}$"
            ),
        ]
        | None
    ) = None
    private_ca_issuer_role_arn: IamRoleArn | None = None
    private_ca_issuer_namespace: K8sName = "aws-privateca-issuer"
    private_ca_issuer_service_account: K8sName = "aws-privateca-issuer"
    #: Namespace of Prometheus (may scrape cert-manager's metrics port 9402).
    monitoring_namespace: K8sName = "monitoring"
    #: Labels the Prometheus rule/service-monitor selectors need (e.g. ``release: prometheus``).
    monitoring_labels: Mapping[str, str] = Field(default_factory=dict)
    istio: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> KubernetesConfig:
        seen: set[tuple[str, str]] = set()
        for cert in self.certificates:
            if cert.namespace not in self.namespaces:
                raise ValueError(
                    f"certificates|certificate {cert.name!r}: namespace {cert.namespace!r} is "
                    f"not in kubernetes.namespaces ({', '.join(self.namespaces)})"
                )
            if (cert.namespace, cert.name) in seen:
                raise ValueError(f"certificates|duplicate certificate {cert.namespace}/{cert.name}")
            seen.add((cert.namespace, cert.name))
            if cert.issuer == "private-ca" and self.private_ca_arn is None:
                raise ValueError(
                    f"private_ca_arn|certificate {cert.name!r} uses issuer 'private-ca'; set "
                    "private_ca_arn to the issuing CA's ARN"
                )
        if (self.private_ca_arn is None) != (self.private_ca_issuer_role_arn is None):
            raise ValueError(
                "private_ca_issuer_role_arn|private_ca_arn and private_ca_issuer_role_arn are "
                "set together (the issuer needs the CA and a role allowed to use it)"
            )
        return self


class EnvironmentConfig(_Strict):
    """One deployable environment: one stack in ``region`` plus a replica stack."""

    name: str
    account: AccountId
    region: RegionName
    #: Regions the certificate-operations job inventories (defaults to ``region``).
    regions: list[RegionName] = Field(default_factory=list)
    replica_region: RegionName
    hosted_zone: HostedZone
    domains: list[DomainName] = Field(min_length=1)
    key_algorithm: str = DEFAULT_POLICY.default_key_algorithm
    alert_emails: AlertEmails
    private_ca: PrivateCaConfig = PrivateCaConfig()
    vpc: VpcConfig | None = None
    audit: AuditConfig
    #: Declare the account/region singleton AWS::CertificateManager::Account (45-day events).
    manage_account_expiry_events: bool = True
    tags: Mapping[str, str] = Field(default_factory=dict)
    scan_targets: list[ScanTarget] = Field(default_factory=list)
    kubernetes: KubernetesConfig | None = None

    @field_validator("key_algorithm")
    @classmethod
    def _key_algorithm_in_policy(cls, value: str) -> str:
        if value not in ACM_KEY_ALGORITHMS:
            raise ValueError(f"{value!r} is not an ACM key algorithm; allowed: {_allowed_public()}")
        if not DEFAULT_POLICY.key_algorithm_allowed(value):
            raise ValueError(
                f"{value} is below the compliance policy (RSA >= {DEFAULT_POLICY.min_rsa_bits}, "
                f"EC >= P-{DEFAULT_POLICY.min_ec_bits}); allowed: {_allowed_public()}"
            )
        if value not in ACM_PUBLIC_KEY_ALGORITHMS:
            raise ValueError(
                f"ACM does not issue public certificates with {value}; allowed: {_allowed_public()}"
            )
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> EnvironmentConfig:
        zone = self.hosted_zone.name
        for domain in self.domains:
            bare = domain.removeprefix("*.")
            if bare != zone and not bare.endswith("." + zone):
                raise ValueError(
                    f"domains|domain {domain!r} is not inside hosted zone {zone!r}; DNS validation "
                    "records can only be written to that zone"
                )
        if self.replica_region == self.region:
            raise ValueError("replica_region|must differ from region (cross-region copy)")
        if self.tags.get("Environment") not in (None, self.name):
            raise ValueError("tags.Environment|is set from the environment name; omit it")
        k8s = self.kubernetes
        if k8s is not None and k8s.private_ca_issuer_role_arn and not self.private_ca.enabled:
            raise ValueError(
                "kubernetes.private_ca_issuer_role_arn|the issuer role is created by this stack "
                "and scoped to its issuing CA: enable private_ca or remove the private CA issuer"
            )
        if k8s is not None:
            for label, arn in (
                ("kubernetes.cert_manager_role_arn", k8s.cert_manager_role_arn),
                ("kubernetes.private_ca_issuer_role_arn", k8s.private_ca_issuer_role_arn),
                ("kubernetes.oidc_provider_arn", k8s.oidc_provider_arn),
            ):
                if arn is not None and arn.split(":")[4] != self.account:
                    raise ValueError(
                        f"{label}|{arn} is in account {arn.split(':')[4]}, not this "
                        f"environment's account {self.account}"
                    )
        return self

    @property
    def inventory_regions(self) -> tuple[str, ...]:
        return tuple(self.regions) or (self.region,)

    @property
    def stack_name(self) -> str:
        return f"CertWarden-{self.name}"

    @property
    def replica_stack_name(self) -> str:
        return f"CertWarden-{self.name}-replica"

    def resource_tags(self, policy: CompliancePolicy = DEFAULT_POLICY) -> dict[str, str]:
        """Tags applied to every resource; required tags default to documented values."""
        tags = {"Environment": self.name, "Compliance": "HIPAA", **dict(self.tags)}
        missing = policy.missing_tags(tags)
        if missing:
            raise ConfigError(
                f"environment {self.name!r}: field 'tags': required tags missing: "
                f"{', '.join(missing)}"
            )
        return tags


def _allowed_public() -> str:
    return ", ".join(
        a for a in ACM_PUBLIC_KEY_ALGORITHMS if DEFAULT_POLICY.key_algorithm_allowed(a)
    )


class CertWardenConfig(_Strict):
    environments: Mapping[str, EnvironmentConfig]


def _format_validation_error(env_name: str | None, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the configuration reference)"
        elif item["type"] == "missing":
            message = "required field is missing"
        if "|" in message and item["type"] == "value_error":
            field, _, message = message.partition("|")
            location = ".".join(p for p in (location, field) if p)
        prefix = f"environment {env_name!r}: " if env_name else ""
        lines.append(f"{prefix}field {location!r}: {message}")
    return "\n".join(lines)


def parse_environment(
    name: str, raw: Any, policy: CompliancePolicy = DEFAULT_POLICY
) -> EnvironmentConfig:
    """Validate one environment's mapping; raise ConfigError naming environment and field."""
    if not _ENV_NAME_RE.match(name):
        raise ConfigError(
            f"environment {name!r}: name must be lower-case letters, digits and hyphens "
            "(starting with a letter, at most 31 characters)"
        )
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"environment {name!r}: must be a mapping of fields, got {type(raw).__name__}"
        )
    try:
        env = EnvironmentConfig.model_validate({**raw, "name": name})
    except ValidationError as error:
        raise ConfigError(_format_validation_error(name, error)) from None
    env.resource_tags(policy)
    return env


def parse_config(raw: Any, policy: CompliancePolicy = DEFAULT_POLICY) -> CertWardenConfig:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("environments"), Mapping):
        raise ConfigError("configuration must be a mapping with an 'environments' mapping")
    unknown = set(raw) - {"environments"}
    if unknown:
        raise ConfigError(
            f"field {sorted(unknown)[0]!r}: unknown top-level key; allowed: environments "
            "(select environments at synth with -c env=NAME)"
        )
    if not raw["environments"]:
        raise ConfigError("field 'environments': at least one environment is required")
    environments = {n: parse_environment(n, e, policy) for n, e in raw["environments"].items()}
    _check_account_singletons(environments)
    return CertWardenConfig.model_construct(environments=environments)


def _check_account_singletons(environments: Mapping[str, EnvironmentConfig]) -> None:
    # AWS::CertificateManager::Account exists once per account and region: two stacks
    # declaring it would fight over it, and deleting one would reset the other's setting.
    owners: dict[tuple[str, str], str] = {}
    for env in environments.values():
        if not env.manage_account_expiry_events:
            continue
        key = (env.account, env.region)
        if key in owners:
            raise ConfigError(
                f"environment {env.name!r}: field 'manage_account_expiry_events': account "
                f"{env.account} region {env.region} is already managed by environment "
                f"{owners[key]!r}; set it to false in one of them"
            )
        owners[key] = env.name


def load_config(path: str | Path, policy: CompliancePolicy = DEFAULT_POLICY) -> CertWardenConfig:
    """Read a YAML or JSON configuration file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read configuration file {file}: {error.strerror}") from None
    try:
        raw = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ConfigError(
            f"configuration file {file} is not valid {file.suffix[1:]}: {error}"
        ) from None
    return parse_config(raw, policy)


def select_environments(config: CertWardenConfig, requested: str | None) -> list[EnvironmentConfig]:
    """``-c env=NAME`` picks one (or ``all``); without it every environment is synthesized."""
    if requested in (None, "", "all"):
        return list(config.environments.values())
    names = [n.strip() for n in str(requested).split(",")]
    unknown = [n for n in names if n not in config.environments]
    if unknown:
        raise ConfigError(
            f"context 'env': {unknown[0]!r} is not a configured environment; configured: "
            f"{', '.join(config.environments)} (or 'all')"
        )
    return [config.environments[n] for n in names]
