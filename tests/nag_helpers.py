"""Synthesize a test app with CertWarden's compliance packs and report findings readably."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from cdk_app.main import is_validation_failure, violations_from_report
from certwarden_cdk.compliance import apply_compliance_checks


def new_app(outdir: str | None = None) -> cdk.App:
    return cdk.App(outdir=outdir or tempfile.mkdtemp(prefix="certwarden-test-"))


def nag_findings(app: cdk.App) -> list[str]:
    """Synthesize ``app`` with the packs; return ``rule at path`` for every unacknowledged error.

    An empty list means the synth passed every pack.
    """
    apply_compliance_checks(app)
    try:
        app.synth()
    except RuntimeError as error:
        if not is_validation_failure(error):
            raise
    return sorted(f"{rule} at {path}" for rule, path, _ in violations_from_report(app.outdir))


def template_of(app: cdk.App, stack: cdk.Stack) -> dict[str, Any]:
    """The synthesized template (call after :func:`nag_findings`, which synthesizes)."""
    path = Path(app.outdir) / stack.template_file
    return dict(json.loads(path.read_text()))
