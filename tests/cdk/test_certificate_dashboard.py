"""The certificate dashboard: fleet minimum, certificates per tier, job health."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from certwarden_cdk.certificate_dashboard import CertificateDashboard
from certwarden_runtime import contract
from certwarden_runtime.policy import DEFAULT_POLICY
from tests.nag_helpers import nag_findings, new_app, template_of

ENV = cdk.Environment(account="111111111111", region="us-east-1")
FUNCTION_ARN = "arn:aws:lambda:us-east-1:111111111111:function:certwarden-watch"


class Built:
    def __init__(self) -> None:
        self.app = new_app()
        stack = cdk.Stack(self.app, "DashboardTest", env=ENV)
        function = lambda_.Function.from_function_attributes(
            stack, "Job", function_arn=FUNCTION_ARN, same_environment=True
        )
        self.with_job = CertificateDashboard(
            stack,
            "WithJob",
            environment_name="staging",
            job_function=function,
            dashboard_name="certwarden-staging",
        )
        self.without_job = CertificateDashboard(stack, "WithoutJob", environment_name="production")
        self.findings = nag_findings(self.app)
        template = template_of(self.app, stack)
        self.dashboards: dict[str, dict[str, Any]] = {}
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::CloudWatch::Dashboard":
                self.dashboards[logical_id] = resource["Properties"]
        self.logical_with_job = stack.get_logical_id(
            self.with_job.dashboard.node.default_child  # type: ignore[arg-type]
        )
        self.logical_without_job = stack.get_logical_id(
            self.without_job.dashboard.node.default_child  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def built() -> Built:
    return Built()


def _body(properties: dict[str, Any]) -> dict[str, Any]:
    """The dashboard body, with CloudFormation joins flattened to text."""
    body = properties["DashboardBody"]
    if isinstance(body, dict) and "Fn::Join" in body:
        parts = body["Fn::Join"][1]
        body = "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    return dict(json.loads(body))


def _metrics(body: dict[str, Any]) -> list[list[Any]]:
    return [
        metric
        for widget in body["widgets"]
        for metric in widget.get("properties", {}).get("metrics", [])
    ]


def _custom(body: dict[str, Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for metric in _metrics(body):
        if metric[0] == contract.METRICS_NAMESPACE:
            found[metric[1]] = metric
    return found


def test_fleet_minimum_days_to_expiry(built: Built) -> None:
    custom = _custom(_body(built.dashboards[built.logical_with_job]))
    metric = custom[contract.METRIC_MIN_DAYS_TO_EXPIRY]
    assert metric[2:4] == [contract.DIMENSION_ENVIRONMENT, "staging"]
    assert metric[4]["stat"] == "Minimum"


def test_certificates_per_tier_and_expired(built: Built) -> None:
    custom = _custom(_body(built.dashboards[built.logical_with_job]))
    for tier in DEFAULT_POLICY.alert_tiers:
        name = contract.METRIC_CERTIFICATES_WITHIN_TIER.format(days=tier.days)
        assert custom[name][2:4] == [contract.DIMENSION_ENVIRONMENT, "staging"]
    assert contract.METRIC_CERTIFICATES_EXPIRED in custom
    assert contract.METRIC_CERTIFICATES_TOTAL in custom


def test_job_health_with_lambda_metrics(built: Built) -> None:
    body = _body(built.dashboards[built.logical_with_job])
    assert contract.METRIC_JOB_SUCCEEDED in _custom(body)
    lambda_metrics = {m[1] for m in _metrics(body) if m[0] == "AWS/Lambda"}
    assert {"Errors", "Throttles", "Duration"} <= lambda_metrics
    for metric in _metrics(body):
        if metric[0] == "AWS/Lambda":
            assert metric[2:4] == ["FunctionName", "certwarden-watch"]


def test_without_job_function_no_lambda_metrics(built: Built) -> None:
    body = _body(built.dashboards[built.logical_without_job])
    assert not [m for m in _metrics(body) if m[0] == "AWS/Lambda"]
    custom = _custom(body)
    assert custom[contract.METRIC_JOB_SUCCEEDED][2:4] == [
        contract.DIMENSION_ENVIRONMENT,
        "production",
    ]


def test_tier_annotations(built: Built) -> None:
    body = _body(built.dashboards[built.logical_with_job])
    values = {
        annotation["value"]
        for widget in body["widgets"]
        for annotation in widget.get("properties", {}).get("annotations", {}).get("horizontal", [])
    }
    assert values == set(DEFAULT_POLICY.alert_tier_days)


def test_dashboard_name(built: Built) -> None:
    assert built.dashboards[built.logical_with_job]["DashboardName"] == "certwarden-staging"
    assert "DashboardName" not in built.dashboards[built.logical_without_job]


def test_nag_clean(built: Built) -> None:
    assert built.findings == []


def test_validation() -> None:
    stack = cdk.Stack(cdk.App(), "Validation", env=ENV)
    with pytest.raises(ValueError, match="environment_name 'bad name' is not allowed"):
        CertificateDashboard(stack, "D1", environment_name="bad name")
    with pytest.raises(ValueError, match="dashboard_name 'a/b' is not allowed"):
        CertificateDashboard(stack, "D2", environment_name="staging", dashboard_name="a/b")
