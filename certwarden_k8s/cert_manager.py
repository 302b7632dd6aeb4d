"""cert-manager installed by Flux: Namespace, HelmRepository, HelmRelease with hardened values."""

from __future__ import annotations

from typing import Any

from cdk_app.config import KubernetesConfig

from ._common import Manifest, manifest, restricted_namespace

NAMESPACE = "cert-manager"
RELEASE_NAME = "cert-manager"
CHART_NAME = "cert-manager"
#: Pinned chart version; its values schema is checked by the tests (shared/k8s-crds).
CHART_VERSION = "v1.21.1"
CHART_REPOSITORY_URL = "https://charts.jetstack.io"
SERVICE_ACCOUNT = "cert-manager"  # the chart's controller service account for this release name
WEBHOOK_PORT = 10250
METRICS_PORT = 9402
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"

POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> Any:
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def _component(resources: Any, *, replicas: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "securityContext": POD_SECURITY_CONTEXT,
        "containerSecurityContext": CONTAINER_SECURITY_CONTEXT,
        "resources": resources,
    }
    if replicas is not None:
        values["replicaCount"] = replicas
        values["podDisruptionBudget"] = {"enabled": True, "minAvailable": 1}
    return values


def helm_values(k8s: KubernetesConfig) -> dict[str, Any]:
    """The chart values: every component non-root, no escalation, no capabilities,
    RuntimeDefault seccomp, requests and limits; two replicas with a PDB; metrics scraped
    through a ServiceMonitor; the controller's service account bound to its IRSA role."""
    return {
        "crds": {"enabled": True, "keep": True},
        "global": {"leaderElection": {"namespace": NAMESPACE}},
        **_component(_resources("50m", "128Mi", "500m", "512Mi"), replicas=2),
        "serviceAccount": {"annotations": {IRSA_ANNOTATION: k8s.cert_manager_role_arn}},
        "prometheus": {
            "enabled": True,
            "servicemonitor": {"enabled": True, "labels": dict(k8s.monitoring_labels)},
        },
        "webhook": {
            **_component(_resources("10m", "64Mi", "200m", "256Mi"), replicas=2),
            "securePort": WEBHOOK_PORT,
        },
        "cainjector": _component(_resources("20m", "128Mi", "200m", "512Mi"), replicas=2),
        "startupapicheck": _component(_resources("10m", "32Mi", "100m", "64Mi"), replicas=None),
    }


def install(k8s: KubernetesConfig) -> list[Manifest]:
    namespace = restricted_namespace(NAMESPACE)
    repository = manifest(
        "source.toolkit.fluxcd.io/v1",
        "HelmRepository",
        "jetstack",
        namespace=NAMESPACE,
        spec={"url": CHART_REPOSITORY_URL, "interval": "12h"},
    )
    release = manifest(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        RELEASE_NAME,
        namespace=NAMESPACE,
        spec={
            "interval": "1h",
            "releaseName": RELEASE_NAME,
            "chart": {
                "spec": {
                    "chart": CHART_NAME,
                    "version": CHART_VERSION,
                    "sourceRef": {"kind": "HelmRepository", "name": "jetstack"},
                    "interval": "12h",
                }
            },
            "install": {"crds": "CreateReplace", "remediation": {"retries": 3}},
            "upgrade": {"crds": "CreateReplace", "remediation": {"retries": 3}},
            "values": helm_values(k8s),
        },
    )
    return [namespace, repository, release]
