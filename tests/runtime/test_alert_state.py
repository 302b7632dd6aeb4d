"""Tier-crossing state: new crossings alert once, a skipped day still alerts, no repeats."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from certwarden_runtime import alert_state
from certwarden_runtime.actions import Action, assess
from certwarden_runtime.alert_state import compute_alerts
from certwarden_runtime.policy import DEFAULT_POLICY, Severity

from .conftest import BUCKET, AwsFixture
from .test_actions import NOW, rec

DAY = dt.timedelta(days=1)


def run(
    state: alert_state.State, days_left: float, lifetime: float = 200, **kw: object
) -> tuple[list[alert_state.Alert], alert_state.State]:
    """One run on the day the certificate (NotAfter fixed by ``lifetime``) has ``days_left``."""
    record = rec(lifetime, **kw)
    now = NOW + dt.timedelta(days=lifetime - days_left)
    return compute_alerts(state, [assess(record, DEFAULT_POLICY, now)], keep_unseen=False)


def test_first_crossing_alerts_once_then_no_repeat() -> None:
    alerts, state = run({}, 44.5)
    assert [a.level for a in alerts] == [45]
    alerts, state = run(state, 43.5)
    assert alerts == []
    alerts, state = run(state, 29.5)
    assert [(a.level, a.severity) for a in alerts] == [(30, Severity.WARNING)]
    alerts, state = run(state, 28.5)
    assert alerts == []


def test_skipped_days_still_alert_at_the_most_urgent_tier_once() -> None:
    alerts, state = run({}, 50)
    assert alerts == []  # in the renewal window, no tier yet
    # the job did not run for 36 days: 14 days left now, past 45, 30 and 15
    alerts, state = run(state, 14)
    assert [(a.level, a.severity) for a in alerts] == [(15, Severity.CRITICAL)]
    alerts, _ = run(state, 13)
    assert alerts == []


def test_renewal_resets_and_leaving_the_tiers_drops_the_entry() -> None:
    alerts, state = run({}, 20)
    assert len(alerts) == 1
    # renewed: NotAfter moved, no tier any more: entry dropped
    _, state = run(state, 395, lifetime=600)
    assert state == {}
    alerts, _ = run(state, 44, lifetime=600)
    assert [a.level for a in alerts] == [45]


def test_action_alerts_once_even_outside_tiers() -> None:
    alerts, state = run({}, 55, type="IMPORTED")
    assert [(a.action, a.level) for a in alerts] == [(Action.REPLACE, None)]
    alerts, state = run(state, 54, type="IMPORTED")
    assert alerts == []
    alerts, _ = run(state, 44, type="IMPORTED")
    assert [a.level for a in alerts] == [45]


def test_unseen_entries_kept_only_for_incomplete_runs() -> None:
    _, state = run({}, 20)
    assert compute_alerts(state, [], keep_unseen=True)[1] == state
    assert compute_alerts(state, [], keep_unseen=False)[1] == {}


def test_revert_undoes_undelivered_entries() -> None:
    alerts, state = run({}, 20)
    alert_state.revert(state, {}, [alerts[0].arn])
    assert state == {}


def test_state_parsing_errors_are_clear() -> None:
    with pytest.raises(alert_state.StateError, match="not JSON"):
        alert_state.parse_state("{")
    with pytest.raises(alert_state.StateError, match="version"):
        alert_state.parse_state(json.dumps({"version": 99}))
    with pytest.raises(alert_state.StateError, match="keyed by ARN"):
        alert_state.parse_state(json.dumps({"version": 1, "certificates": []}))


def test_s3_store_round_trip_with_sse_kms(aws: AwsFixture) -> None:
    store = alert_state.S3StateStore(aws.s3, BUCKET, "state/alert-state.json", aws.kms_key_id)
    assert store.load() == {}
    _, state = run({}, 20)
    store.save(state, NOW)
    assert store.load() == state
    head = aws.s3.head_object(Bucket=BUCKET, Key="state/alert-state.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(aws.kms_key_id)
    assert str(store) == f"s3://{BUCKET}/state/alert-state.json"


def test_file_store_round_trip(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "state.json"
    store = alert_state.FileStateStore(str(path))
    assert store.load() == {}
    _, state = run({}, 20)
    store.save(state, NOW)
    assert store.load() == state
