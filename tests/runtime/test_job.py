"""The daily job against moto: every action type end to end, failures, time budget, alerts."""

from __future__ import annotations

import json
from typing import Any

from certwarden_runtime import contract
from certwarden_runtime.actions import Action
from certwarden_runtime.job import run_job
from certwarden_runtime.policy import DEFAULT_POLICY
from demo import moto_acm

from .conftest import BUCKET, AwsFixture, CallCounter, fail_when, target_is

CA = (
    "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
    "11111111-2222-3333-4444-555555555555"
)


def seed_every_action(aws: AwsFixture) -> dict[Action, str]:
    pending = {
        "DomainName": "renew.example.org",
        "ValidationStatus": "PENDING_VALIDATION",
        "ResourceRecord": {
            "Name": "_a.renew.example.org.",
            "Type": "CNAME",
            "Value": "_b.acm-validations.aws.",
        },
    }
    return {
        Action.NONE: aws.cert("healthy.example.org", days_left=300),
        Action.AWAIT_MANAGED_RENEWAL: aws.cert(
            "managed.example.org",
            days_left=50,
            type="AMAZON_ISSUED",
            eligibility="ELIGIBLE",
            in_use=True,
            renewal_summary={
                "RenewalStatus": "PENDING_AUTO_RENEWAL",
                "DomainValidationOptions": [],
                "UpdatedAt": 0,
            },
        ),
        Action.FIX_VALIDATION: aws.cert(
            "renew.example.org",
            days_left=20,
            type="AMAZON_ISSUED",
            eligibility="ELIGIBLE",
            in_use=True,
            renewal_summary={
                "RenewalStatus": "PENDING_VALIDATION",
                "DomainValidationOptions": [pending],
                "UpdatedAt": 0,
            },
        ),
        Action.RENEWAL_FAILED: aws.cert(
            "failed.example.org",
            days_left=10,
            type="AMAZON_ISSUED",
            eligibility="ELIGIBLE",
            in_use=True,
            renewal_summary={
                "RenewalStatus": "FAILED",
                "RenewalStatusReason": "CAA_ERROR",
                "DomainValidationOptions": [],
                "UpdatedAt": 0,
            },
        ),
        Action.INELIGIBLE_WILL_EXPIRE: aws.cert(
            "unused.example.org", days_left=40, type="AMAZON_ISSUED", eligibility="INELIGIBLE"
        ),
        Action.RENEW: aws.cert(
            "private.example.org",
            days_left=25,
            type="PRIVATE",
            eligibility="ELIGIBLE",
            ca_arn=CA,
            in_use=True,
        ),
        Action.REPLACE: aws.cert("imported.example.org", days_left=5, key_algorithm="RSA_3072"),
        Action.CRITICAL_IN_USE: aws.cert("expired.example.org", days_left=-2, in_use=True),
        Action.CLEAN_UP: aws.cert("old.example.org", days_left=-30),
    }


def test_every_action_type_end_to_end(aws: AwsFixture) -> None:
    arns = seed_every_action(aws)
    clients = aws.clients()
    counter = CallCounter().attach(clients)
    emitted: list[str] = []
    result = run_job(clients, aws.settings(), emit_metrics=emitted.append)

    got = {a.record.arn: a.action for a in result.assessments}
    assert {action: got[arn] for action, arn in arns.items()} == {a: a for a in arns}
    assert result.ok
    assert result.complete
    # RenewCertificate for the eligible private certificate only
    assert [arns[Action.RENEW]] == moto_acm.RENEWALS
    assert result.renewals_started == 1
    # detail only where needed: the managed ones inside the window or pending validation,
    # and the imported one to replace (for its issuer)
    assert counter.calls["DescribeCertificate"] == 6
    assert "ListTagsForCertificate" not in counter.calls
    # one alert message per severity; each certificate listed once
    warning = aws.messages(aws.warning_topic)
    critical = aws.messages(aws.critical_topic)
    assert len(warning) == 1
    assert len(critical) == 1
    for arn in arns.values():
        listed = sum(body.count(arn) for _, body in warning + critical)
        assert listed <= 1
    assert arns[Action.CRITICAL_IN_USE] in critical[0][1]
    assert "_a.renew.example.org." in "".join(b for _, b in warning + critical)
    assert arns[Action.NONE] not in warning[0][1] + critical[0][1]
    # metrics: one EMF document, dimension Environment only
    (doc,) = [json.loads(e) for e in emitted]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == contract.METRICS_NAMESPACE
    assert directive["Dimensions"] == [[contract.DIMENSION_ENVIRONMENT]]
    assert doc[contract.METRIC_CERTIFICATES_TOTAL] == [9.0]
    assert doc[contract.METRIC_CERTIFICATES_EXPIRED] == [2.0]
    assert doc[contract.METRIC_JOB_SUCCEEDED] == [1.0]
    assert doc[contract.METRIC_RENEWALS_STARTED] == [1.0]
    assert doc["CertificatesWithin7Days"] == [1.0]
    assert 4.9 < doc[contract.METRIC_MIN_DAYS_TO_EXPIRY][0] <= 5.0
    # audit: one certificate record per certificate, plus the action records
    kinds = [r["record_type"] for r in _audit(aws, result.report_location)]
    assert kinds.count("certificate") == 9
    assert kinds.count("action") >= 1 + len(result.alerts)

    # the next day: nothing newly crossed, nothing sent again
    again = run_job(clients, aws.settings())
    assert again.alerts == []
    assert len(aws.messages(aws.warning_topic)) == 1


def _audit(aws: AwsFixture, report_location: str) -> list[dict[str, Any]]:
    prefix = report_location.removeprefix(f"s3://{BUCKET}/").removesuffix("report.html")
    body = aws.s3.get_object(Bucket=BUCKET, Key=prefix + "audit.jsonl")["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_reports_in_bucket_with_sse_kms_under_a_date_prefix(aws: AwsFixture) -> None:
    aws.cert("a.example.org")
    result = run_job(aws.clients(), aws.settings())
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == [
        "audit.jsonl",
        "inventory.csv",
        "inventory.json",
        "report.html",
    ]
    assert all(
        k.startswith(f"reports/{result.started_at.date().isoformat()}/{result.run_id}/")
        for k in keys
    )
    for key in keys:
        assert aws.s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "aws:kms"


def test_one_certificate_failing_while_the_rest_complete(aws: AwsFixture) -> None:
    bad = aws.cert(
        "bad.example.org", days_left=20, type="AMAZON_ISSUED", eligibility="ELIGIBLE", in_use=True
    )
    good = [
        aws.cert(
            f"ok{i}.example.org",
            days_left=20,
            type="AMAZON_ISSUED",
            eligibility="ELIGIBLE",
            in_use=True,
        )
        for i in range(3)
    ]
    clients = aws.clients()
    acm = clients.regions[0].acm

    def is_bad(request: Any) -> bool:
        return target_is("DescribeCertificate")(request) and bad.encode() in request.body

    acm.meta.events.register(
        "before-send.acm.DescribeCertificate", fail_when(is_bad, "AccessDeniedException")
    )
    emitted: list[str] = []
    result = run_job(clients, aws.settings(), emit_metrics=emitted.append)
    assert [e.arn for e in result.errors] == [bad]
    assert {a.record.arn for a in result.assessments} == {bad, *good}
    assert next(r["error"] for r in result.rows if r["certificate_arn"] == bad).startswith(
        "AccessDenied"
    )
    assert json.loads(emitted[0])[contract.METRIC_CERTIFICATE_ERRORS] == [1.0]


def test_renewal_failure_is_counted_and_audited(aws: AwsFixture) -> None:
    arn = aws.cert(
        "p.example.org", days_left=20, type="PRIVATE", eligibility="ELIGIBLE", in_use=True
    )
    clients = aws.clients()
    clients.regions[0].acm.meta.events.register(
        "before-send.acm.RenewCertificate",
        fail_when(target_is("RenewCertificate"), "RequestInProgressException"),
    )
    result = run_job(clients, aws.settings())
    assert result.renewals_failed == 1
    assert result.renewals_started == 0
    audit = _audit(aws, result.report_location)
    assert any(
        r["record_type"] == "action" and r["certificate_arn"] == arn and r["outcome"] == "FAILED"
        for r in audit
    )
    assert result.metric_values[contract.METRIC_RENEWALS_FAILED] == 1


def test_time_budget_stops_cleanly_and_reports_incomplete(aws: AwsFixture) -> None:
    for i in range(6):
        aws.cert(f"t{i}.example.org", days_left=20)
    clock = iter([100.0, 100.0, 100.0, 100.0, 1.0] + [1.0] * 50)  # region, 3 certs, then out
    emitted: list[str] = []
    result = run_job(
        aws.clients(),
        aws.settings(),
        remaining_seconds=lambda: next(clock),
        emit_metrics=emitted.append,
    )
    assert not result.complete
    assert not result.ok
    assert len(result.assessments) == 3
    assert result.skipped == 3
    doc = json.loads(emitted[0])
    assert doc[contract.METRIC_JOB_INCOMPLETE] == [1.0]
    assert doc[contract.METRIC_JOB_SUCCEEDED] == [0.0]
    # reports still written, flagged incomplete
    prefix = result.report_location.removeprefix(f"s3://{BUCKET}/").removesuffix("report.html")
    meta = json.loads(
        aws.s3.get_object(Bucket=BUCKET, Key=prefix + "inventory.json")["Body"].read()
    )["meta"]
    assert meta["complete"] is False


def test_no_time_left_for_alerts_defers_them_to_the_next_run(aws: AwsFixture) -> None:
    arn = aws.cert("late.example.org", days_left=20)
    # plenty of time for discovery and the certificate, none once the reports are written
    clock = iter([100.0, 100.0] + [1.0] * 50)
    first = run_job(aws.clients(), aws.settings(), remaining_seconds=lambda: next(clock))
    assert first.alerts_deferred
    assert not first.complete
    assert first.alerts == []
    assert aws.messages(aws.warning_topic) == []
    assert first.summary()["alerts_deferred"] is True
    assert first.report_location  # the reports were still written
    second = run_job(aws.clients(), aws.settings())
    assert not second.alerts_deferred
    assert [a.arn for a in second.alerts] == [arn]


def test_clients_bound_connect_and_read_time() -> None:
    """botocore waits 60 s per connect and per read by default: one stalled call would outlast
    the run's closing reserve."""
    from certwarden_runtime.aws import make_clients
    from certwarden_runtime.job import JobSettings

    clients = make_clients(["us-east-1"])
    reserve = JobSettings(environment="t", policy=DEFAULT_POLICY, regions=("us-east-1",))
    for client in (clients.regions[0].acm, clients.regions[0].tagging, clients.s3, clients.sns):
        assert client is not None
        config = client.meta.config
        # botocore sets Config's options with setattr; botocore-stubs declares none of them.
        connect, read = config.connect_timeout, config.read_timeout  # type: ignore[attr-defined]
        assert connect + read < reserve.reserve_seconds


def test_undelivered_alerts_are_retried_next_run(aws: AwsFixture) -> None:
    arn = aws.cert("x.example.org", days_left=20)
    settings = aws.settings(warning_topic_arn=aws.warning_topic.replace("warning", "missing"))
    first = run_job(aws.clients(), settings)
    assert first.alert_errors
    assert not first.ok
    assert first.alerts == []
    second = run_job(aws.clients(), aws.settings())
    assert [a.arn for a in second.alerts] == [arn]


def test_dry_run_takes_no_action_and_sends_nothing(aws: AwsFixture) -> None:
    aws.cert("p.example.org", days_left=20, type="PRIVATE", eligibility="ELIGIBLE")
    result = run_job(aws.clients(), aws.settings(take_actions=False, send_alerts=False))
    assert moto_acm.RENEWALS == []
    assert result.alerts == []
    assert aws.messages(aws.warning_topic) == []


def test_imported_certificate_to_replace_reports_its_issuer(aws: AwsFixture) -> None:
    """ListCertificates has no issuer; the replace action needs to say which CA to go back to."""
    due = aws.cert("replace-me.example.org", days_left=20)
    later = aws.cert("later.example.org", days_left=200)
    result = run_job(aws.clients(), aws.settings())
    rows = {row["certificate_arn"]: row for row in result.rows}
    assert rows[due]["action"] == Action.REPLACE.value
    assert rows[due]["issuer"]  # from DescribeCertificate
    assert rows[later]["issuer"] == ""  # not described: nothing depends on it yet
