"""Renderings of scan results: a terminal table, JSON (the full record) and CSV (one row per
finding; a SECURE endpoint without findings gets one row with an empty rule)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from certwarden_runtime.policy import CompliancePolicy
from certwarden_runtime.scanner.models import EndpointResult, Rating, worst_rating

CSV_COLUMNS: tuple[str, ...] = (
    "name", "host", "port", "sni", "compliance", "rating", "severity", "rule", "title",
    "evidence", "policy", "scanned_at",
)  # fmt: skip


def rating_counts(results: Sequence[EndpointResult]) -> dict[str, int]:
    counts = Counter(r.rating.value for r in results)
    return {rating.value: counts.get(rating.value, 0) for rating in Rating}


def to_json(
    results: Sequence[EndpointResult],
    policy: CompliancePolicy,
    generated_at: datetime | None = None,
) -> str:
    document: dict[str, Any] = {
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "worst_rating": worst_rating(r.rating for r in results).value,
        "ratings": rating_counts(results),
        "policy": {
            "min_tls_version": policy.min_tls_version,
            "min_rsa_bits": policy.min_rsa_bits,
            "min_ec_bits": policy.min_ec_bits,
            "max_validity_days": policy.max_validity_days,
            "alert_tier_days": list(policy.alert_tier_days),
        },
        "endpoints": [r.to_dict() for r in results],
    }
    return json.dumps(document, indent=2) + "\n"


def to_csv(results: Sequence[EndpointResult]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        target = result.target
        base = {
            "name": target.name,
            "host": target.host,
            "port": target.port,
            "sni": target.sni or "",
            "compliance": target.compliance,
            "rating": result.rating.value,
            "scanned_at": result.scanned_at,
        }
        if not result.findings:
            writer.writerow(base)
        for finding in result.findings:
            writer.writerow({**base, **finding.to_dict()})
    return buffer.getvalue()


def to_table(results: Sequence[EndpointResult], *, show_info: bool = False) -> str:
    """Human-readable: one line per endpoint, then its findings, most severe first."""
    lines = []
    name_width = max([len(r.target.name) for r in results] + [8])
    for result in results:
        protocols = ",".join(p.replace("TLSv", "") for p in result.protocols) or "-"
        lines.append(
            f"{result.rating.value:<8}  {result.target.name:<{name_width}}  "
            f"{result.target.display}  protocols: {protocols}"
        )
        ordered = sorted(result.findings, key=lambda f: -f.severity.rank)
        for finding in ordered:
            if finding.severity.value == "INFO" and not show_info:
                continue
            lines.append(f"  {finding.severity.value:<8}  {finding.rule}: {finding.title}")
            lines.append(f"  {'':<8}    {finding.evidence}")
    counts = rating_counts(results)
    summary = ", ".join(f"{count} {rating}" for rating, count in counts.items() if count)
    worst = worst_rating(r.rating for r in results).value
    lines.append(f"\n{len(results)} endpoint(s): {summary or 'none'}; worst rating {worst}")
    return "\n".join(lines) + "\n"
