"""Alert rules: promtool checks them and runs unit tests built from the policy's tiers, with
series where each alert fires and where it must not (unissued certificate reading 0, healthy
certificate in its renewal window, Ready=True but expired)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from certwarden_k8s import alerts
from certwarden_runtime.policy import DEFAULT_POLICY, AlertTier, CompliancePolicy, Severity
from tests.k8s.k8s_helpers import of_kind

DAY = 86400
EXPIRY, READY, RENEWAL = alerts.EXPIRY, alerts.READY, alerts.RENEWAL
TIER_NAMES = [alerts.tier_alert_name(t.days) for t in DEFAULT_POLICY.alert_tiers]
OTHER_NAMES = [
    "CertWardenCertificateExpired",
    "CertWardenCertificateNotReady",
    "CertWardenCertificateRenewalOverdue",
]
ALL_NAMES = TIER_NAMES + OTHER_NAMES


def _labels(name: str) -> dict[str, str]:
    return {
        "name": name,
        "namespace": "patient-portal",
        "issuer_name": "letsencrypt",
        "issuer_kind": "ClusterIssuer",
        "issuer_group": "cert-manager.io",
    }


def _selector(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _certificate(
    name: str, *, expiry: int, renewal: int, ready: bool, minutes: int
) -> list[dict[str, str]]:
    """Constant series for one certificate, one sample a minute for ``minutes``."""
    labels = _labels(name)
    return [
        {"series": _selector(EXPIRY, labels), "values": f"{expiry}x{minutes}"},
        {"series": _selector(RENEWAL, labels), "values": f"{renewal}x{minutes}"},
        {
            "series": _selector(READY, {**labels, "condition": "True"}),
            "values": f"{int(ready)}x{minutes}",
        },
        {
            "series": _selector(READY, {**labels, "condition": "False"}),
            "values": f"{int(not ready)}x{minutes}",
        },
    ]


def _fired(alertname: str, cert: str, policy: CompliancePolicy) -> dict[str, Any]:
    rule = next(r for r in alerts.alert_rules(policy) if r["alert"] == alertname)
    labels = {**_labels(cert), **rule["labels"]}
    if alertname == "CertWardenCertificateNotReady":
        labels["condition"] = "False"
    annotations = {
        key: value.replace("{{ $labels.namespace }}", labels["namespace"])
        .replace("{{ $labels.name }}", labels["name"])
        .replace("{{ $labels.issuer_kind }}", labels["issuer_kind"])
        .replace("{{ $labels.issuer_name }}", labels["issuer_name"])
        for key, value in rule["annotations"].items()
    }
    return {"exp_labels": labels, "exp_annotations": annotations}


def _expect(at: str, firing: dict[str, list[str]], policy: CompliancePolicy) -> list[Any]:
    """An alert_rule_test per alert name: exactly the listed certificates fire, no others."""
    return [
        {
            "eval_time": at,
            "alertname": name,
            "exp_alerts": [_fired(name, cert, policy) for cert in firing.get(name, [])],
        }
        for name in [alerts.tier_alert_name(t.days) for t in policy.alert_tiers] + OTHER_NAMES
    ]


def promtool_tests(policy: CompliancePolicy) -> list[dict[str, Any]]:
    renewal_window = policy.renewal_window_days * DAY
    tests: list[dict[str, Any]] = []

    # Each tier fires for a certificate just inside it, and only that tier; `for` holds it back.
    series, firing = [], {}
    for tier in policy.alert_tiers:
        cert = f"tier-{tier.days}"
        expiry = tier.days * DAY - 3600
        series += _certificate(
            cert, expiry=expiry, renewal=expiry - renewal_window, ready=True, minutes=60
        )
        firing[alerts.tier_alert_name(tier.days)] = [cert]
    tests.append(
        {
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": _expect("5m", {}, policy) + _expect("30m", firing, policy),
        }
    )

    # Ready=True but expired an hour ago: Expired fires (critical), NotReady and tiers don't.
    # Its renewal time passed long ago, so RenewalOverdue fires too.
    tests.append(
        {
            "interval": "1m",
            "input_series": _certificate(
                "expired", expiry=2 * 3600, renewal=600, ready=True, minutes=200
            ),
            "alert_rule_test": _expect(
                "3h",
                {
                    "CertWardenCertificateExpired": ["expired"],
                    "CertWardenCertificateRenewalOverdue": ["expired"],
                },
                policy,
            ),
        }
    )

    # Never issued: timestamps read 0. No expiry, tier or renewal alert; NotReady after 30m.
    unissued = _certificate("unissued", expiry=0, renewal=0, ready=False, minutes=200)
    tests.append(
        {
            "interval": "1m",
            "input_series": unissued,
            "alert_rule_test": _expect("20m", {}, policy)
            + _expect("3h", {"CertWardenCertificateNotReady": ["unissued"]}, policy),
        }
    )

    # Healthy: in its renewal window for 10 minutes (cert-manager is renewing), and freshly
    # issued. Nothing fires.
    now = 3 * 3600
    renewing = _certificate(
        "renewing", expiry=now - 600 + renewal_window, renewal=now - 600, ready=True, minutes=200
    )
    fresh_expiry = now + policy.certificate_validity_days * DAY
    fresh = _certificate(
        "fresh", expiry=fresh_expiry, renewal=fresh_expiry - renewal_window, ready=True, minutes=200
    )
    tests.append(
        {
            "interval": "1m",
            "input_series": renewing + fresh,
            "alert_rule_test": _expect("3h", {}, policy),
        }
    )

    # Renewal stuck: due at 10 minutes, still not renewed. Not within the grace, then overdue.
    stuck = _certificate("stuck", expiry=600 + renewal_window, renewal=600, ready=True, minutes=200)
    tests.append(
        {
            "interval": "1m",
            "input_series": stuck,
            "alert_rule_test": _expect("1h", {}, policy)
            + _expect("3h", {"CertWardenCertificateRenewalOverdue": ["stuck"]}, policy),
        }
    )
    return tests


def _write(tmp: Path, policy: CompliancePolicy, groups: list[dict[str, Any]]) -> Path:
    (tmp / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    test_file = tmp / "tests.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": ["rules.yaml"],
                "evaluation_interval": "1m",
                "tests": promtool_tests(policy),
            },
            sort_keys=False,
        )
    )
    return test_file


def _run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_checks_the_generated_rules(promtool: str, k8s_out: Path) -> None:
    result = _run(promtool, "check", "rules", str(k8s_out / "rules.yaml"), cwd=k8s_out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALL_NAMES)} rules found" in result.stdout


@pytest.mark.parametrize(
    "policy",
    [
        DEFAULT_POLICY,
        CompliancePolicy(
            renewal_window_days=30,
            alert_tiers=(AlertTier(21, Severity.WARNING), AlertTier(3, Severity.CRITICAL)),
        ),
    ],
    ids=["default-policy", "other-tiers"],
)
def test_promtool_unit_tests_pass(promtool: str, tmp_path: Path, policy: CompliancePolicy) -> None:
    test_file = _write(tmp_path, policy, alerts.rule_groups(policy))
    result = _run(promtool, "test", "rules", test_file.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_catch_a_missing_zero_guard(promtool: str, tmp_path: Path) -> None:
    groups = alerts.rule_groups(DEFAULT_POLICY)
    for rule in groups[0]["rules"]:
        rule["expr"] = rule["expr"].replace(f"({EXPIRY} > 0)", EXPIRY)
    test_file = _write(tmp_path, DEFAULT_POLICY, groups)
    result = _run(promtool, "test", "rules", test_file.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "unissued" in result.stdout + result.stderr


def test_prometheus_rule_carries_the_same_groups(manifests: dict[str, Any]) -> None:
    for env, labels in (("staging", {}), ("production", {"release": "kube-prometheus-stack"})):
        (rule,) = of_kind(manifests[env], "PrometheusRule")
        assert rule["spec"]["groups"] == alerts.rule_groups(DEFAULT_POLICY)
        assert {k: v for k, v in rule["metadata"]["labels"].items() if k == "release"} == labels


def test_rules_use_only_real_cert_manager_metrics_and_labels() -> None:
    rules = alerts.alert_rules(DEFAULT_POLICY)
    text = yaml.safe_dump(rules)
    metrics = set(re.findall(r"certmanager_[a-z_]+", text))
    assert metrics == {EXPIRY, READY, RENEWAL}
    used = set(re.findall(r"\$labels\.([a-z_]+)", text))
    assert used <= {"name", "namespace", "issuer_name", "issuer_kind", "issuer_group"}
    severities = [r["labels"]["severity"] for r in rules[: len(DEFAULT_POLICY.alert_tiers)]]
    assert severities == [t.severity.value.lower() for t in DEFAULT_POLICY.alert_tiers]


def test_first_tier_comes_after_renewal_starts() -> None:
    first = DEFAULT_POLICY.alert_tiers[0].days
    assert DEFAULT_POLICY.renewal_window_days > first
    rule = alerts.alert_rules(DEFAULT_POLICY)[0]
    assert f"<= {first * DAY} >" in rule["expr"]
