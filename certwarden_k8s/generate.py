"""Assemble an environment's manifests and write them with cdk8s, one YAML file per chart."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cdk8s
import yaml

from cdk_app.config import ConfigError, EnvironmentConfig, KubernetesConfig
from certwarden_runtime.policy import DEFAULT_POLICY, CompliancePolicy

from . import alerts, cert_manager, certificates, issuers, istio, network, privateca_issuer
from ._common import Manifest

#: File stem -> manifests; the numeric prefixes give a workable ``kubectl apply`` order.
ManifestFiles = dict[str, list[Manifest]]


def _arn_account(arn: str) -> str:
    return arn.split(":")[4]


def check_environment(env: EnvironmentConfig) -> KubernetesConfig:
    """Cross-checks between the ``kubernetes`` section and the rest of the environment."""
    k8s = env.kubernetes
    if k8s is None:
        raise ConfigError(f"environment {env.name!r}: field 'kubernetes': not configured")

    def fail(field: str, message: str) -> ConfigError:
        return ConfigError(f"environment {env.name!r}: field 'kubernetes.{field}': {message}")

    arns = {
        "oidc_provider_arn": k8s.oidc_provider_arn,
        "cert_manager_role_arn": k8s.cert_manager_role_arn,
        "private_ca_arn": k8s.private_ca_arn,
        "private_ca_issuer_role_arn": k8s.private_ca_issuer_role_arn,
    }
    for field, arn in arns.items():
        if arn is not None and _arn_account(arn) != env.account:
            raise fail(field, f"account {_arn_account(arn)} is not the environment's {env.account}")
    if k8s.private_ca_arn is not None and not env.private_ca.enabled:
        raise fail("private_ca_arn", "set, but private_ca.enabled is false in this environment")
    zone = env.hosted_zone.name
    for index, cert in enumerate(k8s.certificates):
        if cert.issuer == "private-ca":
            continue
        for name in cert.dns_names:
            bare = name.removeprefix("*.")
            if bare != zone and not bare.endswith("." + zone):
                raise fail(
                    f"certificates[{index}].dns_names",
                    f"{name!r} is not inside hosted zone {zone!r}; the {cert.issuer} issuer "
                    "solves DNS-01 only there (use issuer 'private-ca' for internal names)",
                )
    return k8s


def build_manifests(
    env: EnvironmentConfig, policy: CompliancePolicy = DEFAULT_POLICY
) -> ManifestFiles:
    """Every manifest of one environment, grouped by output file (pure; no cdk8s)."""
    k8s = check_environment(env)
    times = certificates.CertificateTimes.from_policy(policy)
    files: ManifestFiles = {
        "00-cert-manager": cert_manager.install(k8s),
        # Before 20-issuers: its chart brings the AWSPCAClusterIssuer CRD.
        "05-aws-privateca-issuer": privateca_issuer.install(k8s),
        "10-network-policies": network.all_policies(k8s),
        "20-issuers": issuers.all_issuers(env, k8s),
        "30-certificates": [certificates.certificate(c, times) for c in k8s.certificates],
        "40-istio": istio.all_istio(policy, list(k8s.namespaces)) if k8s.istio else [],
        "50-monitoring": [alerts.prometheus_rule(policy, dict(k8s.monitoring_labels))],
    }
    return {stem: objects for stem, objects in files.items() if objects}


def _add_object(chart: cdk8s.Chart, index: int, obj: Manifest) -> None:
    metadata: dict[str, Any] = obj["metadata"]
    api_object = cdk8s.ApiObject(
        chart,
        f"{index:03d}-{obj['kind']}-{metadata['name']}",
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=cdk8s.ApiObjectMetadata(
            name=metadata["name"],
            namespace=metadata.get("namespace"),
            labels=metadata.get("labels"),
        ),
    )
    for key, value in obj.items():
        if key not in ("apiVersion", "kind", "metadata"):
            api_object.add_json_patch(cdk8s.JsonPatch.add(f"/{key}", value))


def synth_environment(
    env: EnvironmentConfig, outdir: Path, policy: CompliancePolicy = DEFAULT_POLICY
) -> list[Path]:
    """Write ``outdir/<stem>.k8s.yaml`` for each file; ``outdir`` is replaced."""
    files = build_manifests(env, policy)
    if outdir.exists():
        shutil.rmtree(outdir)
    app = cdk8s.App(outdir=str(outdir), yaml_output_type=cdk8s.YamlOutputType.FILE_PER_CHART)
    for stem, objects in files.items():
        chart = cdk8s.Chart(app, stem, disable_resource_name_hashes=True)
        for index, obj in enumerate(objects):
            _add_object(chart, index, obj)
    app.synth()
    return sorted(outdir.glob("*.k8s.yaml"))


def write_rule_file(path: Path, policy: CompliancePolicy = DEFAULT_POLICY) -> Path:
    """The alert rules as a plain Prometheus rule file (for ``promtool check rules``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump({"groups": alerts.rule_groups(policy)}, sort_keys=False), encoding="utf-8"
    )
    return path


def load_documents(paths: Iterable[Path]) -> list[Manifest]:
    """Every object in the given YAML files, in order."""
    documents: list[Manifest] = []
    for path in paths:
        documents.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    return documents
