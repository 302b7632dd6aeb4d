"""aws-privateca-issuer's install (``05-aws-privateca-issuer.k8s.yaml``): the objects validate,
the values use only keys the chart has, the service account is the one the IRSA role trusts,
its network policies let it work, and nothing is generated without ``private_ca_arn``."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk.assertions import Template

from cdk_app.config import EnvironmentConfig, parse_environment
from certwarden_cdk.private_ca_issuer_irsa_role import PrivateCaIssuerIrsaRole
from certwarden_k8s import build_manifests, cert_manager, network, privateca_issuer
from tests.k8s.k8s_helpers import (
    CONFIG_PATH,
    Manifest,
    Validator,
    all_objects,
    cel_errors,
    of_kind,
    validate_core,
    validate_k8s_definition,
)

FILE = "05-aws-privateca-issuer.k8s.yaml"
NAMESPACE = "aws-privateca-issuer"  # the config default

# -- the chart's values.yaml ---------------------------------------------------------------------
# Read through the search tool's code corpus: cert-manager/aws-privateca-issuer,
# charts/aws-pca-issuer/values.yaml, newest stored version (commit
# 88b698b7e0ecd1d596e6ab8e75790b6a5da1e23c; it has image.digest and
# disableClientSideRateLimiting, the newest keys). The pinned chart is v1.9.2 (see
# certwarden_k8s.privateca_issuer.CHART_VERSION). Every key the generator uses below is also in
# the 1.2.x-era values.yaml, so none of them is new or about to go. The templates that read them
# (deployment.yaml, rbac.yaml, pdb.yaml, service-monitor.yaml) were read there too.
CHART_TOP_LEVEL_KEYS = frozenset(
    {
        "replicaCount",
        "image",
        "disableApprovedCheck",
        "disableClientSideRateLimiting",
        "imagePullSecrets",
        "nameOverride",
        "fullnameOverride",
        "revisionHistoryLimit",
        "serviceAccount",
        "rbac",
        "service",
        "podAnnotations",
        "podSecurityContext",
        "securityContext",
        "resources",
        "nodeSelector",
        "tolerations",
        "affinity",
        "topologySpreadConstraints",
        "priorityClassName",
        "env",
        "podLabels",
        "volumes",
        "volumeMounts",
        "extraContainers",
        "podDisruptionBudget",
        "autoscaling",
        "approverRole",
        "serviceMonitor",
    }
)
#: Sections whose own keys are the chart's (the others are free-form Kubernetes types or maps).
CHART_SECTION_KEYS: Mapping[str, frozenset[str]] = {
    "image": frozenset({"repository", "pullPolicy", "tag", "digest"}),
    "serviceAccount": frozenset({"create", "annotations", "name"}),
    "rbac": frozenset({"create"}),
    "service": frozenset({"type", "port"}),
    "autoscaling": frozenset(
        {
            "enabled",
            "minReplicas",
            "maxReplicas",
            "targetCPUUtilizationPercentage",
            "targetMemoryUtilizationPercentage",
        }
    ),
    "approverRole": frozenset({"enabled", "serviceAccountName", "namespace"}),
    "serviceMonitor": frozenset({"create", "annotations", "labels"}),
}
#: Sections the chart copies verbatim into a Kubernetes object (toYaml in the templates).
#: podDisruptionBudget becomes the spec of a PodDisruptionBudget whose selector the chart sets.
KUBERNETES_SECTIONS = {
    "podSecurityContext": "io.k8s.api.core.v1.PodSecurityContext",
    "securityContext": "io.k8s.api.core.v1.SecurityContext",
    "resources": "io.k8s.api.core.v1.ResourceRequirements",
    "podDisruptionBudget": "io.k8s.api.policy.v1.PodDisruptionBudgetSpec",
}


def unknown_value_keys(values: Mapping[str, Any]) -> list[str]:
    """Keys the chart does not have: top level, and inside the chart's own sections."""
    problems = [key for key in values if key not in CHART_TOP_LEVEL_KEYS]
    for section, allowed in CHART_SECTION_KEYS.items():
        if isinstance(values.get(section), Mapping):
            problems += [f"{section}.{k}" for k in values[section] if k not in allowed]
    return problems


def value_type_errors(values: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for section, definition in KUBERNETES_SECTIONS.items():
        if section in values:
            problems += [
                f"{section}: {e}" for e in validate_k8s_definition(definition, values[section])
            ]
    if "selector" in values.get("podDisruptionBudget", {}):
        problems.append("podDisruptionBudget.selector: set by the chart")
    return problems


# -- fixtures ------------------------------------------------------------------------------------
def _raw(env: str) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(CONFIG_PATH.read_text())["environments"][env]
    return copy.deepcopy(raw)


def _objects(manifests: dict[str, Any]) -> list[Manifest]:
    objects: list[Manifest] = manifests["production"][FILE]
    return objects


def _release(manifests: dict[str, Any]) -> Manifest:
    (release,) = [o for o in _objects(manifests) if o["kind"] == "HelmRelease"]
    return release


def _values(manifests: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = _release(manifests)["spec"]["values"]
    return values


# -- the objects validate -----------------------------------------------------------------------
def test_the_install_is_namespace_repository_release(manifests: dict[str, Any]) -> None:
    objects = _objects(manifests)
    assert [o["kind"] for o in objects] == ["Namespace", "HelmRepository", "HelmRelease"]
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in objects} == {NAMESPACE}
    # After cert-manager's install, before the issuers (which need the chart's CRD).
    names = list(manifests["production"])
    assert names.index("00-cert-manager.k8s.yaml") < names.index(FILE)
    assert names.index(FILE) < names.index("20-issuers.k8s.yaml")


def test_custom_resources_validate_strictly_with_cel(
    manifests: dict[str, Any],
    validate_custom: Validator,
    crd_schemas: dict[tuple[str, str], Any],
) -> None:
    problems = []
    for obj in _objects(manifests):
        if obj["kind"] == "Namespace":
            continue
        problems += validate_custom(obj)
        problems += cel_errors(crd_schemas[(obj["apiVersion"], obj["kind"])], obj)
    assert not problems, "\n".join(problems)


def test_core_objects_validate(manifests: dict[str, Any]) -> None:
    core = [o for o in _objects(manifests) if o["kind"] == "Namespace"] + [
        p
        for p in of_kind(manifests["production"], "NetworkPolicy")
        if p["metadata"]["namespace"] == NAMESPACE
    ]
    assert len(core) == 5
    problems = [e for o in core for e in validate_core(o)]
    assert not problems, "\n".join(problems)


def test_namespace_enforces_restricted_pod_security(manifests: dict[str, Any]) -> None:
    (namespace,) = [o for o in _objects(manifests) if o["kind"] == "Namespace"]
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_release_pins_the_chart_from_its_repository(manifests: dict[str, Any]) -> None:
    (repository,) = [o for o in _objects(manifests) if o["kind"] == "HelmRepository"]
    assert repository["spec"]["url"] == "https://cert-manager.github.io/aws-privateca-issuer"
    chart = _release(manifests)["spec"]["chart"]["spec"]
    assert chart["chart"] == "aws-privateca-issuer"
    assert chart["version"] == privateca_issuer.CHART_VERSION == "v1.9.2"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", chart["version"])  # exact: no range
    assert chart["sourceRef"] == {"kind": "HelmRepository", "name": repository["metadata"]["name"]}


def test_release_depends_on_the_cert_manager_release(manifests: dict[str, Any]) -> None:
    (dependency,) = _release(manifests)["spec"]["dependsOn"]
    cert_manager_releases = {
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in manifests["production"]["00-cert-manager.k8s.yaml"]
        if o["kind"] == "HelmRelease"
    }
    assert (dependency["namespace"], dependency["name"]) in cert_manager_releases


# -- the values: only the chart's keys, hardened --------------------------------------------------
def test_values_use_only_the_charts_keys(manifests: dict[str, Any]) -> None:
    values = _values(manifests)
    assert unknown_value_keys(values) == []
    assert value_type_errors(values) == []


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        (None, "replicas", 2),  # the key is replicaCount
        (None, "containerSecurityContext", {}),  # cert-manager's name; this chart: securityContext
        (None, "prometheus", {"enabled": True}),  # cert-manager's; this chart: serviceMonitor
        ("serviceAccount", "annotation", {}),
        ("serviceMonitor", "enabled", True),  # the key is create
        ("approverRole", "serviceAccount", "cert-manager"),
    ],
)
def test_a_key_the_chart_lacks_is_caught(
    manifests: dict[str, Any], section: str | None, key: str, value: Any
) -> None:
    values = copy.deepcopy(_values(manifests))
    (values if section is None else values[section])[key] = value
    assert unknown_value_keys(values), f"{section}.{key} was accepted"


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("securityContext", "readOnlyRootFS", True),
        ("podSecurityContext", "allowPrivilegeEscalation", False),  # container-level only
        ("resources", "request", {}),
        ("podDisruptionBudget", "selector", {}),
    ],
)
def test_a_wrong_kubernetes_field_is_caught(
    manifests: dict[str, Any], section: str, key: str, value: Any
) -> None:
    values = copy.deepcopy(_values(manifests))
    values[section][key] = value
    assert value_type_errors(values), f"{section}.{key} was accepted"


def test_the_issuer_is_hardened(manifests: dict[str, Any]) -> None:
    values = _values(manifests)
    pod, container = values["podSecurityContext"], values["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["runAsNonRoot"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(values["resources"]) == {"requests", "limits"}
    assert set(values["resources"]["limits"]) == {"cpu", "memory"}
    assert values["replicaCount"] == 2
    # Helm merges the chart's default {maxUnavailable: 1}: a minAvailable would yield both.
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1}


def test_cert_manager_may_approve_the_issuers_requests(manifests: dict[str, Any]) -> None:
    assert _values(manifests)["approverRole"] == {
        "enabled": True,
        "serviceAccountName": cert_manager.SERVICE_ACCOUNT,
        "namespace": cert_manager.NAMESPACE,
    }


def test_service_monitor_carries_the_monitoring_labels(manifests: dict[str, Any]) -> None:
    assert _values(manifests)["serviceMonitor"] == {
        "create": True,
        "labels": {"release": "kube-prometheus-stack"},
    }


# -- IRSA: the service account the role trusts ----------------------------------------------------
def test_service_account_annotation_is_the_configured_role(
    manifests: dict[str, Any], example_config: Any
) -> None:
    k8s = example_config.environments["production"].kubernetes
    account = _values(manifests)["serviceAccount"]
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": k8s.private_ca_issuer_role_arn}
    assert account["create"] is True


def _trusted_subject(env: EnvironmentConfig) -> str:
    """Build the role as cdk_app.stack does (namespace and service account from the config)
    and read the ``sub`` its trust policy requires."""
    k8s = env.kubernetes
    assert k8s is not None
    assert k8s.private_ca_arn is not None
    stack = cdk.Stack(cdk.App(), "IssuerTrust", env=cdk.Environment(account=env.account))
    PrivateCaIssuerIrsaRole(
        stack,
        "PrivateCaIssuerRole",
        oidc_provider_arn=k8s.oidc_provider_arn,
        certificate_authority_arn=k8s.private_ca_arn,
        namespace=k8s.private_ca_issuer_namespace,
        service_account=k8s.private_ca_issuer_service_account,
    )
    (role,) = Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (subject,) = [
        v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")
    ]
    assert isinstance(subject, str)
    return subject


def _generated_subject(files: Mapping[str, list[Manifest]]) -> str:
    (release,) = [o for o in files["05-aws-privateca-issuer"] if o["kind"] == "HelmRelease"]
    name = release["spec"]["values"]["serviceAccount"]["name"]
    return f"system:serviceaccount:{release['metadata']['namespace']}:{name}"


def _custom_environment() -> EnvironmentConfig:
    raw = _raw("production")
    raw["kubernetes"]["private_ca_issuer_namespace"] = "pki-system"
    raw["kubernetes"]["private_ca_issuer_service_account"] = "pca-signer"
    return parse_environment("production", raw)


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom-names"])
def test_release_runs_as_the_service_account_the_role_trusts(
    example_config: Any, custom: bool
) -> None:
    env = _custom_environment() if custom else example_config.environments["production"]
    subject = _generated_subject(build_manifests(env))
    assert subject == _trusted_subject(env)
    expected = "pki-system:pca-signer" if custom else f"{NAMESPACE}:{NAMESPACE}"
    assert subject == f"system:serviceaccount:{expected}"


def test_custom_namespace_moves_everything(example_config: Any) -> None:
    files = build_manifests(_custom_environment())
    install = files["05-aws-privateca-issuer"]
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in install} == {
        "pki-system"
    }
    policies = {
        p["metadata"]["name"]
        for p in files["10-network-policies"]
        if p["metadata"]["namespace"] == "pki-system"
    }
    assert "default-deny" in policies
    assert not [o for o in all_objects(files) if o["metadata"].get("namespace") == NAMESPACE]


# -- nothing without private_ca_arn ---------------------------------------------------------------
def test_nothing_is_generated_without_the_private_ca(
    manifests: dict[str, Any], example_config: Any
) -> None:
    assert FILE not in manifests["staging"]
    staging = all_objects(manifests["staging"])
    assert not [
        o for o in staging if NAMESPACE in (o["metadata"].get("namespace"), o["metadata"]["name"])
    ]
    assert [o["metadata"]["name"] for o in of_kind(manifests["staging"], "HelmRelease")] == [
        "cert-manager"
    ]
    k8s = example_config.environments["staging"].kubernetes
    assert k8s.private_ca_arn is None
    assert privateca_issuer.install(k8s) == []
    assert network.privateca_issuer_policies(k8s) == []
    assert "05-aws-privateca-issuer" not in build_manifests(example_config.environments["staging"])


def test_removing_the_private_ca_removes_the_install() -> None:
    raw = _raw("production")
    for field in ("private_ca_arn", "private_ca_issuer_role_arn"):
        del raw["kubernetes"][field]
    raw["kubernetes"]["certificates"] = [
        c for c in raw["kubernetes"]["certificates"] if c.get("issuer") != "private-ca"
    ]
    files = build_manifests(parse_environment("production", raw))
    assert "05-aws-privateca-issuer" not in files
    assert not of_kind(files, "AWSPCAClusterIssuer")
    assert not [o for o in all_objects(files) if o["metadata"].get("namespace") == NAMESPACE]


# -- network policy: default deny, then what the issuer needs -------------------------------------
def _policies(manifests: dict[str, Any]) -> dict[str, Any]:
    return {
        p["metadata"]["name"]: p["spec"]
        for p in of_kind(manifests["production"], "NetworkPolicy")
        if p["metadata"]["namespace"] == NAMESPACE
    }


def test_issuer_namespace_is_default_deny(manifests: dict[str, Any]) -> None:
    policies = _policies(manifests)
    assert policies["default-deny"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }
    assert set(policies) == {
        "default-deny",
        "allow-metrics-from-monitoring",
        "allow-dns-egress",
        "allow-https-egress",
    }
    # Ingress is allowed only for metrics, and only from the monitoring namespace.
    ingress = [p for p in policies.values() if "ingress" in p]
    assert len(ingress) == 1


def test_issuer_may_resolve_names_and_reach_aws_and_the_api(manifests: dict[str, Any]) -> None:
    policies = _policies(manifests)
    (dns,) = policies["allow-dns-egress"]["egress"]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    # ACM Private CA, STS (IRSA web identity) and the Kubernetes API are all HTTPS.
    assert policies["allow-https-egress"]["egress"] == [
        {"ports": [{"protocol": "TCP", "port": 443}]}
    ]


def test_prometheus_may_scrape_the_issuer(manifests: dict[str, Any]) -> None:
    metrics = _policies(manifests)["allow-metrics-from-monitoring"]
    (rule,) = metrics["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    # The chart's selector labels: app.kubernetes.io/name = chart name, instance = release.
    release = _release(manifests)
    assert metrics["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": release["spec"]["chart"]["spec"]["chart"],
        "app.kubernetes.io/instance": release["spec"]["releaseName"],
    }
