"""Reports: CSV and JSON share their columns, every row has every column, HTML is safe."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from certwarden_runtime import reports
from certwarden_runtime.actions import assess
from certwarden_runtime.policy import DEFAULT_POLICY

from .test_actions import NOW, rec


def _rows() -> list[dict[str, object]]:
    evil = rec(5, domain="<script>alert(1)</script>.example.org", tags={"Owner": "=HYPERLINK(1)"})
    return [
        reports.row(assess(rec(200), DEFAULT_POLICY, NOW)),
        reports.row(assess(rec(-1, status="EXPIRED"), DEFAULT_POLICY, NOW)),
        reports.row(assess(rec(None, status="PENDING_VALIDATION"), DEFAULT_POLICY, NOW), "boom"),
        reports.row(assess(evil, DEFAULT_POLICY, NOW)),
    ]


def test_csv_and_json_have_identical_columns_and_every_row_every_column() -> None:
    rows = _rows()
    parsed_csv = list(csv.DictReader(io.StringIO(reports.to_csv(rows))))
    document = json.loads(reports.to_json(rows, {"run_id": "r"}))
    assert tuple(parsed_csv[0].keys()) == reports.COLUMNS
    assert tuple(document["columns"]) == reports.COLUMNS
    assert len(parsed_csv) == len(document["rows"]) == len(rows)
    for row in document["rows"]:
        assert tuple(row.keys()) == reports.COLUMNS
    for row in parsed_csv:
        assert None not in row.values()
        assert set(row) == set(reports.COLUMNS)
    assert document["rows"][2]["error"] == "boom"
    assert document["meta"] == {"run_id": "r"}


def test_csv_neutralises_formulas() -> None:
    text = reports.to_csv(_rows())
    assert "'Owner=HYPERLINK(1)" not in text  # the tag cell starts with Owner=, harmless
    assert reports._csv_cell("=1+1") == "'=1+1"
    assert reports._csv_cell("-5.5") == "-5.5"
    assert reports._csv_cell(True) == "true"
    assert reports._csv_cell(None) == ""


def test_html_is_self_contained_escaped_and_has_a_timeline() -> None:
    page = reports.to_html(_rows(), {"environment": "test"})
    assert "<svg" in page
    assert "expired" in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<link" not in page


def test_write_local(tmp_path: Path) -> None:
    files = reports.render(_rows(), {})
    written = reports.write_local(files, tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(reports.REPORT_FILES)
