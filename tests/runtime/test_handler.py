"""The Lambda entry point: events, environment, end-to-end through moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from certwarden_runtime import contract, handler
from certwarden_runtime.job import JobSettings, SettingsError

from .conftest import BUCKET, REGION, AwsFixture

SCHEDULED = {
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "111111111111",
    "time": "2030-01-01T06:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:events:us-east-1:111111111111:rule/certwarden-daily"],
    "detail": {},
}


class Context:
    def __init__(self, remaining_ms: int = 600_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def env(aws: AwsFixture, monkeypatch: pytest.MonkeyPatch) -> AwsFixture:
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv(contract.ENV_ENVIRONMENT, "test")
    monkeypatch.setenv(contract.ENV_WARNING_TOPIC_ARN, aws.warning_topic)
    monkeypatch.setenv(contract.ENV_CRITICAL_TOPIC_ARN, aws.critical_topic)
    monkeypatch.setenv(contract.ENV_REPORTS_BUCKET, BUCKET)
    monkeypatch.setenv(contract.ENV_REPORTS_KMS_KEY_ID, aws.kms_key_id)
    return aws


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ("daily", "must be a JSON object"),
        ({"dryrun": True}, "unknown event field"),
        ({"dry_run": "yes"}, "dry_run must be true or false"),
        ({"regions": "us-east-1"}, "regions must be a list"),
        (
            {**SCHEDULED, "detail-type": "ACM Certificate Expired", "source": "aws.acm"},
            "unexpected event detail-type",
        ),
        ({**SCHEDULED, "extra": 1}, "unexpected keys in scheduled event: extra"),
    ],
)
def test_malformed_events_get_a_clear_error(event: Any, message: str) -> None:
    with pytest.raises(handler.EventError, match=message):
        handler.parse_event(event)


def test_accepted_events() -> None:
    assert handler.parse_event(None) == handler.Invocation()
    assert handler.parse_event({}) == handler.Invocation()
    assert handler.parse_event(SCHEDULED) == handler.Invocation()
    assert handler.parse_event({"dry_run": True, "regions": ["eu-west-1"]}) == handler.Invocation(
        True, ("eu-west-1",)
    )


def test_handler_name_matches_the_contract() -> None:
    module, _, function = contract.WATCH_HANDLER.rpartition(".")
    assert module == handler.__name__
    assert function == "lambda_handler"


def test_scheduled_run_end_to_end(
    env: AwsFixture, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    env.cert("rsa.example.org", key_algorithm="RSA_4096", days_left=44)
    env.cert("ec.example.org", key_algorithm="EC_secp521r1", days_left=6, in_use=True)
    env.cert("weak.example.org", key_algorithm="RSA_1024", days_left=300)
    summary = handler.lambda_handler(SCHEDULED, Context())
    assert summary["certificates"] == 3
    assert summary["ok"] is True
    assert summary["alerts_sent"] == 2
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 1
    assert emf[0][contract.METRIC_POLICY_FINDINGS] == [1.0]
    # the Powertools Logger's JSON records carry the audit record under "audit"
    audits = [r.audit for r in caplog.records if hasattr(r, "audit")]
    per_cert = [a for a in audits if a["record_type"] == "certificate"]
    assert len(per_cert) == 3
    assert len({a["run_id"] for a in audits}) == 1
    assert per_cert[0]["run_id"]
    assert {a["key_algorithm"] for a in per_cert} == {"RSA_4096", "EC_secp521r1", "RSA_1024"}
    # a run the next day sends nothing new
    assert handler.lambda_handler(SCHEDULED, Context())["alerts_sent"] == 0


def test_timeout_budget_fails_the_invocation(env: AwsFixture) -> None:
    env.cert("a.example.org")
    with pytest.raises(handler.JobIncompleteError, match="stopped for time"):
        handler.lambda_handler({}, Context(remaining_ms=1_000))


def test_dry_run_event(env: AwsFixture) -> None:
    env.cert("a.example.org", days_left=3)
    summary = handler.lambda_handler({"dry_run": True}, None)
    assert summary["alerts_sent"] == 0
    assert summary["critical"] == 1


def test_settings_from_environment_errors() -> None:
    with pytest.raises(SettingsError, match="AWS_REGION is not set"):
        JobSettings.from_environment({})
    with pytest.raises(SettingsError, match="not an AWS region"):
        JobSettings.from_environment({contract.ENV_REGIONS: "narnia"})
    s = JobSettings.from_environment(
        {
            contract.ENV_REGIONS: "us-east-1, eu-west-1",
            "CERTWARDEN_ALERT_TIERS": "30:WARNING,7:CRITICAL",
        }
    )
    assert s.regions == ("us-east-1", "eu-west-1")
    assert s.policy.alert_tier_days == (30, 7)
    assert s.state_key == contract.DEFAULT_STATE_KEY
