"""Durable tier-crossing state: which certificates were already alerted, and at what level.

A small JSON object in the reports bucket (SSE-KMS). A certificate alerts when its level
(tier days, 0 once expired) is more urgent than the stored one, or when it gets an alerting
action it was not alerted for. Tiers are matched with ``<=``, so a run skipped yesterday still
alerts today; a stored level never alerts twice. When the certificate is renewed (its NotAfter
changes) or leaves every tier, its entry is dropped so the next crossing alerts again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from certwarden_runtime.actions import ALERTING_ACTIONS, Action, Assessment
from certwarden_runtime.policy import Severity

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

STATE_VERSION = 1
State = dict[str, dict[str, Any]]


class StateError(ValueError):
    """The stored state object is not what this version writes."""


@dataclass(frozen=True)
class Alert:
    """One certificate in one alert message."""

    arn: str
    region: str
    domain: str
    days_to_expiry: float | None
    level: int | None
    severity: Severity
    action: Action
    reason: str
    deadline: dt.datetime | None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def compute_alerts(
    previous: Mapping[str, Mapping[str, Any]],
    assessments: Iterable[Assessment],
    *,
    keep_unseen: bool,
) -> tuple[list[Alert], State]:
    """Alerts due this run and the state to store once they are delivered.

    ``keep_unseen`` keeps entries of certificates this run did not assess (an incomplete run);
    a complete run drops them (the certificate was deleted).
    """
    state: State = {arn: dict(v) for arn, v in previous.items()} if keep_unseen else {}
    alerts: list[Alert] = []
    for a in assessments:
        arn = a.record.arn
        prev = dict(previous.get(arn, {}))
        if prev and prev.get("not_after") != _iso(a.record.not_after):
            prev = {}  # renewed or re-imported: a new certificate as far as alerts go
        prev_level = prev.get("level")
        prev_actions = set(prev.get("actions", []))
        level = a.level
        new_tier = level is not None and (prev_level is None or level < int(prev_level))
        new_action = a.action in ALERTING_ACTIONS and a.action.value not in prev_actions
        if (new_tier or new_action) and a.severity is not None:
            alerts.append(
                Alert(
                    arn=arn,
                    region=a.record.region,
                    domain=a.record.domain,
                    days_to_expiry=a.days_to_expiry,
                    level=level,
                    severity=a.severity,
                    action=a.action,
                    reason=a.reason,
                    deadline=a.deadline,
                )
            )
        actions = prev_actions | ({a.action.value} if a.action in ALERTING_ACTIONS else set())
        if level is None and not actions:
            state.pop(arn, None)
            continue
        if prev_level is not None and level is not None:
            level = min(level, int(prev_level))
        state[arn] = {
            "level": level if level is not None else prev_level,
            "actions": sorted(actions),
            "not_after": _iso(a.record.not_after),
        }
    return alerts, state


def revert(state: State, previous: Mapping[str, Mapping[str, Any]], arns: Iterable[str]) -> None:
    """Undo the state change of ``arns`` (their alert was not delivered: retry next run)."""
    for arn in arns:
        if arn in previous:
            state[arn] = dict(previous[arn])
        else:
            state.pop(arn, None)


def parse_state(text: str) -> State:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateError(f"alert state is not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
        raise StateError(f"alert state must be an object with version {STATE_VERSION}")
    certificates = document.get("certificates", {})
    if not isinstance(certificates, dict):
        raise StateError("alert state 'certificates' must be an object keyed by ARN")
    return {str(k): dict(v) for k, v in certificates.items()}


def dump_state(state: Mapping[str, Mapping[str, Any]], now: dt.datetime) -> str:
    return json.dumps(
        {"version": STATE_VERSION, "updated_at": now.isoformat(), "certificates": state},
        sort_keys=True,
        indent=1,
    )


def load_state(s3: S3Client, bucket: str, key: str) -> State:
    """The stored state, or an empty one on the first run."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return {}
    return parse_state(body.decode("utf-8"))


def save_state(
    s3: S3Client,
    bucket: str,
    key: str,
    state: Mapping[str, Mapping[str, Any]],
    now: dt.datetime,
    kms_key_id: str | None,
) -> None:
    extra: dict[str, Any] = {"ServerSideEncryption": "aws:kms"}
    if kms_key_id:
        extra["SSEKMSKeyId"] = kms_key_id
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=dump_state(state, now).encode("utf-8"),
        ContentType="application/json",
        **extra,
    )


class S3StateStore:
    """The state object in the reports bucket, written with SSE-KMS."""

    def __init__(self, s3: S3Client, bucket: str, key: str, kms_key_id: str | None) -> None:
        self.s3, self.bucket, self.key, self.kms_key_id = s3, bucket, key, kms_key_id

    def load(self) -> State:
        return load_state(self.s3, self.bucket, self.key)

    def save(self, state: State, now: dt.datetime) -> None:
        save_state(self.s3, self.bucket, self.key, state, now, self.kms_key_id)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class FileStateStore:
    """The state in a local file (CLI runs without a bucket)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> State:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return parse_state(handle.read())
        except FileNotFoundError:
            return {}

    def save(self, state: State, now: dt.datetime) -> None:
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write(dump_state(state, now))

    def __str__(self) -> str:
        return self.path
