"""cert-manager Certificates: lifetime and renewal from the compliance policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdk_app.config import KubernetesCertificate
from certwarden_runtime.policy import CompliancePolicy, PolicyError

from ._common import Manifest, manifest
from .durations import SECONDS_PER_DAY, go_duration_from_days, parse_go_duration
from .issuers import ISSUERS

#: cert-manager's own lower bounds (the webhook rejects shorter values).
MIN_DURATION_SECONDS = 3600
MIN_RENEW_BEFORE_SECONDS = 300

PRIVATE_KEYS: dict[str, dict[str, Any]] = {
    "RSA_2048": {"algorithm": "RSA", "size": 2048},
    "EC_prime256v1": {"algorithm": "ECDSA", "size": 256},
}


@dataclass(frozen=True)
class CertificateTimes:
    """``duration`` and ``renewBefore`` as Go durations, checked against the policy."""

    duration: str
    renew_before: str

    @classmethod
    def from_policy(cls, policy: CompliancePolicy) -> CertificateTimes:
        times = cls(
            duration=go_duration_from_days(policy.certificate_validity_days),
            renew_before=go_duration_from_days(policy.renewal_window_days),
        )
        times.check(policy)
        return times

    def check(self, policy: CompliancePolicy) -> None:
        """Raise PolicyError unless cert-manager accepts the values and a certificate that
        renews on time never reaches the first alert tier."""
        duration = parse_go_duration(self.duration)
        renew_before = parse_go_duration(self.renew_before)
        problems = []
        if duration < MIN_DURATION_SECONDS:
            problems.append(f"duration {self.duration} is below cert-manager's minimum of 1h")
        if renew_before < MIN_RENEW_BEFORE_SECONDS:
            problems.append(f"renewBefore {self.renew_before} is below cert-manager's 5m")
        if renew_before >= duration:
            problems.append(
                f"renewBefore {self.renew_before} must be shorter than duration {self.duration}"
            )
        if duration > policy.max_validity_days * SECONDS_PER_DAY:
            problems.append(
                f"duration {self.duration} exceeds max_validity_days {policy.max_validity_days}"
            )
        first_tier = policy.alert_tiers[0].days * SECONDS_PER_DAY
        if renew_before <= first_tier:
            problems.append(
                f"renewBefore {self.renew_before} must be longer than the first alert tier "
                f"({policy.alert_tiers[0].days} days), or healthy certificates raise alerts"
            )
        if problems:
            raise PolicyError("certificate timing breaks the policy: " + "; ".join(problems))


def usages(cert: KubernetesCertificate) -> list[str]:
    result = ["digital signature"]
    if cert.key_algorithm.startswith("RSA"):
        result.append("key encipherment")  # RSA key transport; meaningless for ECDSA
    result.append("server auth")
    if cert.client_auth:
        result.append("client auth")
    return result


def certificate(cert: KubernetesCertificate, times: CertificateTimes) -> Manifest:
    return manifest(
        "cert-manager.io/v1",
        "Certificate",
        cert.name,
        namespace=cert.namespace,
        spec={
            "secretName": f"{cert.name}-tls",
            "dnsNames": list(cert.dns_names),
            "duration": times.duration,
            "renewBefore": times.renew_before,
            "privateKey": {**PRIVATE_KEYS[cert.key_algorithm], "rotationPolicy": "Always"},
            "usages": usages(cert),
            "issuerRef": ISSUERS[cert.issuer].as_dict(),
            "revisionHistoryLimit": 3,
            "secretTemplate": {"labels": {"app.kubernetes.io/managed-by": "certwarden"}},
        },
    )
