"""Istio: mutual TLS required in every workload namespace, and the TLS floor where Istio
keeps it. DestinationRule TLS settings have no protocol-version or cipher fields: the minimum
version of mesh mTLS is ``meshConfig.meshMTLS.minProtocolVersion`` (istiod's mesh config) and,
for ingress, ``Gateway.spec.servers[].tls.minProtocolVersion``."""

from __future__ import annotations

from typing import Any

import yaml

from certwarden_runtime.policy import CompliancePolicy

from ._common import Manifest, manifest

ISTIO_NAMESPACE = "istio-system"
MESH_VALUES_CONFIGMAP = "certwarden-istiod-mesh-values"
MESH_VALUES_KEY = "values.yaml"
_ISTIO_TLS_VERSIONS = {"TLSv1.2": "TLSV1_2", "TLSv1.3": "TLSV1_3"}


def istio_tls_version(policy: CompliancePolicy) -> str:
    """The policy's minimum TLS version in Istio's spelling (``TLSV1_2``)."""
    return _ISTIO_TLS_VERSIONS[policy.min_tls_version]


def mesh_values(policy: CompliancePolicy) -> dict[str, Any]:
    """Helm values for istiod (``meshConfig`` is a top-level value of the istiod chart)."""
    return {"meshConfig": {"meshMTLS": {"minProtocolVersion": istio_tls_version(policy)}}}


def gateway_server_tls(policy: CompliancePolicy, credential_name: str) -> dict[str, Any]:
    """The ``tls`` block for a ``Gateway`` server terminating HTTPS with a cert-manager
    secret (for teams writing their own Gateways)."""
    return {
        "mode": "SIMPLE",
        "credentialName": credential_name,
        "minProtocolVersion": istio_tls_version(policy),
    }


def namespace_mtls(namespace: str) -> list[Manifest]:
    return [
        manifest(
            "security.istio.io/v1",
            "PeerAuthentication",
            "default",
            namespace=namespace,
            spec={"mtls": {"mode": "STRICT"}},
        ),
        manifest(
            "networking.istio.io/v1",
            "DestinationRule",
            "istio-mutual",
            namespace=namespace,
            spec={
                "host": f"*.{namespace}.svc.cluster.local",
                "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
            },
        ),
    ]


def mesh_values_configmap(policy: CompliancePolicy) -> Manifest:
    """For Flux: reference it from the istiod HelmRelease as
    ``valuesFrom: [{kind: ConfigMap, name: certwarden-istiod-mesh-values}]``."""
    return manifest(
        "v1",
        "ConfigMap",
        MESH_VALUES_CONFIGMAP,
        namespace=ISTIO_NAMESPACE,
        data={MESH_VALUES_KEY: yaml.safe_dump(mesh_values(policy), sort_keys=False)},
    )


def all_istio(policy: CompliancePolicy, namespaces: list[str]) -> list[Manifest]:
    result = [mesh_values_configmap(policy)]
    for namespace in namespaces:
        result.extend(namespace_mtls(namespace))
    return result
