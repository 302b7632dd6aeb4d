"""CertWarden-CW1: DaysToExpiry alarms are daily, Minimum and breaching on missing data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certwarden_runtime.policy import CompliancePolicy

from . import Rule, RuleResult, describe

RESOURCE_TYPE = "AWS::CloudWatch::Alarm"
NAMESPACE = "AWS/CertificateManager"
METRIC_NAME = "DaysToExpiry"
PERIOD_SECONDS = 86400
STATISTIC = "Minimum"
TREAT_MISSING_DATA = "breaching"


def _is_days_to_expiry(metric: Mapping[str, Any]) -> bool:
    return metric.get("Namespace") == NAMESPACE and metric.get("MetricName") == METRIC_NAME


def check_days_to_expiry_alarm(
    resource_type: str, properties: Mapping[str, Any], policy: CompliancePolicy
) -> RuleResult:
    """``Period`` 86400, ``Statistic`` Minimum and ``TreatMissingData`` breaching, for a single
    metric alarm or for each DaysToExpiry ``MetricStat`` inside a metric-math alarm.

    ACM publishes DaysToExpiry once a day and stops at expiry: a shorter period alarms on gaps,
    another statistic hides the certificate nearest to expiry, and missing data must breach.
    """
    del policy
    if resource_type != RESOURCE_TYPE:
        return None
    # (where, period, statistic) of every DaysToExpiry metric the alarm evaluates
    uses: list[tuple[str, object, object]] = []
    if _is_days_to_expiry(properties):
        statistic = properties.get("Statistic")
        if statistic is None and "ExtendedStatistic" in properties:
            statistic = properties["ExtendedStatistic"]
        uses.append(("", properties.get("Period"), statistic))
    for index, query in enumerate(properties.get("Metrics") or []):
        if not isinstance(query, Mapping):
            continue
        stat = query.get("MetricStat")
        if isinstance(stat, Mapping) and _is_days_to_expiry(stat.get("Metric") or {}):
            where = f"Metrics[{index}].MetricStat."
            uses.append((where, stat.get("Period"), stat.get("Stat")))
    if not uses:
        return None
    problems: list[str] = []
    for where, period, statistic in uses:
        if period != PERIOD_SECONDS:
            problems.append(f"{where}Period is {describe(period)}; required: {PERIOD_SECONDS}")
        if statistic != STATISTIC:
            name = "Stat" if where else "Statistic"
            problems.append(f"{where}{name} is {describe(statistic)}; required: '{STATISTIC}'")
    treat = properties.get("TreatMissingData")
    if treat != TREAT_MISSING_DATA:
        shown = "absent (CloudWatch then uses 'missing')" if treat is None else describe(treat)
        problems.append(f"TreatMissingData is {shown}; required: '{TREAT_MISSING_DATA}'")
    return problems


RULE = Rule(
    rule_id="CW1",
    resource_types=frozenset({RESOURCE_TYPE}),
    info=(
        "The AWS/CertificateManager DaysToExpiry alarm must use Period 86400, Statistic Minimum "
        "and TreatMissingData breaching."
    ),
    explanation=(
        "ACM publishes DaysToExpiry once a day per certificate and stops publishing when the "
        "certificate expires: shorter periods see gaps, other statistics hide the soonest "
        "expiry, and treating missing data as anything but breaching silences the alarm exactly "
        "when the certificate has expired."
    ),
    check=check_days_to_expiry_alarm,
)
