"""Alert messages: one per run per severity, each affected certificate listed exactly once.

Messages name certificates by domain, ARN and region only: no tags' values, no keys, no patient
data. SNS caps a message at 256 KB; a very long list is cut and points to the run's report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from certwarden_runtime.alert_state import Alert
from certwarden_runtime.policy import Severity

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

MAX_LISTED = 500
SUBJECT_LIMIT = 100


def _line(alert: Alert) -> str:
    days = "n/a" if alert.days_to_expiry is None else f"{alert.days_to_expiry:.1f}"
    deadline = f" deadline {alert.deadline.date().isoformat()}" if alert.deadline else ""
    tier = "expired" if alert.level == 0 else (f"<= {alert.level} days" if alert.level else "-")
    reason = f" - {alert.reason}" if alert.reason else ""
    return (
        f"- {alert.domain or '(no domain)'} [{alert.region}] days left {days} ({tier}); "
        f"action {alert.action.value}{deadline}{reason}\n  {alert.arn}"
    )


def group_by_severity(alerts: Sequence[Alert]) -> dict[Severity, list[Alert]]:
    grouped: dict[Severity, list[Alert]] = {}
    seen: set[tuple[Severity, str]] = set()
    for alert in sorted(alerts, key=lambda a: (a.days_to_expiry is None, a.days_to_expiry or 0)):
        if (alert.severity, alert.arn) in seen:
            continue
        seen.add((alert.severity, alert.arn))
        grouped.setdefault(alert.severity, []).append(alert)
    return grouped


def build_message(
    severity: Severity, alerts: Sequence[Alert], environment: str, run_id: str, report: str
) -> tuple[str, str]:
    """(subject, body) of the one message for ``severity``."""
    subject = f"[CertWarden {environment}] {severity.value}: {len(alerts)} certificate(s)"
    lines = [
        f"CertWarden {environment}: {len(alerts)} certificate(s) newly reached "
        f"{severity.value} this run (run {run_id}).",
        "",
    ]
    lines += [_line(a) for a in alerts[:MAX_LISTED]]
    if len(alerts) > MAX_LISTED:
        lines.append(f"... and {len(alerts) - MAX_LISTED} more: see the report.")
    if report:
        lines += ["", f"Full inventory: {report}"]
    return subject[:SUBJECT_LIMIT], "\n".join(lines)


def publish_alerts(
    sns: SNSClient | None,
    topics: Mapping[Severity, str],
    alerts: Sequence[Alert],
    *,
    environment: str,
    run_id: str,
    report: str = "",
) -> tuple[set[Severity], dict[Severity, str]]:
    """Publish one message per severity. Returns (delivered severities, errors by severity)."""
    delivered: set[Severity] = set()
    errors: dict[Severity, str] = {}
    for severity, group in group_by_severity(alerts).items():
        topic = topics.get(severity)
        if sns is None or not topic:
            errors[severity] = f"no topic configured for {severity.value}"
            continue
        subject, body = build_message(severity, group, environment, run_id, report)
        try:
            sns.publish(TopicArn=topic, Subject=subject, Message=body)
        except Exception as error:  # recorded and retried next run; never loses the audit
            errors[severity] = f"{type(error).__name__}: {error}"
            continue
        delivered.add(severity)
    return delivered, errors
