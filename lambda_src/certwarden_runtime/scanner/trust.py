"""Trust anchors: the system trust store plus an optional extra CA bundle (a private CA).

Chain validation uses ``cryptography.x509.verification`` (RFC 5280 / CA/B Forum path building),
not sslyze's bundled trust stores, so the scanner trusts what the operating system (or the
Lambda image) trusts, plus what the operator adds.
"""

from __future__ import annotations

import re
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

#: Where distributions keep the system bundle (Debian/Ubuntu, Amazon Linux/RHEL, Alpine, SUSE).
SYSTEM_BUNDLES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
)
_PEM_RE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


class TrustStoreError(ValueError):
    """The CA bundle cannot be read or holds no certificate."""


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle; blocks that do not parse are skipped."""
    certificates = []
    with warnings.catch_warnings():
        # System bundles hold a few legacy roots with non-positive serials; they still count.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in _PEM_RE.findall(data):
            try:
                certificates.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return certificates


def system_bundle_path() -> Path | None:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *SYSTEM_BUNDLES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class TrustStore:
    anchors: tuple[x509.Certificate, ...]

    @classmethod
    def load(cls, ca_bundle: Path | None = None, *, use_system: bool = True) -> TrustStore:
        anchors: list[x509.Certificate] = []
        if use_system:
            system = system_bundle_path()
            if system is not None:
                anchors.extend(load_pem_certificates(system.read_bytes()))
        if ca_bundle is not None:
            try:
                extra = load_pem_certificates(Path(ca_bundle).read_bytes())
            except OSError as error:
                raise TrustStoreError(
                    f"--ca-bundle {ca_bundle}: cannot read it ({error.strerror})"
                ) from None
            if not extra:
                raise TrustStoreError(f"--ca-bundle {ca_bundle}: no PEM certificate found in it")
            anchors.extend(extra)
        return cls(tuple(anchors))

    def issuer_is_anchor(self, certificate: x509.Certificate) -> bool:
        """True when a trust anchor directly issued ``certificate``."""
        return any(
            _issued_by(certificate, anchor)
            for anchor in self.anchors
            if anchor.subject == certificate.issuer
        )

    def verify(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        subject: x509.DNSName | x509.IPAddress,
        at: datetime,
    ) -> str | None:
        """None when a path from ``leaf`` to an anchor exists; else the validator's reason."""
        if not self.anchors:
            return "no trust anchors (system trust store not found and no --ca-bundle)"
        verifier = (
            PolicyBuilder().store(Store(list(self.anchors))).time(at).build_server_verifier(subject)
        )
        try:
            verifier.verify(leaf, list(intermediates))
        except VerificationError as error:
            return str(error)
        except ValueError as error:  # malformed extensions and the like
            return f"certificate cannot be validated: {error}"
        return None


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (UnsupportedAlgorithm, ValueError):
        # cryptography refuses SHA-1 (and weaker) certificate signatures: check them by hand.
        return _legacy_signature_valid(certificate, issuer)
    except (InvalidSignature, TypeError):
        return False
    return True


def _legacy_signature_valid(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        algorithm = certificate.signature_hash_algorithm
        key = issuer.public_key()
        if algorithm is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(
                certificate.signature,
                certificate.tbs_certificate_bytes,
                padding.PKCS1v15(),
                algorithm,
            )
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(
                certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(algorithm)
            )
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def is_self_signed(certificate: x509.Certificate) -> bool:
    return certificate.subject == certificate.issuer and _issued_by(certificate, certificate)


def issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    return certificate.issuer == issuer.subject and _issued_by(certificate, issuer)
