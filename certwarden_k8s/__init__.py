"""Kubernetes manifests (cert-manager, issuers, certificates, network policy, Istio mTLS,
Prometheus alerts) generated with cdk8s from the compliance policy and the environments."""

from .generate import build_manifests, check_environment, synth_environment, write_rule_file

__all__ = ["build_manifests", "check_environment", "synth_environment", "write_rule_file"]
