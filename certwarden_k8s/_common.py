"""Small helpers shared by the manifest builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Manifest = dict[str, Any]

MANAGED_BY = {"app.kubernetes.io/managed-by": "certwarden"}


def manifest(
    api_version: str,
    kind: str,
    name: str,
    *,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    **body: Any,
) -> Manifest:
    """One Kubernetes object: apiVersion, kind, metadata, then the given top-level fields."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = {**MANAGED_BY, **dict(labels or {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def restricted_namespace(name: str) -> Manifest:
    """A namespace for a controller installed by CertWarden: every pod meets the "restricted"
    Pod Security Standard (enforced, audited, warned), and no Istio sidecar is injected (its
    init container needs NET_ADMIN, which "restricted" forbids, and the API server calls the
    webhooks directly, outside the mesh)."""
    return manifest(
        "v1",
        "Namespace",
        name,
        labels={
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
            "istio-injection": "disabled",
        },
    )
