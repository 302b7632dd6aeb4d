"""The compliance policy: the single source of every number CertWarden enforces.

Pure Python (no aws_cdk, no boto3). The CDK constructs read it at synth time, the Lambda
receives it through environment variables (:meth:`CompliancePolicy.to_environment` /
:meth:`CompliancePolicy.from_environment`), and the scanner and Kubernetes generator read it
directly, so the stack, the daily job and the manifests cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum


class PolicyError(ValueError):
    """The policy itself is inconsistent or a value breaks it."""


class Severity(StrEnum):
    """Alert severities; each has its own alert route (SNS topic)."""

    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class AlertTier:
    """A certificate with ``days_to_expiry <= days`` is in this tier."""

    days: int
    severity: Severity


# ACM's names for key algorithms, as ListCertificates/DescribeCertificate report them.
ACM_KEY_ALGORITHMS: tuple[str, ...] = (
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
)
_EC_CURVE_BITS = {"prime256v1": 256, "secp384r1": 384, "secp521r1": 521}
# ACM issues public certificates only with these algorithms (RequestCertificate docs).
ACM_PUBLIC_KEY_ALGORITHMS: tuple[str, ...] = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")

TLS_VERSIONS: tuple[str, ...] = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def key_algorithm_strength(algorithm: str) -> tuple[str, int]:
    """Split an ACM key algorithm name (``RSA_2048``, ``EC_prime256v1``) into (family, bits).

    Raises PolicyError naming the allowed values when the name is unknown.
    """
    match = re.fullmatch(r"RSA_(\d+)", algorithm)
    if match:
        return "RSA", int(match.group(1))
    if algorithm.startswith("EC_") and algorithm[3:] in _EC_CURVE_BITS:
        return "EC", _EC_CURVE_BITS[algorithm[3:]]
    raise PolicyError(
        f"unknown key algorithm {algorithm!r}; "
        f"ACM key algorithms are {', '.join(ACM_KEY_ALGORITHMS)}"
    )


@dataclass(frozen=True)
class CompliancePolicy:
    """What the organisation demands of its certificates and logs.

    Defaults follow the HIPAA-grade baseline: TLS 1.2 or newer, RSA >= 2048 or EC >= P-256,
    renewal from 60 days before expiry (when ACM starts managed renewal), alerts at 45/30/15/7
    days, a 7-day CRL and six years (2192 days) of logs.
    """

    min_tls_version: str = "TLSv1.2"
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    #: Lifetime of certificates the project issues itself (cert-manager, private CA leaves).
    certificate_validity_days: int = 90
    #: Longest validity accepted on any certificate found in the fleet (CA/B Forum limit).
    max_validity_days: int = 398
    #: Renewal starts this many days before expiry (ACM managed renewal starts at 60).
    renewal_window_days: int = 60
    alert_tiers: tuple[AlertTier, ...] = (
        AlertTier(45, Severity.WARNING),
        AlertTier(30, Severity.WARNING),
        AlertTier(15, Severity.CRITICAL),
        AlertTier(7, Severity.CRITICAL),
    )
    crl_validity_days: int = 7
    log_retention_days: int = 2192
    required_tags: tuple[str, ...] = ("Environment", "Owner", "DataClassification", "Compliance")
    #: Key algorithm used when a configuration does not name one.
    default_key_algorithm: str = "EC_prime256v1"
    #: Algorithms of the root and issuing CAs of the private hierarchy.
    ca_key_algorithm: str = "RSA_4096"
    ca_signing_algorithm: str = "SHA512WITHRSA"
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise PolicyError with every inconsistency found, one per line."""
        problems: list[str] = []
        if self.min_tls_version not in ("TLSv1.2", "TLSv1.3"):
            problems.append(
                f"min_tls_version {self.min_tls_version!r} is below policy; "
                "allowed: TLSv1.2, TLSv1.3"
            )
        if self.min_rsa_bits < 2048:
            problems.append(f"min_rsa_bits {self.min_rsa_bits} is below 2048")
        if self.min_ec_bits < 256:
            problems.append(f"min_ec_bits {self.min_ec_bits} is below 256 (P-256)")
        if not self.alert_tiers:
            problems.append("alert_tiers must name at least one tier")
        days = [tier.days for tier in self.alert_tiers]
        if days != sorted(days, reverse=True) or len(set(days)) != len(days):
            problems.append(f"alert_tiers must be strictly descending by days, got {days}")
        if any(d <= 0 for d in days):
            problems.append(f"alert_tiers days must be positive, got {days}")
        if days and days[0] >= self.renewal_window_days:
            problems.append(
                f"first alert tier ({days[0]} days) must come after renewal starts "
                f"(renewal_window_days={self.renewal_window_days}); otherwise every healthy "
                "certificate raises a warning each cycle"
            )
        if self.renewal_window_days >= self.certificate_validity_days:
            problems.append(
                f"renewal_window_days ({self.renewal_window_days}) must be shorter than "
                f"certificate_validity_days ({self.certificate_validity_days})"
            )
        if self.certificate_validity_days > self.max_validity_days:
            problems.append(
                f"certificate_validity_days ({self.certificate_validity_days}) exceeds "
                f"max_validity_days ({self.max_validity_days})"
            )
        if self.log_retention_days < 2192:
            problems.append(
                f"log_retention_days ({self.log_retention_days}) is below HIPAA's six years (2192)"
            )
        if not 1 <= self.crl_validity_days <= 30:
            problems.append(f"crl_validity_days ({self.crl_validity_days}) must be 1..30")
        for name in ("default_key_algorithm", "ca_key_algorithm"):
            value = getattr(self, name)
            try:
                if not self.key_algorithm_allowed(value):
                    problems.append(f"{name} {value!r} is below policy")
            except PolicyError as error:
                problems.append(f"{name}: {error}")
        if problems:
            raise PolicyError("compliance policy is inconsistent:\n  " + "\n  ".join(problems))

    # -- decisions --------------------------------------------------------------------------
    def key_algorithm_allowed(self, algorithm: str) -> bool:
        """True when an ACM key algorithm name meets the minimum strength."""
        family, bits = key_algorithm_strength(algorithm)
        return bits >= (self.min_rsa_bits if family == "RSA" else self.min_ec_bits)

    @property
    def allowed_key_algorithms(self) -> tuple[str, ...]:
        return tuple(a for a in ACM_KEY_ALGORITHMS if self.key_algorithm_allowed(a))

    def key_size_allowed(self, family: str, bits: int) -> bool:
        """For certificates parsed from the wire or a file (family ``RSA`` or ``EC``)."""
        if family.upper() == "RSA":
            return bits >= self.min_rsa_bits
        if family.upper() == "EC":
            return bits >= self.min_ec_bits
        return family.upper() in ("ED25519", "ED448")

    def tls_version_allowed(self, version: str) -> bool:
        if version not in TLS_VERSIONS:
            raise PolicyError(f"unknown TLS version {version!r}; known: {', '.join(TLS_VERSIONS)}")
        return TLS_VERSIONS.index(version) >= TLS_VERSIONS.index(self.min_tls_version)

    @property
    def alert_tier_days(self) -> tuple[int, ...]:
        return tuple(t.days for t in self.alert_tiers)

    def tier_for(self, days_to_expiry: float) -> AlertTier | None:
        """The most urgent tier a certificate is in (``<=``, so a skipped day still alerts)."""
        current: AlertTier | None = None
        for tier in self.alert_tiers:
            if days_to_expiry <= tier.days:
                current = tier
        return current

    def in_renewal_window(self, days_to_expiry: float) -> bool:
        return days_to_expiry <= self.renewal_window_days

    def missing_tags(self, tags: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(t for t in self.required_tags if not str(tags.get(t, "")).strip())

    # -- transport to the Lambda -------------------------------------------------------------
    def to_environment(self) -> dict[str, str]:
        """Environment variables carrying the policy into the Lambda functions."""
        return {
            "CERTWARDEN_MIN_TLS_VERSION": self.min_tls_version,
            "CERTWARDEN_MIN_RSA_BITS": str(self.min_rsa_bits),
            "CERTWARDEN_MIN_EC_BITS": str(self.min_ec_bits),
            "CERTWARDEN_CERTIFICATE_VALIDITY_DAYS": str(self.certificate_validity_days),
            "CERTWARDEN_MAX_VALIDITY_DAYS": str(self.max_validity_days),
            "CERTWARDEN_RENEWAL_WINDOW_DAYS": str(self.renewal_window_days),
            "CERTWARDEN_ALERT_TIERS": ",".join(
                f"{t.days}:{t.severity.value}" for t in self.alert_tiers
            ),
            "CERTWARDEN_CRL_VALIDITY_DAYS": str(self.crl_validity_days),
            "CERTWARDEN_LOG_RETENTION_DAYS": str(self.log_retention_days),
            "CERTWARDEN_REQUIRED_TAGS": ",".join(self.required_tags),
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> CompliancePolicy:
        """Rebuild the policy from :meth:`to_environment`; absent variables keep defaults."""
        base = cls()
        changes: dict[str, object] = {}
        ints = {
            "CERTWARDEN_MIN_RSA_BITS": "min_rsa_bits",
            "CERTWARDEN_MIN_EC_BITS": "min_ec_bits",
            "CERTWARDEN_CERTIFICATE_VALIDITY_DAYS": "certificate_validity_days",
            "CERTWARDEN_MAX_VALIDITY_DAYS": "max_validity_days",
            "CERTWARDEN_RENEWAL_WINDOW_DAYS": "renewal_window_days",
            "CERTWARDEN_CRL_VALIDITY_DAYS": "crl_validity_days",
            "CERTWARDEN_LOG_RETENTION_DAYS": "log_retention_days",
        }
        for variable, attribute in ints.items():
            if variable in environ:
                try:
                    changes[attribute] = int(environ[variable])
                except ValueError:
                    raise PolicyError(
                        f"{variable}={environ[variable]!r} is not a whole number"
                    ) from None
        if "CERTWARDEN_MIN_TLS_VERSION" in environ:
            changes["min_tls_version"] = environ["CERTWARDEN_MIN_TLS_VERSION"]
        if "CERTWARDEN_ALERT_TIERS" in environ:
            changes["alert_tiers"] = _parse_tiers(environ["CERTWARDEN_ALERT_TIERS"])
        if "CERTWARDEN_REQUIRED_TAGS" in environ:
            changes["required_tags"] = tuple(
                t.strip() for t in environ["CERTWARDEN_REQUIRED_TAGS"].split(",") if t.strip()
            )
        return replace(base, **changes)  # type: ignore[arg-type]


def _parse_tiers(text: str) -> tuple[AlertTier, ...]:
    tiers: list[AlertTier] = []
    for item in text.split(","):
        days, _, severity = item.strip().partition(":")
        try:
            tiers.append(AlertTier(int(days), Severity(severity)))
        except ValueError:
            raise PolicyError(
                f"CERTWARDEN_ALERT_TIERS item {item!r} must be DAYS:SEVERITY with SEVERITY one of "
                f"{', '.join(s.value for s in Severity)}"
            ) from None
    return tuple(tiers)


DEFAULT_POLICY = CompliancePolicy()
