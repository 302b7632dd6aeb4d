"""Build the CertWarden app: a stack and a replica stack per selected environment.

Errors a user can cause (a bad configuration file, a construct prop below policy, an
unacknowledged compliance finding) end the synth with one readable message and exit status 1,
never a jsii traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from cdk_app.config import (
    CONFIG_CONTEXT_KEY,
    ENVIRONMENT_CONTEXT_KEY,
    ConfigError,
    EnvironmentConfig,
    load_config,
    select_environments,
)
from certwarden_cdk.compliance import apply_compliance_checks

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = "config/environments.yaml"


class SynthError(Exception):
    """A user-facing synth failure; the message is printed as is."""


def build_app(
    app: cdk.App | None = None, *, config_path: str | None = None, environment: str | None = None
) -> tuple[cdk.App, list[EnvironmentConfig]]:
    """Create the stacks for the selected environments (no synth yet).

    ``config_path`` and ``environment`` default to the ``certwarden:config`` and ``env``
    context values (``cdk synth -c env=production``).
    """
    from cdk_app.stack import CertWardenReplicaStack, CertWardenStack

    app = app or cdk.App()
    path = config_path or app.node.try_get_context(CONFIG_CONTEXT_KEY) or DEFAULT_CONFIG_FILE
    if not Path(path).is_absolute() and not Path(path).exists():
        path = str(REPO_ROOT / path)
    try:
        config = load_config(path)
        requested = environment or app.node.try_get_context(ENVIRONMENT_CONTEXT_KEY)
        environments = select_environments(config, requested)
    except ConfigError as error:
        raise SynthError(f"configuration error in {path}:\n{error}") from None
    for env in environments:
        try:
            replica = CertWardenReplicaStack(app, env.replica_stack_name, config=env)
            stack = CertWardenStack(app, env.stack_name, config=env)
            stack.add_stack_dependency(
                replica, "the audit bucket replicates into the replica bucket"
            )
        except ValueError as error:
            raise SynthError(f"environment {env.name!r}: {error}") from None
    apply_compliance_checks(app)
    return app, environments


def violations_from_report(outdir: str) -> list[tuple[str, str, str]]:
    """``(rule, construct path, description)`` of every unacknowledged error in the assembly's
    validation report (cdk-nag and CertWarden's rules write it on a failed synth)."""
    report_path = Path(outdir) / "validation-report.json"
    if not report_path.exists():
        return []
    report: dict[str, Any] = json.loads(report_path.read_text())
    return [
        (violation["ruleName"], construct["constructPath"], violation.get("description", ""))
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        if violation.get("severity") == "error"
        for construct in violation.get("violatingConstructs", [])
    ]


def findings_from_report(outdir: str) -> list[str]:
    """Readable lines for every unacknowledged error in the assembly's validation report."""
    return [f"  {rule} at {path}: {text}" for rule, path, text in violations_from_report(outdir)]


def is_validation_failure(error: RuntimeError) -> bool:
    """A policy-validation plugin (cdk-nag, CertWarden's rules) failed the synth. jsii reports
    it as ``ValidationFailed: ...``; the longer form reads ``Validation failed``."""
    return any(marker in str(error) for marker in ("ValidationFailed", "Validation failed"))


def synth(app: cdk.App) -> cdk.cx_api.CloudAssembly:
    """Synthesize; turn a failed compliance validation into a SynthError listing findings."""
    try:
        return app.synth()
    except RuntimeError as error:
        if not is_validation_failure(error):
            raise
        findings = findings_from_report(app.outdir)
        raise SynthError(
            "compliance checks failed: fix each finding or acknowledge it on its resource with "
            "a specific reason:\n" + "\n".join(findings)
        ) from None


def main() -> None:
    from cdk_app.evidence import write_evidence

    try:
        app, _ = build_app()
        synth(app)
        # Evidence sits next to the templates it was derived from, on every synth.
        write_evidence(app.outdir)
    except SynthError as error:
        print(f"certwarden: {error}", file=sys.stderr)
        sys.exit(1)
