"""Fixtures for the Kubernetes manifest tests (helpers in ``k8s_helpers``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.k8s_helpers import (
    CONFIG_PATH,
    DEFAULT_CRDS_DIR,
    REPO_ROOT,
    Manifest,
    Validator,
    crd_root,
    missing,
    schema_errors,
    strictify,
)


@pytest.fixture(scope="session")
def k8s_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m certwarden_k8s`` over the example environments, once per session."""
    from certwarden_k8s.__main__ import main

    out = tmp_path_factory.mktemp("k8s-out")
    argv = ["--config", str(CONFIG_PATH), "--out", str(out), "--rules", str(out / "rules.yaml")]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="session")
def manifests(k8s_out: Path) -> dict[str, dict[str, list[Manifest]]]:
    """environment -> file name -> objects, read back from the YAML files cdk8s wrote."""
    result: dict[str, dict[str, list[Manifest]]] = {}
    for env_dir in sorted(p for p in k8s_out.iterdir() if p.is_dir()):
        result[env_dir.name] = {
            path.name: [d for d in yaml.safe_load_all(path.read_text()) if d]
            for path in sorted(env_dir.glob("*.k8s.yaml"))
        }
    assert set(result) == {"staging", "production"}
    return result


@pytest.fixture(scope="session")
def example_config() -> Any:
    from cdk_app.config import load_config

    return load_config(CONFIG_PATH)


@pytest.fixture(scope="session")
def crds_dir() -> Path:
    path = Path(os.environ.get("CERTWARDEN_K8S_CRDS", DEFAULT_CRDS_DIR))
    if not (path / "cert-manager").is_dir():
        missing(
            f"CRD schemas not found at {path}: set CERTWARDEN_K8S_CRDS to the shared "
            "k8s-crds folder"
        )
    return path


@pytest.fixture(scope="session")
def crd_schemas(crds_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict schema, for every served version in the CRD folder."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(crds_dir.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = crd_root(strictify(version["schema"]["openAPIV3Schema"]))
    assert schemas, f"no CustomResourceDefinitions under {crds_dir}"
    return schemas


@pytest.fixture(scope="session")
def validate_custom(crd_schemas: dict[tuple[str, str], dict[str, Any]]) -> Validator:
    def validate(obj: Manifest) -> list[str]:
        key = (obj["apiVersion"], obj["kind"])
        if key not in crd_schemas:
            return [f"no served CRD version for {key[0]} {key[1]}"]
        return schema_errors(crd_schemas[key], obj)

    return validate


@pytest.fixture(scope="session")
def chart_values_schema(crds_dir: Path) -> dict[str, Any]:
    from certwarden_k8s.cert_manager import CHART_VERSION

    path = crds_dir / "helm-chart-values" / f"cert-manager-{CHART_VERSION}.values.schema.json"
    if not path.is_file():
        missing(f"no values schema for the pinned chart version at {path}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


@pytest.fixture(scope="session")
def promtool() -> str:
    candidates = [
        os.environ.get("PROMTOOL", ""),
        str(REPO_ROOT / "tools" / "prometheus" / "usr" / "bin" / "promtool"),
        shutil.which("promtool") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    missing("promtool not found: `make tools/prometheus/usr/bin/promtool` installs it")
    raise AssertionError("unreachable")
