"""Every generated object against its real schema: CRDs (strict) and core kinds
(kubernetes-validate, strict), plus the cert-manager chart's values schema."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from tests.k8s.k8s_helpers import (
    Manifest,
    Validator,
    all_objects,
    cel_errors,
    of_kind,
    validate_core,
    validate_k8s_definition,
)

CORE_KINDS = {"Namespace", "NetworkPolicy", "ConfigMap"}
CUSTOM_KINDS = {
    "HelmRepository",
    "HelmRelease",
    "ClusterIssuer",
    "AWSPCAClusterIssuer",
    "Certificate",
    "PeerAuthentication",
    "DestinationRule",
    "PrometheusRule",
}
ENVIRONMENTS = ["staging", "production"]


def _label(obj: Manifest) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']} {meta.get('namespace', '-')}/{meta['name']}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_kind_is_one_we_validate(manifests: dict[str, Any], env: str) -> None:
    kinds = {obj["kind"] for obj in all_objects(manifests[env])}
    assert kinds <= CORE_KINDS | CUSTOM_KINDS, kinds - (CORE_KINDS | CUSTOM_KINDS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_custom_resources_match_their_crds_strictly(
    manifests: dict[str, Any], validate_custom: Validator, env: str
) -> None:
    checked, problems = 0, []
    for obj in all_objects(manifests[env]):
        if obj["kind"] in CORE_KINDS:
            continue
        checked += 1
        problems += [f"{_label(obj)}: {e}" for e in validate_custom(obj)]
    assert not problems, "\n".join(problems)
    assert checked >= 7


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_core_objects_pass_kubernetes_validate_strict(manifests: dict[str, Any], env: str) -> None:
    objects = [o for o in all_objects(manifests[env]) if o["kind"] in CORE_KINDS]
    problems = [f"{_label(o)}: {e}" for o in objects for e in validate_core(o)]
    assert not problems, "\n".join(problems)
    assert len(objects) >= 8


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_custom_resources_pass_the_crds_cel_rules(
    manifests: dict[str, Any], crd_schemas: dict[tuple[str, str], Any], env: str
) -> None:
    problems = []
    for obj in all_objects(manifests[env]):
        if obj["kind"] not in CORE_KINDS:
            schema = crd_schemas[(obj["apiVersion"], obj["kind"])]
            problems += [f"{_label(obj)}: {e}" for e in cel_errors(schema, obj)]
    assert not problems, "\n".join(problems)


def test_cel_rules_catch_chart_and_chart_ref_together(
    manifests: dict[str, Any], crd_schemas: dict[tuple[str, str], Any]
) -> None:
    release = copy.deepcopy(of_kind(manifests["production"], "HelmRelease")[0])
    release["spec"]["chartRef"] = {"kind": "OCIRepository", "name": "cert-manager"}
    schema = crd_schemas[(release["apiVersion"], "HelmRelease")]
    assert cel_errors(schema, release)


def test_production_has_the_private_ca_issuer(manifests: dict[str, Any]) -> None:
    assert of_kind(manifests["production"], "AWSPCAClusterIssuer")
    assert not of_kind(manifests["staging"], "AWSPCAClusterIssuer")


# -- the validators catch what they must (tests that can fail) -------------------------------
def _mutated(obj: Manifest, path: list[str], key: str, value: Any) -> Manifest:
    clone = copy.deepcopy(obj)
    node = clone
    for part in path:
        node = node[part]
    node[key] = value
    return clone


@pytest.mark.parametrize(
    ("kind", "path", "key", "value"),
    [
        ("Certificate", ["spec"], "renewBefor", "1440h"),  # typo
        ("Certificate", ["spec", "privateKey"], "rotationPolicy", "Sometimes"),  # enum
        ("HelmRelease", ["spec", "chart", "spec"], "verison", "v1.21.1"),
        ("ClusterIssuer", ["spec", "acme", "solvers", 0, "dns01", "route53"], "accessKeyID", None),
        ("PeerAuthentication", ["spec", "mtls"], "mod", "STRICT"),
        ("DestinationRule", ["spec", "trafficPolicy", "tls"], "minProtocolVersion", "TLSV1_2"),
        ("PrometheusRule", ["spec", "groups", 0], "rule", []),
        ("HelmRepository", ["metadata"], "label", {}),
    ],
)
def test_strict_mode_rejects_unknown_or_invalid_fields(
    manifests: dict[str, Any],
    validate_custom: Validator,
    kind: str,
    path: list[Any],
    key: str,
    value: Any,
) -> None:
    original = of_kind(manifests["production"], kind)[0]
    assert validate_custom(original) == []
    assert validate_custom(_mutated(original, path, key, value)), f"{kind}.{key} was accepted"


def test_kubernetes_validate_rejects_unknown_fields(manifests: dict[str, Any]) -> None:
    policy = of_kind(manifests["production"], "NetworkPolicy")[0]
    bad = _mutated(policy, ["spec"], "action", "Deny")  # NetworkPolicy has no deny action
    assert validate_core(bad)


# -- the cert-manager chart values --------------------------------------------------------------
def _values(manifests: dict[str, Any], env: str) -> dict[str, Any]:
    values: dict[str, Any] = of_kind(manifests[env], "HelmRelease")[0]["spec"]["values"]
    return values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_helm_values_match_the_chart_schema(
    manifests: dict[str, Any], chart_values_schema: dict[str, Any], env: str
) -> None:
    validator = jsonschema.Draft7Validator(chart_values_schema)
    problems = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(_values(manifests, env))
    ]
    assert not problems, "\n".join(problems)


def test_chart_schema_rejects_a_misspelt_value(
    manifests: dict[str, Any], chart_values_schema: dict[str, Any]
) -> None:
    values = copy.deepcopy(_values(manifests, "production"))
    values["webhook"]["replicas"] = 2  # the key is replicaCount
    assert list(jsonschema.Draft7Validator(chart_values_schema).iter_errors(values))


@pytest.mark.parametrize("component", [None, "webhook", "cainjector", "startupapicheck"])
def test_every_component_is_hardened(manifests: dict[str, Any], component: str | None) -> None:
    values = _values(manifests, "production")
    section = values if component is None else values[component]
    pod, container = section["securityContext"], section["containerSecurityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(section["resources"]) == {"requests", "limits"}
    # The chart's schema only says "object" for these: check them as Kubernetes types.
    problems = (
        validate_k8s_definition("io.k8s.api.core.v1.PodSecurityContext", pod)
        + validate_k8s_definition("io.k8s.api.core.v1.SecurityContext", container)
        + validate_k8s_definition("io.k8s.api.core.v1.ResourceRequirements", section["resources"])
    )
    assert not problems, problems


def test_kubernetes_type_check_catches_a_typo() -> None:
    assert validate_k8s_definition("io.k8s.api.core.v1.SecurityContext", {"runAsNonroot": True})


def test_release_pins_the_chart_and_enables_the_service_monitor(manifests: dict[str, Any]) -> None:
    from certwarden_k8s.cert_manager import CHART_VERSION

    release = of_kind(manifests["production"], "HelmRelease")[0]
    assert release["spec"]["chart"]["spec"]["version"] == CHART_VERSION
    values = release["spec"]["values"]
    assert values["prometheus"]["servicemonitor"]["enabled"] is True
    assert values["prometheus"]["servicemonitor"]["labels"] == {"release": "kube-prometheus-stack"}
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        ":role/certwarden-production-cert-manager"
    )
    assert "extraArgs" not in values  # no invented feature gates
