"""The daily certificate-operations run: discover, decide, act, audit, report, alert, measure.

AWS calls happen here, with injected clients; every decision is delegated to the pure modules.
The run watches its remaining time: it stops taking on certificates when less than the reserve
remains, still writes reports, state and metrics for what it did, and reports itself incomplete
(the handler then fails so the Errors and heartbeat alarms fire) instead of being killed
mid-write.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from certwarden_runtime import alert_state, alerts, contract, inventory, metrics, reports
from certwarden_runtime.actions import Action, Assessment, assess, needs_detail
from certwarden_runtime.audit import AuditTrail
from certwarden_runtime.aws import Clients
from certwarden_runtime.policy import CompliancePolicy, Severity


class StateStore(Protocol):
    def load(self) -> alert_state.State: ...

    def save(self, state: alert_state.State, now: dt.datetime) -> None: ...


class SettingsError(ValueError):
    """A job setting (environment variable or CLI option) is missing or malformed."""


@dataclass(frozen=True)
class JobSettings:
    environment: str
    policy: CompliancePolicy
    regions: tuple[str, ...]
    warning_topic_arn: str = ""
    critical_topic_arn: str = ""
    reports_bucket: str = ""
    reports_kms_key_id: str = ""
    state_key: str = contract.DEFAULT_STATE_KEY
    #: Call RenewCertificate for eligible private certificates inside the window.
    take_actions: bool = True
    #: Publish alerts and keep the tier-crossing state.
    send_alerts: bool = True
    #: Stop taking on certificates when fewer seconds than this remain. It must cover the
    #: closing writes (reports, alert state, SNS, audit: about eight calls, each bounded by the
    #: clients' connect/read timeouts in ``aws.RETRY_CONFIG``) with room to spare.
    reserve_seconds: float = 60.0

    @property
    def topics(self) -> dict[Severity, str]:
        topics = {
            Severity.WARNING: self.warning_topic_arn,
            Severity.CRITICAL: self.critical_topic_arn,
        }
        return {k: v for k, v in topics.items() if v}

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], default_region: str | None = None
    ) -> JobSettings:
        """Settings of the Lambda, from the variables the construct sets (see contract)."""
        region = default_region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        regions = tuple(
            r.strip() for r in environ.get(contract.ENV_REGIONS, "").split(",") if r.strip()
        ) or ((region,) if region else ())
        if not regions:
            raise SettingsError(
                f"{contract.ENV_REGIONS} is empty and AWS_REGION is not set: name the regions"
            )
        for r in regions:
            if not r.replace("-", "").isalnum() or r.count("-") < 2:
                raise SettingsError(f"{contract.ENV_REGIONS}: {r!r} is not an AWS region name")
        return cls(
            environment=environ.get(contract.ENV_ENVIRONMENT, "default"),
            policy=CompliancePolicy.from_environment(environ),
            regions=regions,
            warning_topic_arn=environ.get(contract.ENV_WARNING_TOPIC_ARN, ""),
            critical_topic_arn=environ.get(contract.ENV_CRITICAL_TOPIC_ARN, ""),
            reports_bucket=environ.get(contract.ENV_REPORTS_BUCKET, ""),
            reports_kms_key_id=environ.get(contract.ENV_REPORTS_KMS_KEY_ID, ""),
            state_key=environ.get(contract.ENV_STATE_KEY, "") or contract.DEFAULT_STATE_KEY,
        )


@dataclass
class CertificateError:
    arn: str
    stage: str
    error: str


@dataclass
class JobResult:
    run_id: str
    started_at: dt.datetime
    assessments: list[Assessment] = field(default_factory=list)
    errors: list[CertificateError] = field(default_factory=list)
    renewals_started: int = 0
    renewals_failed: int = 0
    alerts: list[alert_state.Alert] = field(default_factory=list)
    alert_errors: dict[str, str] = field(default_factory=dict)
    complete: bool = True
    skipped: int = 0
    #: Alerting was left to the next run for lack of time (the state was not advanced, so
    #: nothing is lost: the next run sends what this one would have).
    alerts_deferred: bool = False
    report_location: str = ""
    metric_values: dict[str, float] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.complete and not self.alert_errors

    @property
    def critical_count(self) -> int:
        return sum(1 for a in self.assessments if a.critical)

    def summary(self) -> dict[str, Any]:
        actions: dict[str, int] = {}
        for a in self.assessments:
            actions[a.action.value] = actions.get(a.action.value, 0) + 1
        return {
            "run_id": self.run_id,
            "complete": self.complete,
            "ok": self.ok,
            "certificates": len(self.assessments),
            "skipped_for_time": self.skipped,
            "critical": self.critical_count,
            "actions": actions,
            "renewals_started": self.renewals_started,
            "renewals_failed": self.renewals_failed,
            "alerts_sent": len(self.alerts),
            "alerts_deferred": self.alerts_deferred,
            "alert_errors": self.alert_errors,
            "certificate_errors": len(self.errors),
            "report": self.report_location,
        }


def _describe_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


def run_job(
    clients: Clients,
    settings: JobSettings,
    *,
    now: dt.datetime | None = None,
    run_id: str | None = None,
    remaining_seconds: Callable[[], float] | None = None,
    audit: AuditTrail | None = None,
    state_store: StateStore | None = None,
    local_output: str | None = None,
    emit_metrics: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> JobResult:
    """One run over every configured region. Fleet-level API failures raise; per-certificate
    failures are recorded and the run goes on."""
    now = now or dt.datetime.now(dt.UTC)
    run_id = run_id or f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    audit = audit or AuditTrail(run_id=run_id, environment=settings.environment)
    audit.run_id = audit.run_id or run_id
    result = JobResult(run_id=run_id, started_at=now)
    policy = settings.policy

    def out_of_time() -> bool:
        return remaining_seconds is not None and remaining_seconds() < settings.reserve_seconds

    # 1. discovery (a handful of calls per region)
    records: list[tuple[inventory.CertificateRecord, Any]] = []
    for rc in clients.regions:
        if out_of_time():
            result.complete = False
            break
        records += [(r, rc.acm) for r in inventory.discover(rc.acm, rc.tagging, rc.region)]

    # 2. per certificate: detail only when needed, decision, action, audit
    for index, (record, acm) in enumerate(records):
        if out_of_time():
            result.complete = False
            result.skipped = len(records) - index
            break
        error = ""
        if needs_detail(record, policy, now):
            try:
                record.detail = inventory.describe(acm, record.arn)
            except (ClientError, BotoCoreError) as exc:
                error = _describe_error(exc)
                result.errors.append(CertificateError(record.arn, "describe", error))
                audit.error(record.arn, "describe", error)
        assessment = assess(record, policy, now)
        result.assessments.append(assessment)
        audit.certificate(assessment)
        if assessment.action is Action.RENEW and settings.take_actions:
            try:
                acm.renew_certificate(CertificateArn=record.arn)
            except (ClientError, BotoCoreError) as exc:
                result.renewals_failed += 1
                audit.action(record.arn, Action.RENEW.value, "FAILED", _describe_error(exc))
            else:
                result.renewals_started += 1
                audit.action(record.arn, Action.RENEW.value, "STARTED")
        result.rows.append(reports.row(assessment, error))
        if on_progress:
            on_progress(index + 1, len(records))

    # 3. reports (local and/or bucket)
    meta = {
        "environment": settings.environment,
        "run_id": run_id,
        "generated_at": now.isoformat(),
        "regions": ",".join(settings.regions),
        "complete": result.complete,
    }
    write = _report_writer(clients, settings, now, run_id, local_output)
    result.report_location = write(reports.render(result.rows, meta))

    # 4. alerts: only newly crossed tiers/actions; state stored after delivery. Without time
    #    for them, leave them to the next run rather than be killed between SNS and the state.
    if settings.send_alerts and out_of_time():
        result.complete = False
        result.alerts_deferred = True
    elif settings.send_alerts:
        if state_store is None and settings.reports_bucket and clients.s3 is not None:
            state_store = alert_state.S3StateStore(
                clients.s3,
                settings.reports_bucket,
                settings.state_key,
                settings.reports_kms_key_id or None,
            )
        previous = state_store.load() if state_store else {}
        due, state = alert_state.compute_alerts(
            previous, result.assessments, keep_unseen=not result.complete
        )
        delivered, failures = alerts.publish_alerts(
            clients.sns,
            settings.topics,
            due,
            environment=settings.environment,
            run_id=run_id,
            report=result.report_location,
        )
        result.alerts = [a for a in due if a.severity in delivered]
        result.alert_errors = {k.value: v for k, v in failures.items()}
        alert_state.revert(state, previous, [a.arn for a in due if a.severity not in delivered])
        for alert in result.alerts:
            audit.action(alert.arn, "ALERT", "SENT", alert.severity.value)
        if state_store is not None:
            state_store.save(state, now)

    # 5. fleet metrics and the run record
    result.metric_values = metrics.fleet_metrics(
        result.assessments,
        policy,
        renewals_started=result.renewals_started,
        renewals_failed=result.renewals_failed,
        certificate_errors=len(result.errors),
        complete=result.ok,
    )
    if emit_metrics is not None:
        metrics.publish(result.metric_values, settings.environment, emit_metrics)
    audit.run(result.summary())
    write({"audit.jsonl": reports.audit_jsonl(audit.records)})
    return result


def _report_writer(
    clients: Clients,
    settings: JobSettings,
    now: dt.datetime,
    run_id: str,
    local_output: str | None,
) -> Callable[[Mapping[str, str]], str]:
    """Write files locally and/or to the bucket; returns where the HTML report is."""

    def write(files: Mapping[str, str]) -> str:
        location = ""
        if local_output:
            directory = Path(local_output).expanduser()
            reports.write_local(files, directory)
            location = str(directory / "report.html")
        if settings.reports_bucket and clients.s3 is not None:
            prefix = reports.report_prefix(now, run_id)
            kms = settings.reports_kms_key_id or None
            reports.write_s3(clients.s3, settings.reports_bucket, prefix, files, kms)
            location = f"s3://{settings.reports_bucket}/{prefix}report.html"
        return location

    return write
