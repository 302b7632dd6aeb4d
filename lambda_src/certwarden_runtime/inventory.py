"""Discovery: every ACM certificate of a region with as few API calls as the APIs allow.

* ``ListCertificates`` (paginated, 1,000 per page) already carries NotAfter, Type, KeyAlgorithm,
  InUse, RenewalEligibility and Status in each summary, so nothing is described by default.
  ``Includes.keyTypes`` names every key algorithm: without it ACM returns RSA_2048 only.
* Tags for the whole fleet come from the Resource Groups Tagging API (``GetResources``, 100
  resources per page) instead of one ``ListTagsForCertificate`` per certificate.
* ``DescribeCertificate`` is called only for the certificates whose decision needs detail
  (renewal summary, validation records, issuer, serial): see :func:`actions.needs_detail`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from certwarden_runtime.policy import ACM_KEY_ALGORITHMS

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_acm.literals import KeyAlgorithmType
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient

#: Largest page ListCertificates accepts (MaxItems 1..1000).
LIST_PAGE_SIZE = 1000
#: Largest page GetResources accepts (ResourcesPerPage 1..100).
TAG_PAGE_SIZE = 100
#: Largest tag budget per GetResources page (TagsPerPage 100..500).
TAGS_PER_PAGE = 500
ACM_RESOURCE_TYPE = "acm:certificate"


@dataclass(frozen=True)
class ValidationRecord:
    """A DNS record ACM still waits for (domain validation or renewal validation)."""

    domain: str
    name: str
    type: str
    value: str
    status: str


@dataclass(frozen=True)
class CertificateDetail:
    """What only DescribeCertificate tells."""

    issuer: str = ""
    serial: str = ""
    certificate_authority_arn: str = ""
    renewal_status: str = ""
    renewal_reason: str = ""
    pending_records: tuple[ValidationRecord, ...] = ()
    failure_reason: str = ""
    in_use_by_count: int = 0


@dataclass
class CertificateRecord:
    """One certificate as discovered: the ListCertificates summary plus tags (and detail)."""

    arn: str
    region: str
    domain: str
    san_count: int
    type: str
    status: str
    key_algorithm: str
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    in_use: bool
    renewal_eligibility: str
    exported: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    detail: CertificateDetail | None = None

    @property
    def issuer(self) -> str:
        if self.detail and self.detail.issuer:
            return self.detail.issuer
        return {"AMAZON_ISSUED": "Amazon", "PRIVATE": "AWS Private CA"}.get(self.type, "")

    @property
    def validity_days(self) -> float | None:
        if self.not_before is None or self.not_after is None:
            return None
        return (self.not_after - self.not_before).total_seconds() / 86400


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return dt.datetime.fromisoformat(str(value))


def record_from_summary(summary: Mapping[str, Any], region: str) -> CertificateRecord:
    """Build a record from one ``CertificateSummaryList`` item."""
    sans = summary.get("SubjectAlternativeNameSummaries") or []
    domain = str(summary.get("DomainName", ""))
    return CertificateRecord(
        arn=str(summary["CertificateArn"]),
        region=region,
        domain=domain,
        san_count=len(sans) if sans else (1 if domain else 0),
        type=str(summary.get("Type", "")),
        status=str(summary.get("Status", "")),
        key_algorithm=str(summary.get("KeyAlgorithm", "")),
        not_before=_as_datetime(summary.get("NotBefore")),
        not_after=_as_datetime(summary.get("NotAfter")),
        in_use=bool(summary.get("InUse", False)),
        renewal_eligibility=str(summary.get("RenewalEligibility", "")),
        exported=bool(summary.get("Exported", False)),
    )


def iter_certificate_summaries(acm: ACMClient) -> Iterator[Mapping[str, Any]]:
    """Every certificate summary in the client's region, every key type and status."""
    paginator = acm.get_paginator("list_certificates")
    pages = paginator.paginate(
        Includes={"keyTypes": cast("list[KeyAlgorithmType]", list(ACM_KEY_ALGORITHMS))},
        PaginationConfig={"PageSize": LIST_PAGE_SIZE},
    )
    for page in pages:
        yield from page.get("CertificateSummaryList", [])


def fetch_tags(tagging: ResourceGroupsTaggingAPIClient) -> dict[str, dict[str, str]]:
    """Tags of every ACM certificate in the region, keyed by ARN (untagged ones are absent).

    Pages are sized by ResourcesPerPage (100, what AWS recommends) with TagsPerPage at its
    maximum (500) so a tag budget does not cut pages short; should the service refuse the pair,
    the request is repeated with ResourcesPerPage alone.
    """
    try:
        return _fetch_tags(tagging, TAGS_PER_PAGE)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "InvalidParameterException":
            raise
        return _fetch_tags(tagging, None)


def _fetch_tags(
    tagging: ResourceGroupsTaggingAPIClient, tags_per_page: int | None
) -> dict[str, dict[str, str]]:
    paginator = tagging.get_paginator("get_resources")
    extra: dict[str, Any] = {"TagsPerPage": tags_per_page} if tags_per_page else {}
    tags: dict[str, dict[str, str]] = {}
    # PageSize is GetResources' ResourcesPerPage.
    for page in paginator.paginate(
        ResourceTypeFilters=[ACM_RESOURCE_TYPE],
        PaginationConfig={"PageSize": TAG_PAGE_SIZE},
        **extra,
    ):
        for mapping in page.get("ResourceTagMappingList", []):
            tags[mapping["ResourceARN"]] = {
                t["Key"]: t.get("Value", "") for t in mapping.get("Tags", [])
            }
    return tags


def discover(
    acm: ACMClient, tagging: ResourceGroupsTaggingAPIClient, region: str
) -> list[CertificateRecord]:
    """The region's certificates with their tags; no per-certificate calls."""
    records = [record_from_summary(s, region) for s in iter_certificate_summaries(acm)]
    tags = fetch_tags(tagging)
    for record in records:
        record.tags = dict(tags.get(record.arn, {}))
    return records


def _pending_records(options: list[Mapping[str, Any]]) -> tuple[ValidationRecord, ...]:
    pending: list[ValidationRecord] = []
    for option in options:
        status = str(option.get("ValidationStatus", ""))
        if status == "SUCCESS":
            continue
        rr = option.get("ResourceRecord") or {}
        pending.append(
            ValidationRecord(
                domain=str(option.get("DomainName", "")),
                name=str(rr.get("Name", "")),
                type=str(rr.get("Type", "")),
                value=str(rr.get("Value", "")),
                status=status,
            )
        )
    return tuple(pending)


def detail_from_description(certificate: Mapping[str, Any]) -> CertificateDetail:
    """Pick what decisions need from a ``DescribeCertificate`` ``Certificate``."""
    renewal = certificate.get("RenewalSummary") or {}
    if renewal:
        pending = _pending_records(list(renewal.get("DomainValidationOptions", [])))
    elif certificate.get("Status") == "PENDING_VALIDATION":
        pending = _pending_records(list(certificate.get("DomainValidationOptions", [])))
    else:
        pending = ()
    return CertificateDetail(
        issuer=str(certificate.get("Issuer", "")),
        serial=str(certificate.get("Serial", "")),
        certificate_authority_arn=str(certificate.get("CertificateAuthorityArn", "")),
        renewal_status=str(renewal.get("RenewalStatus", "")),
        renewal_reason=str(renewal.get("RenewalStatusReason", "")),
        pending_records=pending,
        failure_reason=str(certificate.get("FailureReason", "")),
        in_use_by_count=len(certificate.get("InUseBy", []) or []),
    )


def describe(acm: ACMClient, arn: str) -> CertificateDetail:
    response = acm.describe_certificate(CertificateArn=arn)
    return detail_from_description(dict(response["Certificate"]))
