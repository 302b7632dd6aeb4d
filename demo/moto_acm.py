"""What moto 5.x lacks for ACM, added on moto's own model (in-process or ThreadedMotoServer).

moto's ACM, as of 5.2, has these gaps that matter to CertWarden:

* ``ListCertificates`` ignores ``MaxItems``/``NextToken`` (returns everything in one page),
  so pagination could not be exercised. :func:`install` makes it page like ACM does.
* ``RenewalEligibility`` is always ``INELIGIBLE`` and ``RenewalSummary`` is never returned.
  :func:`install` reports the values a test or the demo sets on the certificate
  (:func:`set_certificate`).
* ``RenewCertificate`` is not implemented. :func:`install` adds it: eligible PRIVATE
  certificates are "renewed" (counted), anything else gets ACM's ValidationException.
* Certificates can only be *imported* (with any key type and NotAfter) — requested ones are
  always RSA_2048 with 365 days. Seeding therefore imports certificates made with
  ``cryptography`` and then sets type/status/in-use on moto's model.

Nothing here is used by the Lambda runtime; it only shapes the fake AWS.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from moto.acm import models as acm_models
from moto.acm import responses as acm_responses
from moto.acm.exceptions import AWSValidationException
from moto.core.responses import ActionResult, EmptyResult

_INSTALLED = False
RENEWALS: list[str] = []


def _describe(self: Any) -> dict[str, Any]:
    result: dict[str, Any] = _ORIGINAL_DESCRIBE(self)
    cert = result["Certificate"]
    eligibility = getattr(self, "cw_renewal_eligibility", None)
    if eligibility:
        cert["RenewalEligibility"] = eligibility
    summary = getattr(self, "cw_renewal_summary", None)
    if summary:
        cert["RenewalSummary"] = summary
    return result


_ORIGINAL_DESCRIBE = acm_models.CertBundle.describe


def _list_certificates(self: Any) -> ActionResult:
    statuses = self._get_param("CertificateStatuses")
    includes = self._get_param("Includes")
    max_items = int(self._get_param("MaxItems") or 1000)
    start = int(self._get_param("NextToken") or 0)
    bundles = list(self.acm_backend.list_certificates(statuses, includes))
    page = bundles[start : start + max_items]
    certs = []
    for bundle in page:
        summary = bundle.describe()["Certificate"]
        summary["InUse"] = bool(summary.pop("InUseBy", []))
        summary["Exported"] = bundle.cert_options.get("Export") == "ENABLED"
        certs.append(summary)
    result: dict[str, Any] = {"CertificateSummaryList": certs}
    if start + max_items < len(bundles):
        result["NextToken"] = str(start + max_items)
    return ActionResult(result=result)


def _renew_certificate(self: Any) -> EmptyResult:
    arn = self._get_param("CertificateArn")
    bundle = self.acm_backend.get_certificate(arn)
    eligible = getattr(bundle, "cw_renewal_eligibility", "INELIGIBLE") == "ELIGIBLE"
    if bundle.type != "PRIVATE" or not eligible:
        raise AWSValidationException(f"Certificate {arn} is not eligible for renewal.")
    RENEWALS.append(arn)
    return EmptyResult()


def install() -> None:
    """Patch moto's ACM (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    acm_models.CertBundle.describe = _describe  # type: ignore[method-assign]
    acm_responses.AWSCertificateManagerResponse.list_certificates = _list_certificates  # type: ignore[method-assign]
    acm_responses.AWSCertificateManagerResponse.renew_certificate = _renew_certificate  # type: ignore[attr-defined]
    _INSTALLED = True


# -- certificate material -------------------------------------------------------------------
_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "EC_prime256v1": ec.SECP256R1,
    "EC_secp384r1": ec.SECP384R1,
    "EC_secp521r1": ec.SECP521R1,
}


@functools.cache
def private_key(key_algorithm: str) -> Any:
    """One key per algorithm per process (RSA-4096 generation is slow; reuse is fine here)."""
    if key_algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[key_algorithm]())
    bits = int(key_algorithm.split("_")[1])
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_certificate(
    domain: str,
    key_algorithm: str,
    not_after: dt.datetime,
    *,
    not_before: dt.datetime | None = None,
    issuer_cn: str = "Example Org Issuing CA",
    sans: tuple[str, ...] = (),
) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) with exactly this key type and NotAfter."""
    key = private_key(key_algorithm)
    now = dt.datetime.now(dt.UTC)
    not_before = not_before or min(now - dt.timedelta(days=1), not_after - dt.timedelta(days=90))
    names = [x509.DNSName(n) for n in dict.fromkeys((domain, *sans))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def import_certificate(
    acm: Any,
    domain: str,
    *,
    key_algorithm: str = "EC_prime256v1",
    days_left: float = 200.0,
    validity_days: float = 365.0,
    tags: dict[str, str] | None = None,
) -> str:
    now = dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=days_left)
    not_before = not_after - dt.timedelta(days=validity_days)
    if not_before > now:
        not_before = now - dt.timedelta(hours=1)
    # moto refuses expired certificates on import: import a valid one, expire it afterwards
    expired = days_left <= 0
    pem, key = make_certificate(
        domain,
        key_algorithm,
        now + dt.timedelta(days=30) if expired else not_after,
        not_before=not_before,
    )
    kwargs: dict[str, Any] = {"Certificate": pem, "PrivateKey": key}
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    arn = str(acm.import_certificate(**kwargs)["CertificateArn"])
    if expired:
        pem, _ = make_certificate(domain, key_algorithm, not_after, not_before=not_before)
        bundle(arn)._cert = x509.load_pem_x509_certificate(pem)
    return arn


def bundle(arn: str) -> Any:
    """moto's model object of a certificate ARN."""
    parts = arn.split(":")
    region, account = parts[3], parts[4]
    return acm_models.acm_backends[account][region]._certificates[arn]


def set_certificate(
    arn: str,
    *,
    type: str | None = None,
    status: str | None = None,
    in_use: bool | None = None,
    eligibility: str | None = None,
    renewal_summary: dict[str, Any] | None = None,
    ca_arn: str | None = None,
) -> None:
    b = bundle(arn)
    if type is not None:
        b.type = type
    if status is not None:
        b.status = status
        b.created_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if in_use is not None:
        b.in_use_by = (
            ["arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/example/1"]
            if in_use
            else []
        )
    if eligibility is not None:
        b.cw_renewal_eligibility = eligibility
    if renewal_summary is not None:
        b.cw_renewal_summary = renewal_summary
    if ca_arn is not None:
        b.cert_authority_arn = ca_arn
