"""What the manifests say: durations from the policy, issuers without keys, network policy,
Istio, and configuration errors that name the field."""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

import pytest
import yaml

from cdk_app.config import ConfigError, parse_environment
from certwarden_k8s import build_manifests
from certwarden_k8s.certificates import CertificateTimes
from certwarden_k8s.durations import DurationError, go_duration_from_days, parse_go_duration
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy, PolicyError
from tests.k8s.k8s_helpers import CONFIG_PATH, all_objects, of_kind

DAY = 86400


# -- Go durations -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2160h", 90 * DAY),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("300ms", Fraction(3, 10)),
        ("-2m", -120),
        ("0", 0),
        ("1h0m0s", 3600),
    ],
)
def test_go_durations_parse(text: str, seconds: Fraction) -> None:
    assert parse_go_duration(text) == seconds


@pytest.mark.parametrize("text", ["90d", "", "h", "1 h", "2160", "1H", "1h-5m", "P90D"])
def test_non_go_durations_are_rejected(text: str) -> None:
    with pytest.raises(DurationError, match="not a Go duration"):
        parse_go_duration(text)


def test_day_suffix_gets_a_hint() -> None:
    with pytest.raises(DurationError, match="use 2160h"):
        parse_go_duration("90d")


def test_days_format_as_hours() -> None:
    assert go_duration_from_days(90) == "2160h"
    with pytest.raises(DurationError):
        go_duration_from_days(0)


# -- certificates -----------------------------------------------------------------------------
def test_certificates_follow_the_policy(manifests: dict[str, Any]) -> None:
    certs = of_kind(manifests["production"], "Certificate")
    assert {c["metadata"]["name"] for c in certs} == {"portal", "records-api"}
    first_tier = DEFAULT_POLICY.alert_tiers[0].days * DAY
    for cert in certs:
        spec = cert["spec"]
        assert parse_go_duration(spec["duration"]) == DEFAULT_POLICY.certificate_validity_days * DAY
        renew = parse_go_duration(spec["renewBefore"])
        assert renew == DEFAULT_POLICY.renewal_window_days * DAY
        assert first_tier < renew < parse_go_duration(spec["duration"])
        assert spec["privateKey"]["rotationPolicy"] == "Always"
        assert (spec["privateKey"]["algorithm"], spec["privateKey"]["size"]) in {
            ("RSA", 2048),
            ("ECDSA", 256),
        }
        assert "server auth" in spec["usages"]


def test_certificate_details(manifests: dict[str, Any]) -> None:
    by_name = {
        c["metadata"]["name"]: c["spec"] for c in of_kind(manifests["production"], "Certificate")
    }
    portal, api = by_name["portal"], by_name["records-api"]
    assert portal["dnsNames"] == ["portal.example.org"]
    assert portal["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    assert portal["usages"] == ["digital signature", "server auth"]
    assert portal["issuerRef"] == {
        "name": "letsencrypt",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert api["usages"] == ["digital signature", "key encipherment", "server auth", "client auth"]
    assert api["issuerRef"]["kind"] == "AWSPCAClusterIssuer"


@pytest.mark.parametrize("env", ["staging", "production"])
def test_every_issuer_ref_resolves(manifests: dict[str, Any], env: str) -> None:
    issuers = {
        (o["kind"], o["metadata"]["name"])
        for o in all_objects(manifests[env])
        if o["kind"] in ("ClusterIssuer", "AWSPCAClusterIssuer")
    }
    for cert in of_kind(manifests[env], "Certificate"):
        ref = cert["spec"]["issuerRef"]
        assert (ref["kind"], ref["name"]) in issuers


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (CertificateTimes("90d", "1440h"), "not a Go duration"),
        (CertificateTimes("2160h", "2160h"), "shorter than duration"),
        (CertificateTimes("2160h", "720h"), "first alert tier"),
        (CertificateTimes("30m", "10m"), "minimum of 1h"),
        (CertificateTimes("9600h", "1440h"), "max_validity_days"),
    ],
)
def test_certificate_times_are_checked(times: CertificateTimes, message: str) -> None:
    with pytest.raises((PolicyError, DurationError), match=message):
        times.check(DEFAULT_POLICY)


def test_times_follow_a_changed_policy() -> None:
    policy = CompliancePolicy(
        certificate_validity_days=30,
        renewal_window_days=20,
        alert_tiers=DEFAULT_POLICY.alert_tiers[2:],
    )
    times = CertificateTimes.from_policy(policy)
    assert (times.duration, times.renew_before) == ("720h", "480h")


# -- issuers ----------------------------------------------------------------------------------
def test_acme_issuers_use_irsa_and_the_zone(manifests: dict[str, Any], example_config: Any) -> None:
    env = example_config.environments["production"]
    issuers = {o["metadata"]["name"]: o for o in of_kind(manifests["production"], "ClusterIssuer")}
    assert set(issuers) == {"letsencrypt", "letsencrypt-staging"}
    assert "acme-staging-v02" in issuers["letsencrypt-staging"]["spec"]["acme"]["server"]
    assert "acme-v02.api" in issuers["letsencrypt"]["spec"]["acme"]["server"]
    for issuer in issuers.values():
        (solver,) = issuer["spec"]["acme"]["solvers"]
        assert solver["selector"] == {"dnsZones": [env.hosted_zone.name]}
        assert solver["dns01"]["route53"] == {
            "region": env.region,
            "hostedZoneID": env.hosted_zone.id,
        }
    text = yaml.safe_dump(all_objects(manifests["production"]))
    assert "accessKeyID" not in text
    assert "secretAccessKey" not in text


def test_private_ca_issuer_points_at_the_issuing_ca(
    manifests: dict[str, Any], example_config: Any
) -> None:
    (issuer,) = of_kind(manifests["production"], "AWSPCAClusterIssuer")
    k8s = example_config.environments["production"].kubernetes
    assert issuer["spec"] == {"arn": k8s.private_ca_arn, "region": "us-east-1"}


# -- network policy ---------------------------------------------------------------------------
def _policies(manifests: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {
        p["metadata"]["name"]: p["spec"]
        for p in of_kind(manifests["production"], "NetworkPolicy")
        if p["metadata"]["namespace"] == namespace
    }


@pytest.mark.parametrize("namespace", ["patient-portal", "records-api"])
def test_workloads_deny_ingress_except_https_from_verified(
    manifests: dict[str, Any], namespace: str
) -> None:
    policies = _policies(manifests, namespace)
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    (rule,) = policies["allow-https-from-verified-namespaces"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"certwarden/verified": "true"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 443}]


def test_cert_manager_keeps_working(manifests: dict[str, Any]) -> None:
    policies = _policies(manifests, "cert-manager")
    assert policies["default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    webhook = policies["allow-webhook-from-apiserver"]
    assert webhook["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "webhook"
    assert webhook["ingress"] == [{"ports": [{"protocol": "TCP", "port": 10250}]}]
    metrics = policies["allow-metrics-from-monitoring"]["ingress"][0]
    assert metrics["ports"] == [{"protocol": "TCP", "port": 9402}]
    dns = policies["allow-dns-egress"]["egress"][0]["ports"]
    assert {(p["protocol"], p["port"]) for p in dns} == {("UDP", 53), ("TCP", 53)}
    assert policies["allow-https-egress"]["egress"] == [
        {"ports": [{"protocol": "TCP", "port": 443}]}
    ]


# -- Istio ------------------------------------------------------------------------------------
def test_istio_requires_mutual_tls(manifests: dict[str, Any]) -> None:
    peer = of_kind(manifests["production"], "PeerAuthentication")
    assert {p["metadata"]["namespace"] for p in peer} == {"patient-portal", "records-api"}
    assert all(p["spec"] == {"mtls": {"mode": "STRICT"}} for p in peer)
    for rule in of_kind(manifests["production"], "DestinationRule"):
        namespace = rule["metadata"]["namespace"]
        assert rule["spec"] == {
            "host": f"*.{namespace}.svc.cluster.local",
            "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
        }


def test_min_tls_version_goes_to_mesh_config(manifests: dict[str, Any]) -> None:
    (config_map,) = of_kind(manifests["production"], "ConfigMap")
    values = yaml.safe_load(config_map["data"]["values.yaml"])
    assert values == {"meshConfig": {"meshMTLS": {"minProtocolVersion": "TLSV1_2"}}}


def test_tls13_policy_reaches_mesh_config(example_config: Any) -> None:
    files = build_manifests(
        example_config.environments["staging"], CompliancePolicy(min_tls_version="TLSv1.3")
    )
    (config_map,) = [o for o in files["40-istio"] if o["kind"] == "ConfigMap"]
    assert "TLSV1_3" in config_map["data"]["values.yaml"]


# -- configuration errors ---------------------------------------------------------------------
def _raw(env: str) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(CONFIG_PATH.read_text())["environments"][env]
    return copy.deepcopy(raw)


def _k8s_error(env: str, change: Any) -> str:
    raw = _raw(env)
    change(raw["kubernetes"])
    with pytest.raises(ConfigError) as error:
        build_manifests(parse_environment(env, raw))
    return str(error.value)


def test_unknown_kubernetes_key_is_named() -> None:
    raw = _raw("staging")
    raw["kubernetes"]["namespace"] = "typo"
    with pytest.raises(ConfigError, match=r"field 'kubernetes\.namespace': unknown key"):
        parse_environment("staging", raw)


def test_certificate_outside_the_namespaces_is_named() -> None:
    raw = _raw("staging")
    raw["kubernetes"]["certificates"][0]["namespace"] = "elsewhere"
    with pytest.raises(ConfigError, match=r"field 'kubernetes\.certificates': .*'elsewhere'"):
        parse_environment("staging", raw)


def test_private_ca_certificate_needs_the_ca() -> None:
    raw = _raw("staging")
    raw["kubernetes"]["certificates"][0]["issuer"] = "private-ca"
    with pytest.raises(ConfigError, match=r"kubernetes\.private_ca_arn"):
        parse_environment("staging", raw)


def test_acme_name_outside_the_zone_is_named() -> None:
    def change(k8s: dict[str, Any]) -> None:
        k8s["certificates"][0]["dns_names"] = ["portal.example.net"]

    message = _k8s_error("staging", change)
    assert "kubernetes.certificates[0].dns_names" in message
    assert "staging.example.org" in message


def test_role_in_another_account_is_named() -> None:
    def change(k8s: dict[str, Any]) -> None:
        k8s["cert_manager_role_arn"] = "arn:aws:iam::222222222222:role/cert-manager"

    assert "kubernetes.cert_manager_role_arn" in _k8s_error("staging", change)


def test_environment_without_kubernetes_section_is_refused() -> None:
    raw = _raw("staging")
    del raw["kubernetes"]
    with pytest.raises(ConfigError, match="'kubernetes': not configured"):
        build_manifests(parse_environment("staging", raw))
