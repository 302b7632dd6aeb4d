"""Shared test set-up: quiet jsii's Node banner and make the repo importable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# moto and boto3 must never reach a real account from the tests.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SECURITY_TOKEN", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "lambda_src"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


import pytest  # noqa: E402

pytest_plugins = ["tests.ci_plugin"]


@pytest.fixture(scope="session")
def synthesized_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real app (every example environment) synthesized once per test session through the
    project's entry point, compliance packs included. Returns the cloud assembly folder."""
    import aws_cdk as cdk

    from cdk_app.main import build_app, synth

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, _ = build_app(
        cdk.App(outdir=str(outdir)), config_path=str(REPO_ROOT / "config" / "environments.yaml")
    )
    synth(app)
    return outdir
