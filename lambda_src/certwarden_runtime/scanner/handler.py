"""The scheduled TLS scan (Lambda): scan the configured targets, store CSV + JSON reports in
the reports bucket (SSE-KMS), send one SNS alert per run listing HIGH/CRITICAL endpoints, and
emit one metric per rating (CloudWatch embedded metric format)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from certwarden_runtime.policy import CompliancePolicy
from certwarden_runtime.scanner import contract
from certwarden_runtime.scanner.models import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    EndpointResult,
    Rating,
    ScanOptions,
)
from certwarden_runtime.scanner.report import rating_counts, to_csv, to_json
from certwarden_runtime.scanner.targets import targets_from_json

ALERT_RATINGS = (Rating.HIGH, Rating.CRITICAL)


@dataclass(frozen=True)
class ScanSettings:
    environment: str
    bucket: str
    kms_key_id: str
    topic_arn: str
    prefix: str
    options: ScanOptions

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ScanSettings:
        missing = [
            name
            for name in (
                contract.ENV_REPORTS_BUCKET,
                contract.ENV_REPORTS_KMS_KEY_ID,
                contract.ENV_SCAN_ALERT_TOPIC_ARN,
                contract.ENV_SCAN_TARGETS,
            )
            if not environ.get(name)
        ]
        if missing:
            raise ValueError(f"scanner function: environment variable(s) missing: {missing}")
        options = ScanOptions(
            policy=CompliancePolicy.from_environment(environ),
            timeout=float(environ.get(contract.ENV_SCAN_TIMEOUT, DEFAULT_TIMEOUT_SECONDS)),
            concurrency=int(environ.get(contract.ENV_SCAN_CONCURRENCY, DEFAULT_CONCURRENCY)),
        )
        return cls(
            environment=environ.get(contract.ENV_ENVIRONMENT, "default"),
            bucket=environ[contract.ENV_REPORTS_BUCKET],
            kms_key_id=environ[contract.ENV_REPORTS_KMS_KEY_ID],
            topic_arn=environ[contract.ENV_SCAN_ALERT_TOPIC_ARN],
            prefix=environ.get(contract.ENV_SCAN_REPORTS_PREFIX, contract.DEFAULT_REPORTS_PREFIX),
            options=options,
        )


def report_keys(prefix: str, environment: str, at: datetime) -> tuple[str, str]:
    stem = f"{prefix.strip('/')}/{environment}/{at:%Y/%m/%d}/tls-scan-{at:%Y%m%dT%H%M%SZ}"
    return f"{stem}.json", f"{stem}.csv"


def alert_message(
    results: Sequence[EndpointResult], environment: str, bucket: str, json_key: str
) -> tuple[str, str] | None:
    """(subject, message) for the run's one alert, or None when nothing is HIGH/CRITICAL."""
    bad = [r for r in results if r.rating in ALERT_RATINGS]
    if not bad:
        return None
    bad.sort(key=lambda r: -r.rating.rank)
    worst = bad[0].rating.value
    subject = f"CertWarden {environment}: {len(bad)} TLS endpoint(s) {worst}"[:100]
    lines = [
        f"TLS scan of {len(results)} endpoint(s) in {environment}: {len(bad)} rated HIGH or "
        f"CRITICAL.",
        "",
    ]
    for result in bad:
        lines.append(f"{result.rating.value}  {result.target.name} ({result.target.display})")
        for finding in sorted(result.findings, key=lambda f: -f.severity.rank):
            if finding.severity.value in ("HIGH", "CRITICAL"):
                lines.append(f"  - {finding.severity.value} {finding.rule}: {finding.evidence}")
    lines += ["", f"Full report: s3://{bucket}/{json_key}"]
    return subject, "\n".join(lines)[:250_000]


def metrics_record(results: Sequence[EndpointResult], environment: str, at: datetime) -> str:
    """One CloudWatch embedded-metric-format line: a count per rating plus the total."""
    counts = rating_counts(results)
    values = {
        contract.METRIC_ENDPOINTS_BY_RATING.format(rating=rating.title()): count
        for rating, count in counts.items()
    }
    values[contract.METRIC_ENDPOINTS_SCANNED] = len(results)
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": contract.METRICS_NAMESPACE,
                    "Dimensions": [[contract.DIMENSION_ENVIRONMENT]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                }
            ],
        },
        contract.DIMENSION_ENVIRONMENT: environment,
        **values,
    }
    return json.dumps(record, separators=(",", ":"))


def publish_run(
    results: Sequence[EndpointResult],
    settings: ScanSettings,
    *,
    s3: Any,
    sns: Any,
    at: datetime,
    emit: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Store the reports, alert once if needed, emit the metrics; returns a run summary."""
    json_key, csv_key = report_keys(settings.prefix, settings.environment, at)
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.kms_key_id}
    s3.put_object(
        Bucket=settings.bucket,
        Key=json_key,
        Body=to_json(results, settings.options.policy, at).encode(),
        ContentType="application/json",
        **encryption,
    )
    s3.put_object(
        Bucket=settings.bucket,
        Key=csv_key,
        Body=to_csv(results).encode(),
        ContentType="text/csv",
        **encryption,
    )
    alert = alert_message(results, settings.environment, settings.bucket, json_key)
    if alert is not None:
        sns.publish(TopicArn=settings.topic_arn, Subject=alert[0], Message=alert[1])
    emit(metrics_record(results, settings.environment, at))
    return {
        "endpoints": len(results),
        "ratings": rating_counts(results),
        "alerted": alert is not None,
        "reports": [f"s3://{settings.bucket}/{json_key}", f"s3://{settings.bucket}/{csv_key}"],
    }


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    from certwarden_runtime.scanner.engine import scan_endpoints

    settings = ScanSettings.from_environment(os.environ)
    targets = targets_from_json(os.environ[contract.ENV_SCAN_TARGETS])
    started = time.monotonic()
    at = datetime.now(UTC)
    results = scan_endpoints(targets, settings.options, now=at)
    config = Config(retries={"mode": "adaptive"})
    summary = publish_run(
        results,
        settings,
        s3=boto3.client("s3", config=config),
        sns=boto3.client("sns", config=config),
        at=at,
    )
    summary["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps({"message": "tls scan complete", **summary}), file=sys.stderr)
    return summary
