"""aws-privateca-issuer installed by Flux, as cert-manager is: Namespace, HelmRepository,
HelmRelease with hardened values. Generated only when ``kubernetes.private_ca_arn`` is set:
without it there is no ``AWSPCAClusterIssuer`` and no IRSA role for the issuer."""

from __future__ import annotations

from typing import Any

from cdk_app.config import KubernetesConfig

from . import cert_manager
from ._common import Manifest, manifest, restricted_namespace

RELEASE_NAME = "aws-privateca-issuer"
#: The chart's name in its repository index (the source folder is ``charts/aws-pca-issuer``).
CHART_NAME = "aws-privateca-issuer"
#: Newest entry of the chart repository's index.yaml (created 2026-09-03, a CVE-patch release
#: of the v1.9 line whose CRDs are in shared/k8s-crds). Chart versions carry the ``v``.
CHART_VERSION = "v1.9.2"
CHART_REPOSITORY_URL = "https://cert-manager.github.io/aws-privateca-issuer"
REPOSITORY_NAME = "aws-privateca-issuer"
#: The manager serves metrics on container port 8080 ("http", the ServiceMonitor's port);
#: its health probes (8081) come from the kubelet, which NetworkPolicy does not filter.
METRICS_PORT = 8080
#: The chart's pod label values (``.Chart.Name`` and the release name).
SELECTOR_LABELS = {
    "app.kubernetes.io/name": CHART_NAME,
    "app.kubernetes.io/instance": RELEASE_NAME,
}

POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 65532,  # the chart's default user, stated so it does not rest on a merge
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = cert_manager.CONTAINER_SECURITY_CONTEXT
RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


def helm_values(k8s: KubernetesConfig) -> dict[str, Any]:
    """Only keys the chart's values.yaml has (checked by tests/k8s). ``podSecurityContext``,
    ``securityContext`` and ``resources`` are copied verbatim into the Deployment."""
    if k8s.private_ca_issuer_role_arn is None:
        raise ValueError("aws-privateca-issuer needs kubernetes.private_ca_issuer_role_arn")
    return {
        "replicaCount": 2,
        # Helm merges these maps with the chart's defaults ({maxUnavailable: 1}); a
        # minAvailable here would yield a budget with both fields, which the API rejects.
        "podDisruptionBudget": {"maxUnavailable": 1},
        # The name and namespace the IRSA role trusts (system:serviceaccount:NS:NAME).
        "serviceAccount": {
            "create": True,
            "name": k8s.private_ca_issuer_service_account,
            "annotations": {cert_manager.IRSA_ANNOTATION: k8s.private_ca_issuer_role_arn},
        },
        # cert-manager's controller approves the awspca.cert-manager.io CertificateRequests.
        "approverRole": {
            "enabled": True,
            "serviceAccountName": cert_manager.SERVICE_ACCOUNT,
            "namespace": cert_manager.NAMESPACE,
        },
        "podSecurityContext": POD_SECURITY_CONTEXT,
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "resources": RESOURCES,
        "serviceMonitor": {"create": True, "labels": dict(k8s.monitoring_labels)},
    }


def install(k8s: KubernetesConfig) -> list[Manifest]:
    """Namespace, HelmRepository and HelmRelease; empty without ``private_ca_arn``."""
    if k8s.private_ca_arn is None:
        return []
    namespace = k8s.private_ca_issuer_namespace
    namespace_object = restricted_namespace(namespace)
    repository = manifest(
        "source.toolkit.fluxcd.io/v1",
        "HelmRepository",
        REPOSITORY_NAME,
        namespace=namespace,
        spec={"url": CHART_REPOSITORY_URL, "interval": "12h"},
    )
    release = manifest(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        RELEASE_NAME,
        namespace=namespace,
        spec={
            "interval": "1h",
            "releaseName": RELEASE_NAME,
            # An external issuer for cert-manager: reconciled once cert-manager is Ready.
            "dependsOn": [{"name": cert_manager.RELEASE_NAME, "namespace": cert_manager.NAMESPACE}],
            "chart": {
                "spec": {
                    "chart": CHART_NAME,
                    "version": CHART_VERSION,
                    "sourceRef": {"kind": "HelmRepository", "name": REPOSITORY_NAME},
                    "interval": "12h",
                }
            },
            # The chart ships its CRDs in crds/; keep them current on upgrades too.
            "install": {"crds": "CreateReplace", "remediation": {"retries": 3}},
            "upgrade": {"crds": "CreateReplace", "remediation": {"retries": 3}},
            "values": helm_values(k8s),
        },
    )
    return [namespace_object, repository, release]
