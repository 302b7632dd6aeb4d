"""The benchmark script runs and prints its contract line (tiny fleet, fast)."""

from __future__ import annotations

import re

import pytest

from bench import bench_fleet


@pytest.mark.slow
def test_bench_prints_its_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_fleet.main(["--sizes", "30"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    match = re.fullmatch(r"fleet=30 calls_per_cert=([\d.]+) speedup_vs_naive=([\d.]+)", last)
    assert match
    assert float(match.group(2)) > 1
