"""Boto3 client construction in one place: adaptive retries, optional endpoint and profile.

Everything else receives clients as arguments, so tests inject moto-backed ones and the CLI
points them at any endpoint (``--endpoint-url``) without the decision code knowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_acm_pca import ACMPCAClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

#: Adaptive mode adds client-side rate limiting on top of exponential back-off, which is what
#: a job that walks a whole fleet against per-second quotas wants. Connect and read timeouts
#: are bounded (botocore's default is 60 s each) so one stalled call cannot eat the run's
#: closing reserve (``JobSettings.reserve_seconds``).
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 15
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
)


@dataclass
class RegionClients:
    """The clients the certificate job uses in one region."""

    region: str
    acm: ACMClient
    tagging: ResourceGroupsTaggingAPIClient


@dataclass
class Clients:
    """Per-region ACM/tagging clients plus the home-region S3 and SNS clients."""

    regions: list[RegionClients]
    s3: S3Client | None = None
    sns: SNSClient | None = None


def _session(profile: str | None) -> boto3.session.Session:
    return boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()


def make_clients(
    regions: list[str],
    *,
    home_region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    config: Config | None = None,
) -> Clients:
    """Build clients for ``regions`` (ACM, tagging) and the home region (S3, SNS)."""
    if not regions:
        raise ValueError("regions: at least one AWS region is required")
    session = _session(profile)
    cfg = config or RETRY_CONFIG
    extra: dict[str, Any] = {"config": cfg}
    if endpoint_url:
        extra["endpoint_url"] = endpoint_url
    home = home_region or regions[0]
    return Clients(
        regions=[
            RegionClients(
                region=r,
                acm=session.client("acm", region_name=r, **extra),
                tagging=session.client("resourcegroupstaggingapi", region_name=r, **extra),
            )
            for r in regions
        ],
        s3=session.client("s3", region_name=home, **extra),
        sns=session.client("sns", region_name=home, **extra),
    )


def make_acmpca_client(
    region: str, *, profile: str | None = None, endpoint_url: str | None = None
) -> ACMPCAClient:
    extra: dict[str, Any] = {"config": RETRY_CONFIG}
    if endpoint_url:
        extra["endpoint_url"] = endpoint_url
    return _session(profile).client("acm-pca", region_name=region, **extra)
