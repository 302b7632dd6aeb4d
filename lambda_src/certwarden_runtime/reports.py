"""Inventory reports: CSV and JSON with identical columns, and a self-contained HTML page.

One row per certificate. The HTML report (inline CSS and SVG, no scripts, no external
resources) carries an expiry timeline for auditors. Reports are written to a local folder (CLI,
demo) and/or the reports bucket with SSE-KMS under ``reports/YYYY-MM-DD/<run id>/``.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certwarden_runtime.actions import Assessment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

COLUMNS: tuple[str, ...] = (
    "certificate_arn",
    "region",
    "domain",
    "san_count",
    "type",
    "status",
    "key_algorithm",
    "issuer",
    "not_before",
    "not_after",
    "days_to_expiry",
    "tier_days",
    "severity",
    "renewal_eligibility",
    "renewal_status",
    "in_use",
    "tags",
    "hipaa",
    "findings",
    "action",
    "action_reason",
    "deadline",
    "error",
)
REPORT_FILES = ("inventory.csv", "inventory.json", "report.html")
_CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


def row(a: Assessment, error: str = "") -> dict[str, Any]:
    """The report row of one assessment: every column, always."""
    r = a.record
    return {
        "certificate_arn": r.arn,
        "region": r.region,
        "domain": r.domain,
        "san_count": r.san_count,
        "type": r.type,
        "status": r.status,
        "key_algorithm": r.key_algorithm,
        "issuer": r.issuer,
        "not_before": _iso(r.not_before),
        "not_after": _iso(r.not_after),
        "days_to_expiry": None if a.days_to_expiry is None else round(a.days_to_expiry, 2),
        "tier_days": a.tier.days if a.tier else None,
        "severity": a.severity.value if a.severity else "",
        "renewal_eligibility": r.renewal_eligibility,
        "renewal_status": r.detail.renewal_status if r.detail else "",
        "in_use": r.in_use,
        "tags": ";".join(f"{k}={v}" for k, v in sorted(r.tags.items())),
        "hipaa": a.hipaa,
        "findings": "; ".join(str(f) for f in a.findings),
        "action": a.action.value,
        "action_reason": a.reason,
        "deadline": _iso(a.deadline),
        "error": error,
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text.startswith(_CSV_FORMULA_PREFIXES) and not _is_number(text):
        return "'" + text  # keep spreadsheets from evaluating a cell as a formula
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in rows:
        writer.writerow([_csv_cell(item[c]) for c in COLUMNS])
    return buffer.getvalue()


def to_json(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    return json.dumps(
        {
            "meta": dict(meta),
            "columns": list(COLUMNS),
            "rows": [{c: r[c] for c in COLUMNS} for r in rows],
        },
        indent=1,
        default=str,
    )


_TIER_COLOURS = {"CRITICAL": "#c62828", "WARNING": "#ef6c00", "": "#2e7d32"}


def _timeline_svg(rows: Sequence[Mapping[str, Any]], weeks: int = 26) -> str:
    """Bar chart: certificates expiring per week over the next ``weeks`` weeks (+ expired)."""
    buckets = [0] * (weeks + 1)
    colours = [""] * (weeks + 1)
    for r in rows:
        days = r["days_to_expiry"]
        if days is None:
            continue
        index = 0 if days <= 0 else int(days // 7) + 1
        if index > weeks:
            continue
        buckets[index] += 1
        if r["severity"] == "CRITICAL" or (colours[index] == "" and r["severity"]):
            colours[index] = r["severity"]
    width, height, bar = 760, 220, 760 // (weeks + 1)
    peak = max(buckets) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
        'role="img" aria-label="certificates expiring per week">'
    ]
    for i, count in enumerate(buckets):
        h = int(height * count / peak)
        x = i * bar
        colour = "#6d4c41" if i == 0 else _TIER_COLOURS.get(colours[i], "#2e7d32")
        label = "expired" if i == 0 else f"week {i}"
        parts.append(
            f'<rect x="{x + 2}" y="{height - h}" width="{bar - 4}" height="{h}" fill="{colour}">'
            f"<title>{label}: {count}</title></rect>"
        )
        if count:
            parts.append(
                f'<text x="{x + bar / 2}" y="{height - h - 3}" font-size="10" '
                f'text-anchor="middle">{count}</text>'
            )
    parts.append(
        f'<text x="0" y="{height + 15}" font-size="11">expired | weeks from today → '
        f"(each bar one week, {weeks} weeks)</text></svg>"
    )
    return "".join(parts)


def to_html(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    esc = html.escape
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["action"]] = counts.get(r["action"], 0) + 1
    summary = "".join(
        f"<li>{esc(k)}: {v}</li>" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    meta_items = "".join(f"<li>{esc(str(k))}: {esc(str(v))}</li>" for k, v in meta.items())
    ordered = sorted(rows, key=lambda r: (r["days_to_expiry"] is None, r["days_to_expiry"] or 0.0))
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body = "".join(
        f'<tr class="{esc(str(r["severity"]).lower())}">'
        + "".join(f"<td>{esc('' if r[c] is None else str(r[c]))}</td>" for c in COLUMNS)
        + "</tr>"
        for r in ordered
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CertWarden certificate inventory</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em;color:#222}}
table{{border-collapse:collapse;font-size:12px}}th,td{{border:1px solid #ccc;padding:2px 4px}}
th{{background:#eee;position:sticky;top:0}}tr.critical td{{background:#ffebee}}
tr.warning td{{background:#fff3e0}}
</style></head><body>
<h1>CertWarden certificate inventory</h1>
<ul>{meta_items}<li>certificates: {len(rows)}</li></ul>
<h2>Expiry timeline</h2>{_timeline_svg(rows)}
<h2>Actions</h2><ul>{summary}</ul>
<h2>Certificates</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
</body></html>
"""


def render(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> dict[str, str]:
    """File name → content for the three report files."""
    return {
        "inventory.csv": to_csv(rows),
        "inventory.json": to_json(rows, meta),
        "report.html": to_html(rows, meta),
    }


def audit_jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(r, default=str, sort_keys=True) + "\n" for r in records)


def write_local(files: Mapping[str, str], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = directory / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


_CONTENT_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".jsonl": "application/x-ndjson",
}


def report_prefix(now: dt.datetime, run_id: str) -> str:
    return f"reports/{now.date().isoformat()}/{run_id}/"


def write_s3(
    s3: S3Client, bucket: str, prefix: str, files: Mapping[str, str], kms_key_id: str | None
) -> list[str]:
    extra: dict[str, Any] = {"ServerSideEncryption": "aws:kms"}
    if kms_key_id:
        extra["SSEKMSKeyId"] = kms_key_id
    keys = []
    for name, content in files.items():
        key = prefix + name
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=content.encode("utf-8"),
            ContentType=_CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream"),
            **extra,
        )
        keys.append(key)
    return keys
