"""The daily certificate-operations Lambda (``contract.WATCH_HANDLER``).

Accepts the EventBridge schedule's ``Scheduled Event`` or a direct invocation ``{}`` /
``{"dry_run": true, "regions": ["us-east-1"]}``; anything else fails with a clear message.
A run that could not finish (time budget, undelivered alerts) raises :class:`JobIncompleteError`
after writing what it has, so the function's Errors alarm and the heartbeat alarm fire.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from certwarden_runtime.audit import AuditTrail, make_logger
from certwarden_runtime.aws import make_clients
from certwarden_runtime.job import JobSettings, run_job

SCHEDULED_DETAIL_TYPE = "Scheduled Event"
SCHEDULED_SOURCE = "aws.events"
EVENTBRIDGE_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
DIRECT_KEYS = {"dry_run": bool, "regions": list}

logger = make_logger()


class EventError(ValueError):
    """The invocation event is not one this function handles."""


class JobIncompleteError(RuntimeError):
    """The run stopped early or could not deliver its alerts; details in the message."""


@dataclasses.dataclass(frozen=True)
class Invocation:
    dry_run: bool = False
    regions: tuple[str, ...] = ()


def parse_event(event: Any) -> Invocation:
    """Validate the event; raise EventError naming the field and what is allowed."""
    if event is None:
        return Invocation()
    if not isinstance(event, Mapping):
        raise EventError(
            f"event must be a JSON object (the EventBridge schedule's event or {{}}), "
            f"got {type(event).__name__}"
        )
    if "detail-type" in event or "source" in event:
        detail_type, source = event.get("detail-type"), event.get("source")
        if detail_type != SCHEDULED_DETAIL_TYPE or source != SCHEDULED_SOURCE:
            raise EventError(
                f"unexpected event detail-type {detail_type!r} from source {source!r}; this "
                f"function handles {SCHEDULED_DETAIL_TYPE!r} from {SCHEDULED_SOURCE!r} or a "
                "direct invocation"
            )
        unknown = sorted(set(event) - EVENTBRIDGE_KEYS)
        if unknown:
            raise EventError(f"unexpected keys in scheduled event: {', '.join(unknown)}")
        return Invocation()
    unknown = sorted(set(event) - set(DIRECT_KEYS))
    if unknown:
        raise EventError(
            f"unknown event field(s) {', '.join(unknown)}; allowed: {', '.join(DIRECT_KEYS)}"
        )
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise EventError(f"event field dry_run must be true or false, got {dry_run!r}")
    regions = event.get("regions", [])
    if not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions):
        raise EventError(f"event field regions must be a list of region names, got {regions!r}")
    return Invocation(dry_run=dry_run, regions=tuple(regions))


def handle(event: Any, context: Any, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    invocation = parse_event(event)
    env = os.environ if environ is None else environ
    settings = JobSettings.from_environment(env)
    if invocation.regions:
        settings = dataclasses.replace(settings, regions=invocation.regions)
    if invocation.dry_run:
        settings = dataclasses.replace(settings, take_actions=False, send_alerts=False)
    home = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or settings.regions[0]
    clients = make_clients(list(settings.regions), home_region=home)
    remaining = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):

        def remaining() -> float:
            return float(context.get_remaining_time_in_millis()) / 1000.0

    result = run_job(
        clients,
        settings,
        remaining_seconds=remaining,
        audit=AuditTrail(run_id="", environment=settings.environment, logger=logger),
        emit_metrics=print,
    )
    summary = result.summary()
    if not result.ok:
        reasons = []
        if not result.complete:
            reasons.append(f"stopped for time with {result.skipped} certificate(s) not processed")
        if result.alert_errors:
            reasons.append(f"alerts not delivered: {result.alert_errors}")
        raise JobIncompleteError(f"run {result.run_id} incomplete: " + "; ".join(reasons))
    return summary


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Entry point named by ``contract.WATCH_HANDLER``."""
    return handle(event, context)
