"""Audit records: one structured JSON record per certificate per run, and one per action.

Records go to the Powertools Logger (CloudWatch Logs, KMS-encrypted, six-year retention) as they
are made, before any alert is sent, so an action taken is never lost even if alerting fails. The
same records are written with the run's reports as ``audit.jsonl`` for evidence exports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from certwarden_runtime import contract
from certwarden_runtime.actions import Assessment


def make_logger() -> Logger:
    return Logger(service=contract.SERVICE_NAME)


def certificate_record(run_id: str, environment: str, a: Assessment) -> dict[str, Any]:
    r = a.record
    return {
        "record_type": "certificate",
        "run_id": run_id,
        "environment": environment,
        "certificate_arn": r.arn,
        "region": r.region,
        "domain": r.domain,
        "type": r.type,
        "status": r.status,
        "key_algorithm": r.key_algorithm,
        "not_after": r.not_after.isoformat() if r.not_after else None,
        "days_to_expiry": None if a.days_to_expiry is None else round(a.days_to_expiry, 2),
        "tier_days": a.tier.days if a.tier else None,
        "severity": a.severity.value if a.severity else None,
        "action": a.action.value,
        "reason": a.reason,
        "findings": [str(f) for f in a.findings],
        "in_use": r.in_use,
        "renewal_eligibility": r.renewal_eligibility,
        "hipaa": a.hipaa,
    }


@dataclass
class AuditTrail:
    """Collects and logs the run's audit records."""

    run_id: str
    environment: str
    logger: Logger | None = None
    records: list[dict[str, Any]] = field(default_factory=list)

    def _emit(self, message: str, record: dict[str, Any]) -> None:
        record.setdefault("timestamp", dt.datetime.now(dt.UTC).isoformat())
        self.records.append(record)
        if self.logger is not None:
            self.logger.info(message, extra={"audit": record})

    def certificate(self, a: Assessment) -> None:
        self._emit("certificate", certificate_record(self.run_id, self.environment, a))

    def action(self, arn: str, action: str, outcome: str, detail: str = "") -> None:
        self._emit(
            "action",
            {
                "record_type": "action",
                "run_id": self.run_id,
                "environment": self.environment,
                "certificate_arn": arn,
                "action": action,
                "outcome": outcome,
                "detail": detail,
            },
        )

    def error(self, arn: str, stage: str, error: str) -> None:
        self._emit(
            "certificate error",
            {
                "record_type": "error",
                "run_id": self.run_id,
                "environment": self.environment,
                "certificate_arn": arn,
                "stage": stage,
                "error": error,
            },
        )

    def run(self, summary: dict[str, Any]) -> None:
        self._emit(
            "run",
            {"record_type": "run", "run_id": self.run_id, "environment": self.environment}
            | summary,
        )
