"""Fleet-level custom metrics through CloudWatch EMF (aws-lambda-powertools).

Never one custom metric per certificate: at 2,500 certificates that is thousands of dollars a
year, and ACM already publishes ``AWS/CertificateManager DaysToExpiry`` per certificate. The
only dimension is ``Environment`` (contract.DIMENSION_ENVIRONMENT), which the alarms and the
dashboard of the constructs use verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from certwarden_runtime import contract
from certwarden_runtime.actions import Assessment
from certwarden_runtime.policy import CompliancePolicy


def tier_metric_name(days: int) -> str:
    return contract.METRIC_CERTIFICATES_WITHIN_TIER.format(days=days)


def fleet_metrics(
    assessments: Iterable[Assessment],
    policy: CompliancePolicy,
    *,
    renewals_started: int,
    renewals_failed: int,
    certificate_errors: int,
    complete: bool,
) -> dict[str, float]:
    """The metric values of one run (pure)."""
    items = list(assessments)
    values: dict[str, float] = {
        contract.METRIC_CERTIFICATES_TOTAL: len(items),
        contract.METRIC_CERTIFICATES_EXPIRED: 0,
        contract.METRIC_RENEWALS_STARTED: renewals_started,
        contract.METRIC_RENEWALS_FAILED: renewals_failed,
        contract.METRIC_POLICY_FINDINGS: sum(len(a.findings) for a in items),
        contract.METRIC_CERTIFICATE_ERRORS: certificate_errors,
        contract.METRIC_JOB_SUCCEEDED: 1 if complete else 0,
        contract.METRIC_JOB_INCOMPLETE: 0 if complete else 1,
    }
    for tier in policy.alert_tiers:
        values[tier_metric_name(tier.days)] = 0
    active_days: list[float] = []
    for a in items:
        if a.days_to_expiry is None:
            continue
        if a.days_to_expiry <= 0:
            values[contract.METRIC_CERTIFICATES_EXPIRED] += 1
            continue
        if a.record.status == "ISSUED":
            active_days.append(a.days_to_expiry)
        for tier in policy.alert_tiers:
            if a.days_to_expiry <= tier.days:
                values[tier_metric_name(tier.days)] += 1
    if active_days:
        values[contract.METRIC_MIN_DAYS_TO_EXPIRY] = round(min(active_days), 2)
    return values


def emf_document(values: Mapping[str, float], environment: str) -> dict[str, object]:
    """One EMF document with every metric of the run, dimension Environment only."""
    provider = AmazonCloudWatchEMFProvider(namespace=contract.METRICS_NAMESPACE)
    # No implicit "service" dimension (POWERTOOLS_SERVICE_NAME would add one): alarms match
    # on the exact dimension set {Environment}.
    provider.service = None  # type: ignore[assignment]
    provider.add_dimension(name=contract.DIMENSION_ENVIRONMENT, value=environment or "default")
    for name, value in values.items():
        unit = MetricUnit.Count
        if name == contract.METRIC_MIN_DAYS_TO_EXPIRY:
            unit = MetricUnit.NoUnit
        provider.add_metric(name=name, unit=unit, value=float(value))
    return dict(provider.serialize_metric_set())


def publish(
    values: Mapping[str, float], environment: str, emit: Callable[[str], None] = print
) -> dict[str, object]:
    """Write the EMF document to stdout (CloudWatch Logs turns it into metrics)."""
    document = emf_document(values, environment)
    emit(json.dumps(document, separators=(",", ":")))
    return document
