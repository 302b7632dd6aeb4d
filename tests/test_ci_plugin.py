"""The CI plugin turns skips into failures only under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("ci", "expected"), [("1", "1 failed"), ("", "1 skipped")])
def test_skip_fails_only_under_ci(tmp_path: Path, ci: str, expected: str) -> None:
    test_file = tmp_path / "test_needs_a_tool.py"
    test_file.write_text(
        "import pytest\n\n\ndef test_tool() -> None:\n    pytest.skip('tool missing')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.ci_plugin",
            "--rootdir",
            str(tmp_path),
            str(test_file),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "CI": ci, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert expected in result.stdout, result.stdout + result.stderr
    if ci:
        assert "skipped under CI, where every test must run: Skipped: tool missing" in result.stdout
