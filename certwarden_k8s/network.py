"""NetworkPolicies. Kubernetes has no deny rule: a policy that selects pods and allows nothing
denies everything of its type; further policies add allowed traffic."""

from __future__ import annotations

from typing import Any

from cdk_app.config import KubernetesConfig

from . import cert_manager, privateca_issuer
from ._common import Manifest, manifest

API = "networking.k8s.io/v1"
#: Namespaces carrying this label (value "true") may reach workloads on TCP 443.
VERIFIED_NAMESPACE_LABEL = "certwarden/verified"
HTTPS_PORT = 443
_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace


def _policy(name: str, namespace: str, **spec: Any) -> Manifest:
    return manifest(API, "NetworkPolicy", name, namespace=namespace, spec=spec)


def workload_policies(namespace: str) -> list[Manifest]:
    return [
        _policy("default-deny-ingress", namespace, podSelector={}, policyTypes=["Ingress"]),
        _policy(
            "allow-https-from-verified-namespaces",
            namespace,
            podSelector={},
            policyTypes=["Ingress"],
            ingress=[
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {VERIFIED_NAMESPACE_LABEL: "true"}}}
                    ],
                    "ports": [{"protocol": "TCP", "port": HTTPS_PORT}],
                }
            ],
        ),
    ]


def cert_manager_policies(k8s: KubernetesConfig) -> list[Manifest]:
    """Deny all in cert-manager's namespace, then exactly what cert-manager needs."""
    ns = cert_manager.NAMESPACE
    instance = {"app.kubernetes.io/instance": cert_manager.RELEASE_NAME}
    return [
        _policy("default-deny", ns, podSelector={}, policyTypes=["Ingress", "Egress"]),
        # The API server calls the webhook; its addresses are not selectable by label.
        _policy(
            "allow-webhook-from-apiserver",
            ns,
            podSelector={"matchLabels": {**instance, "app.kubernetes.io/component": "webhook"}},
            policyTypes=["Ingress"],
            ingress=[{"ports": [{"protocol": "TCP", "port": cert_manager.WEBHOOK_PORT}]}],
        ),
        _policy(
            "allow-metrics-from-monitoring",
            ns,
            podSelector={"matchLabels": instance},
            policyTypes=["Ingress"],
            ingress=[_from_monitoring(k8s, cert_manager.METRICS_PORT)],
        ),
        _policy(
            "allow-dns-egress",
            ns,
            podSelector={},
            policyTypes=["Egress"],
            egress=[_dns_egress()],
        ),
        # Kubernetes API, ACME (Let's Encrypt), Route53 and STS (IRSA) are all HTTPS.
        _policy(
            "allow-https-egress",
            ns,
            podSelector={},
            policyTypes=["Egress"],
            egress=[{"ports": [{"protocol": "TCP", "port": HTTPS_PORT}]}],
        ),
    ]


def _from_monitoring(k8s: KubernetesConfig, port: int) -> dict[str, Any]:
    return {
        "from": [{"namespaceSelector": {"matchLabels": {_NAME_LABEL: k8s.monitoring_namespace}}}],
        "ports": [{"protocol": "TCP", "port": port}],
    }


def _dns_egress() -> dict[str, Any]:
    return {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {_NAME_LABEL: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def privateca_issuer_policies(k8s: KubernetesConfig) -> list[Manifest]:
    """Deny all in aws-privateca-issuer's namespace, then what the issuer needs: DNS, HTTPS
    out (Kubernetes API, ACM Private CA, STS for IRSA) and its metrics port from Prometheus.
    Nothing calls into it otherwise: it watches CertificateRequests through the API."""
    if k8s.private_ca_arn is None:
        return []
    ns = k8s.private_ca_issuer_namespace
    return [
        _policy("default-deny", ns, podSelector={}, policyTypes=["Ingress", "Egress"]),
        _policy(
            "allow-metrics-from-monitoring",
            ns,
            podSelector={"matchLabels": dict(privateca_issuer.SELECTOR_LABELS)},
            policyTypes=["Ingress"],
            ingress=[_from_monitoring(k8s, privateca_issuer.METRICS_PORT)],
        ),
        _policy(
            "allow-dns-egress", ns, podSelector={}, policyTypes=["Egress"], egress=[_dns_egress()]
        ),
        _policy(
            "allow-https-egress",
            ns,
            podSelector={},
            policyTypes=["Egress"],
            egress=[{"ports": [{"protocol": "TCP", "port": HTTPS_PORT}]}],
        ),
    ]


def all_policies(k8s: KubernetesConfig) -> list[Manifest]:
    policies = cert_manager_policies(k8s) + privateca_issuer_policies(k8s)
    for namespace in k8s.namespaces:
        policies.extend(workload_policies(namespace))
    return policies
