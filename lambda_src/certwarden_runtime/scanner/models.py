"""The scanner's data: targets, findings, per-endpoint results and the rating rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

#: Target types the scanner understands: both mean "TLS from the first byte" (no STARTTLS).
TARGET_TYPES: tuple[str, ...] = ("https", "tls")
#: Default seconds for one network step (connect, or waiting for an answer); at most 10.
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_TIMEOUT_SECONDS = 120.0
DEFAULT_CONCURRENCY = 8


class FindingSeverity(StrEnum):
    INFO = "INFO"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = (
    FindingSeverity.INFO,
    FindingSeverity.MEDIUM,
    FindingSeverity.HIGH,
    FindingSeverity.CRITICAL,
)


class Rating(StrEnum):
    """Overall rating of an endpoint: the most severe finding decides (see :func:`rating_for`)."""

    SECURE = "SECURE"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _RATING_ORDER.index(self)

    @property
    def exit_code(self) -> int:
        """CLI exit status: 0 SECURE, 3 MEDIUM, 4 HIGH, 5 CRITICAL (1 and 2 are errors/usage)."""
        return {Rating.SECURE: 0, Rating.MEDIUM: 3, Rating.HIGH: 4, Rating.CRITICAL: 5}[self]


_RATING_ORDER = (Rating.SECURE, Rating.MEDIUM, Rating.HIGH, Rating.CRITICAL)


@dataclass(frozen=True)
class Finding:
    """One problem (or fact) found on an endpoint."""

    rule: str
    severity: FindingSeverity
    title: str
    evidence: str
    policy: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "title": self.title,
            "evidence": self.evidence,
            "policy": self.policy,
        }


def rating_for(findings: Iterable[Finding]) -> Rating:
    """THE rating rule: the worst finding's severity; INFO-only (or none) is SECURE.

    CRITICAL finding -> CRITICAL, else HIGH -> HIGH, else MEDIUM -> MEDIUM, else SECURE.
    """
    worst = max((f.severity.rank for f in findings), default=0)
    return _RATING_ORDER[worst]


def worst_rating(ratings: Iterable[Rating]) -> Rating:
    return max(ratings, key=lambda r: r.rank, default=Rating.SECURE)


@dataclass(frozen=True)
class Target:
    """A TLS endpoint: where to connect (``host``/``port``) and which name to ask for (``sni``)."""

    host: str
    port: int = 443
    name: str = ""
    sni: str | None = None
    type: str = "https"
    compliance: str = ""

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"target field 'host': {self.host!r} is not a host name or address")
        if not 1 <= int(self.port) <= 65535:
            raise ValueError(f"target field 'port': {self.port} must be 1..65535")
        if self.type not in TARGET_TYPES:
            raise ValueError(
                f"target field 'type': {self.type!r} is not supported; allowed: "
                f"{', '.join(TARGET_TYPES)}"
            )
        if not self.name:
            object.__setattr__(self, "name", f"{self.host}:{self.port}")

    @property
    def server_name(self) -> str:
        """The name the certificate must match: the SNI when given, else the host."""
        return self.sni or self.host

    @property
    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "sni": self.sni,
            "type": self.type,
            "compliance": self.compliance,
        }


@dataclass(frozen=True)
class ScanOptions:
    policy: CompliancePolicy = DEFAULT_POLICY
    #: Seconds for each network step; a silent endpoint costs about this much, once.
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    #: Endpoints scanned at the same time.
    concurrency: int = DEFAULT_CONCURRENCY
    #: Extra trust anchors (PEM), e.g. a private CA, on top of the system trust store.
    ca_bundle: Path | None = None
    #: Use the system trust store (tests turn it off to trust only their own CA).
    use_system_trust: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.timeout <= MAX_TIMEOUT_SECONDS:
            raise ValueError(
                f"timeout {self.timeout} must be more than 0 and at most {MAX_TIMEOUT_SECONDS} s"
            )
        if not 1 <= self.concurrency <= 256:
            raise ValueError(f"concurrency {self.concurrency} must be 1..256")


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    issuer: str
    not_before: str
    not_after: str
    days_to_expiry: float
    key: str
    signature_hash: str
    san: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "days_to_expiry": round(self.days_to_expiry, 1),
            "key": self.key,
            "signature_hash": self.signature_hash,
            "san": list(self.san),
        }


@dataclass(frozen=True)
class EndpointResult:
    target: Target
    findings: tuple[Finding, ...]
    scanned_at: str
    seconds: float
    protocols: tuple[str, ...] = ()
    certificates: tuple[CertificateSummary, ...] = ()
    rating: Rating = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rating", rating_for(self.findings))

    @property
    def reachable(self) -> bool:
        return not any(f.rule.startswith("endpoint-") for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "rating": self.rating.value,
            "scanned_at": self.scanned_at,
            "seconds": round(self.seconds, 3),
            "protocols": list(self.protocols),
            "certificates": [c.to_dict() for c in self.certificates],
            "findings": [f.to_dict() for f in self.findings],
        }
