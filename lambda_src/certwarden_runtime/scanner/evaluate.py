"""Pure policy evaluation: what the engine observed -> findings with severity, evidence, rule.

Every rule the scanner applies is in :data:`RULES` (id -> severity and the policy it enforces);
:func:`evaluate` only decides *whether* a rule fires and with what evidence. No network here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from certwarden_runtime.policy import CompliancePolicy, Severity
from certwarden_runtime.scanner.models import (
    CertificateSummary,
    Finding,
    FindingSeverity,
    Target,
)
from certwarden_runtime.scanner.trust import TrustStore, is_self_signed, issued_by

C, H, M, INF = (
    FindingSeverity.CRITICAL,
    FindingSeverity.HIGH,
    FindingSeverity.MEDIUM,
    FindingSeverity.INFO,
)

_TRANSMISSION = "HIPAA 164.312(e)(1) transmission security"

#: rule id -> (severity, the policy it enforces). ``cert-expiry-tier`` takes its severity from
#: the policy tier (WARNING -> MEDIUM, CRITICAL -> HIGH); ``protocol-*`` below the policy
#: minimum is CRITICAL for SSL and HIGH for TLS.
RULES: dict[str, tuple[FindingSeverity, str]] = {
    "endpoint-refused": (H, f"in-scope endpoints must serve TLS ({_TRANSMISSION})"),
    "endpoint-timeout": (H, f"in-scope endpoints must serve TLS ({_TRANSMISSION})"),
    "endpoint-not-tls": (H, f"in-scope endpoints must serve TLS ({_TRANSMISSION})"),
    "endpoint-handshake-failure": (H, f"in-scope endpoints must serve TLS ({_TRANSMISSION})"),
    "endpoint-unresolved": (H, f"in-scope endpoints must serve TLS ({_TRANSMISSION})"),
    "endpoint-error": (H, f"in-scope endpoints must serve TLS ({_TRANSMISSION})"),
    "scan-incomplete": (M, "every endpoint must be fully assessed"),
    "protocol-sslv2": (C, "policy.min_tls_version"),
    "protocol-sslv3": (C, "policy.min_tls_version"),
    "protocol-tlsv1": (H, "policy.min_tls_version"),
    "protocol-tlsv1.1": (H, "policy.min_tls_version"),
    "protocol-tlsv1.2": (H, "policy.min_tls_version"),
    "protocol-no-tls13": (INF, "NIST SP 800-52r2: support TLS 1.3"),
    "cipher-null": (H, "no unencrypted (NULL) cipher suites"),
    "cipher-anonymous": (H, "no unauthenticated (anonymous) cipher suites"),
    "cipher-export": (H, "no EXPORT-grade cipher suites"),
    "cipher-rc4": (H, "no RC4 cipher suites (RFC 7465)"),
    "cipher-des": (H, "no single-DES cipher suites"),
    "cipher-3des": (H, "no 3DES cipher suites (SWEET32)"),
    "tls12-no-forward-secrecy": (M, "TLS 1.2 must offer (EC)DHE key exchange"),
    "tls12-no-aead": (M, "TLS 1.2 must offer an AEAD (GCM/ChaCha20/CCM) cipher suite"),
    "tls12-some-non-forward-secret": (INF, "prefer (EC)DHE-only on TLS 1.2"),
    "tls12-some-cbc": (INF, "prefer AEAD-only on TLS 1.2"),
    "cert-unavailable": (M, "the server's certificate must be inspectable"),
    "cert-key-too-small": (H, "policy.min_rsa_bits / policy.min_ec_bits"),
    "cert-weak-signature": (H, "no SHA-1 (or weaker) certificate signatures"),
    "cert-expired": (C, "certificates must be valid"),
    "cert-not-yet-valid": (H, "certificates must be valid"),
    "cert-expiry-tier": (M, "policy.alert_tiers"),
    "cert-validity-too-long": (M, "policy.max_validity_days"),
    "cert-hostname-mismatch": (H, "the certificate must name the host (subjectAltName)"),
    "cert-self-signed": (H, "certificates must chain to a trusted CA"),
    "cert-untrusted": (H, "certificates must chain to a trusted CA"),
    "cert-incomplete-chain": (H, "the server must send its intermediate certificates"),
}

PROTOCOL_LABELS: dict[str, str] = {
    "SSLv2": "SSL 2.0",
    "SSLv3": "SSL 3.0",
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}

#: (rule, title, predicate on the IANA/RFC suite name)
_WEAK_CIPHER_CLASSES: tuple[tuple[str, str], ...] = (
    ("cipher-null", "NULL (no encryption)"),
    ("cipher-anonymous", "anonymous (no authentication)"),
    ("cipher-export", "EXPORT-grade"),
    ("cipher-rc4", "RC4"),
    ("cipher-des", "single DES"),
    ("cipher-3des", "3DES"),
)


def weak_cipher_classes(suite: str) -> list[str]:
    """The weak classes an IANA cipher suite name (``TLS_RSA_WITH_RC4_128_SHA``) falls into."""
    name = suite.upper()
    classes = []
    if "_WITH_NULL_" in name or name.endswith("_NULL") or "NULL_WITH_NULL" in name:
        classes.append("cipher-null")
    if "_ANON_" in name:
        classes.append("cipher-anonymous")
    if "EXPORT" in name:
        classes.append("cipher-export")
    if "RC4" in name:
        classes.append("cipher-rc4")
    if "3DES" in name or "DES_192_EDE3" in name:
        classes.append("cipher-3des")
    elif "_DES_" in name or "_DES40_" in name or "DES_64" in name:
        classes.append("cipher-des")
    return classes


def is_forward_secret(suite: str) -> bool:
    name = suite.upper()
    return ("_ECDHE_" in name or "_DHE_" in name) and "_ANON_" not in name


def is_aead(suite: str) -> bool:
    name = suite.upper()
    return "_GCM_" in name or "CHACHA20_POLY1305" in name or "_CCM" in name


@dataclass(frozen=True)
class EndpointProblem:
    """Why an endpoint could not be scanned; ``kind`` is the rule suffix (``refused`` ...)."""

    kind: str
    detail: str


@dataclass(frozen=True)
class Observation:
    """What the engine saw on one endpoint."""

    #: TLS version (policy names: SSLv2 ... TLSv1.3) -> accepted IANA suite names; a version
    #: missing from the mapping was not tested.
    accepted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The certificate chain(s) the server sent, leaf first (one per certificate deployment).
    chains: tuple[tuple[x509.Certificate, ...], ...] = ()
    problem: EndpointProblem | None = None
    #: Scan steps that failed (e.g. ``TLS 1.1 cipher suites: timeout``).
    incomplete: tuple[str, ...] = ()
    certificate_error: str | None = None


def _finding(
    rule: str, title: str, evidence: str, severity: FindingSeverity | None = None
) -> Finding:
    default, policy = RULES[rule]
    return Finding(rule, severity or default, title, evidence, policy)


def _sample(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def evaluate(
    target: Target,
    observation: Observation,
    policy: CompliancePolicy,
    trust: TrustStore,
    now: datetime,
) -> tuple[list[Finding], list[CertificateSummary]]:
    """Every finding on one endpoint, plus a summary of each leaf certificate seen."""
    if observation.problem is not None:
        problem = observation.problem
        return [
            _finding(
                f"endpoint-{problem.kind}",
                f"endpoint problem: {problem.kind.replace('-', ' ')}",
                problem.detail,
            )
        ], []
    findings: list[Finding] = []
    findings += _protocol_findings(observation.accepted, policy)
    findings += _cipher_findings(observation.accepted)
    for step in observation.incomplete:
        findings.append(_finding("scan-incomplete", "part of the scan failed", step))
    summaries: list[CertificateSummary] = []
    if not observation.chains and any(observation.accepted.values()):
        findings.append(
            _finding(
                "cert-unavailable",
                "no certificate could be retrieved",
                observation.certificate_error or "the server sent no certificate",
            )
        )
    seen: set[bytes] = set()
    for chain in observation.chains:
        if not chain:
            continue
        fingerprint = chain[0].fingerprint(hashes.SHA256())
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        cert_findings, summary = evaluate_chain(chain, target.server_name, policy, trust, now)
        findings += cert_findings
        summaries.append(summary)
    return findings, summaries


def _protocol_findings(
    accepted: Mapping[str, tuple[str, ...]], policy: CompliancePolicy
) -> list[Finding]:
    findings = []
    for version, suites in accepted.items():
        if suites and not policy.tls_version_allowed(version):
            label = PROTOCOL_LABELS[version]
            minimum = PROTOCOL_LABELS[policy.min_tls_version]
            severity = C if version.startswith("SSL") else H
            findings.append(
                _finding(
                    f"protocol-{version.lower()}",
                    f"{label} offered (policy minimum is {minimum})",
                    f"{len(suites)} {label} cipher suite(s) accepted: {_sample(suites)}",
                    severity,
                )
            )
    speaks_tls = any(accepted.values())
    if speaks_tls and "TLSv1.3" in accepted and not accepted["TLSv1.3"]:
        findings.append(
            _finding(
                "protocol-no-tls13",
                "TLS 1.3 not offered",
                "no TLS 1.3 cipher suite accepted",
            )
        )
    return findings


def _cipher_findings(accepted: Mapping[str, tuple[str, ...]]) -> list[Finding]:
    findings = []
    for rule, label in _WEAK_CIPHER_CLASSES:
        hits = [
            f"{PROTOCOL_LABELS[version]} {suite}"
            for version, suites in accepted.items()
            for suite in suites
            if rule in weak_cipher_classes(suite)
        ]
        if hits:
            findings.append(
                _finding(rule, f"{label} cipher suites accepted", f"{len(hits)}: {_sample(hits)}")
            )
    tls12 = accepted.get("TLSv1.2", ())
    if tls12:
        forward_secret = [s for s in tls12 if is_forward_secret(s)]
        aead = [s for s in tls12 if is_aead(s)]
        if not forward_secret:
            findings.append(
                _finding(
                    "tls12-no-forward-secrecy",
                    "no forward secrecy on TLS 1.2",
                    f"no (EC)DHE suite among {len(tls12)} accepted: {_sample(list(tls12))}",
                )
            )
        elif len(forward_secret) < len(tls12):
            others = [s for s in tls12 if s not in forward_secret]
            findings.append(
                _finding(
                    "tls12-some-non-forward-secret",
                    "some TLS 1.2 suites lack forward secrecy",
                    _sample(others),
                )
            )
        if not aead:
            findings.append(
                _finding(
                    "tls12-no-aead",
                    "CBC-only (no AEAD) on TLS 1.2",
                    f"no GCM/ChaCha20/CCM suite among {len(tls12)}: {_sample(list(tls12))}",
                )
            )
        elif len(aead) < len(tls12):
            others = [s for s in tls12 if s not in aead]
            findings.append(
                _finding("tls12-some-cbc", "some TLS 1.2 suites are not AEAD", _sample(others))
            )
    return findings


# -- certificates -------------------------------------------------------------------------------
def key_description(certificate: x509.Certificate) -> tuple[str, int]:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ED25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "ED448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, 0


def signature_hash_name(certificate: x509.Certificate) -> str:
    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    return "none (EdDSA)" if algorithm is None else algorithm.name


def san_names(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) of the subjectAltName extension."""
    try:
        san = certificate.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        ).value
    except x509.ExtensionNotFound:
        return [], []
    assert isinstance(san, x509.SubjectAlternativeName)
    dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


def hostname_matches(certificate: x509.Certificate, name: str) -> bool:
    """RFC 6125 matching on subjectAltName only (no CN fallback); wildcard = one left label."""
    dns, ips = san_names(certificate)
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in ips)
    wanted = name.lower().rstrip(".")
    for pattern in (d.lower().rstrip(".") for d in dns):
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted:
            first, _, rest = wanted.partition(".")
            if first and rest == pattern[2:] and "." in rest:
                return True
    return False


def _name(value: x509.Name) -> str:
    common = value.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={common[0].value!s}" if common else value.rfc4514_string() or "(empty)"


def _verification_subject(
    certificate: x509.Certificate, server_name: str
) -> x509.DNSName | x509.IPAddress | None:
    """A name the leaf does carry, so that path validation is judged apart from the hostname."""
    if hostname_matches(certificate, server_name):
        try:
            return x509.IPAddress(ipaddress.ip_address(server_name.strip("[]")))
        except ValueError:
            return x509.DNSName(server_name.lower().rstrip("."))
    dns, ips = san_names(certificate)
    if dns:
        return x509.DNSName(dns[0].lower().replace("*.", "wildcard.", 1))
    if ips:
        return x509.IPAddress(ipaddress.ip_address(ips[0]))
    return None


def evaluate_chain(
    chain: Sequence[x509.Certificate],
    server_name: str,
    policy: CompliancePolicy,
    trust: TrustStore,
    now: datetime,
) -> tuple[list[Finding], CertificateSummary]:
    """Findings on the leaf of a received chain (leaf first) and a summary of it."""
    leaf = chain[0]
    findings: list[Finding] = []
    subject = _name(leaf.subject)
    family, bits = key_description(leaf)
    if not policy.key_size_allowed(family, bits):
        minimum = {"RSA": policy.min_rsa_bits, "EC": policy.min_ec_bits}.get(family)
        wanted = f"minimum {minimum}" if minimum else "RSA or EC keys only"
        findings.append(
            _finding(
                "cert-key-too-small",
                f"{family} {bits}-bit key is below policy",
                f"{subject}: {family} {bits} bits ({wanted})",
            )
        )
    hash_name = signature_hash_name(leaf)
    if hash_name in ("sha1", "md5", "md2", "md4", "unknown"):
        findings.append(
            _finding(
                "cert-weak-signature",
                f"certificate signed with {hash_name.upper()}",
                f"{subject}: signature algorithm {leaf.signature_algorithm_oid._name}",
            )
        )
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    days_left = (not_after - now).total_seconds() / 86400
    if days_left < 0:
        findings.append(
            _finding(
                "cert-expired",
                "certificate expired",
                f"{subject}: expired {not_after:%Y-%m-%d %H:%M} UTC ({-days_left:.1f} days ago)",
            )
        )
    else:
        tier = policy.tier_for(days_left)
        if tier is not None:
            findings.append(
                _finding(
                    "cert-expiry-tier",
                    f"certificate expires within {tier.days} days",
                    f"{subject}: expires {not_after:%Y-%m-%d} ({days_left:.1f} days; alert tiers "
                    f"{'/'.join(str(d) for d in policy.alert_tier_days)}, tier {tier.days} is "
                    f"{tier.severity.value})",
                    H if tier.severity is Severity.CRITICAL else M,
                )
            )
    if now < not_before:
        findings.append(
            _finding(
                "cert-not-yet-valid",
                "certificate not yet valid",
                f"{subject}: valid from {not_before:%Y-%m-%d %H:%M} UTC",
            )
        )
    lifetime = (not_after - not_before).total_seconds() / 86400
    if lifetime > policy.max_validity_days:
        findings.append(
            _finding(
                "cert-validity-too-long",
                f"validity period of {lifetime:.0f} days exceeds policy",
                f"{subject}: {not_before:%Y-%m-%d} to {not_after:%Y-%m-%d} "
                f"(max_validity_days={policy.max_validity_days})",
            )
        )
    dns, ips = san_names(leaf)
    if not hostname_matches(leaf, server_name):
        findings.append(
            _finding(
                "cert-hostname-mismatch",
                f"certificate does not name {server_name}",
                f"{subject}: subjectAltName {_sample(dns + ips) if dns or ips else '(none)'}",
            )
        )
    findings += _chain_findings(chain, server_name, trust, now)
    summary = CertificateSummary(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_before=not_before.isoformat(),
        not_after=not_after.isoformat(),
        days_to_expiry=days_left,
        key=f"{family} {bits}",
        signature_hash=hash_name,
        san=tuple(dns + ips),
    )
    return findings, summary


def _chain_findings(
    chain: Sequence[x509.Certificate], server_name: str, trust: TrustStore, now: datetime
) -> list[Finding]:
    leaf = chain[0]
    subject = _name(leaf.subject)
    if is_self_signed(leaf):
        return [
            _finding(
                "cert-self-signed",
                "self-signed certificate",
                f"{subject} is signed by its own key",
            )
        ]
    sent_issuer = any(issued_by(leaf, other) for other in chain[1:])
    if not sent_issuer and not trust.issuer_is_anchor(leaf):
        return [
            _finding(
                "cert-incomplete-chain",
                "incomplete chain: the server omits the issuing certificate",
                f"{subject} is issued by {_name(leaf.issuer)}, which the server did not send "
                f"({len(chain)} certificate(s) sent) and which is not a trust anchor",
            )
        ]
    verification_name = _verification_subject(leaf, server_name)
    if verification_name is None:
        return [
            _finding(
                "cert-untrusted",
                "untrusted certificate",
                f"{subject}: no subjectAltName, so no client can validate it",
            )
        ]
    # Validate at a moment inside the leaf's validity so that expiry is reported once, above.
    at = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc - timedelta(seconds=1))
    reason = trust.verify(leaf, chain[1:], verification_name, at.astimezone(UTC))
    if reason is not None:
        return [
            _finding(
                "cert-untrusted",
                "certificate does not chain to a trusted CA",
                f"{subject} (issuer {_name(leaf.issuer)}): {reason}",
            )
        ]
    return []
