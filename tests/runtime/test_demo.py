"""``make demo`` end to end on a small fleet: moto server on 127.0.0.1, real handler."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from demo import run_demo


@pytest.mark.slow
def test_demo_runs_and_leaves_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("AWS_", "CERTWARDEN_")):
            del os.environ[name]
    try:
        assert run_demo.main(["--size", "40", "--output", str(tmp_path)]) == 0
    finally:  # the demo points AWS_ENDPOINT_URL at its (stopped) server: undo all of it
        os.environ.clear()
        os.environ.update(saved)
    out = capsys.readouterr().out
    assert "next-day run: certificates alerted again  0" in out
    for name in ("report.html", "inventory.csv", "inventory.json", "audit.jsonl"):
        assert (tmp_path / name).stat().st_size > 0
    rows = json.loads((tmp_path / "inventory.json").read_text())["rows"]
    assert len(rows) == 40
    assert {r["type"] for r in rows} == {"AMAZON_ISSUED", "PRIVATE", "IMPORTED"}
