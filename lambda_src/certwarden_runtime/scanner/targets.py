"""Targets from the command line (``HOST[:PORT]``) and from YAML or CSV files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from certwarden_runtime.scanner.models import TARGET_TYPES, Target

TARGET_FIELDS: tuple[str, ...] = ("name", "host", "port", "sni", "type", "compliance")


class TargetError(ValueError):
    """A target is malformed; the message names the source, the field and what is allowed."""


def parse_host_port(text: str, default_port: int = 443) -> Target:
    """``example.org``, ``example.org:8443``, ``192.0.2.1:443``, ``[2001:db8::1]:443``."""
    value = text.strip()
    if not value:
        raise TargetError("target '': expected HOST or HOST:PORT")
    host, port_text = value, ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise TargetError(f"target {text!r}: unclosed '[' in an IPv6 address")
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            raise TargetError(f"target {text!r}: expected [IPv6]:PORT")
        port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    try:
        port = int(port_text) if port_text else default_port
        return Target(host=host, port=port)
    except ValueError as error:
        raise TargetError(f"target {text!r}: {error}") from None


def target_from_mapping(raw: Mapping[str, Any], where: str) -> Target:
    unknown = sorted(set(raw) - set(TARGET_FIELDS))
    if unknown:
        raise TargetError(
            f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(TARGET_FIELDS)}"
        )
    if not raw.get("host"):
        raise TargetError(f"{where}: field 'host' is required")
    port_value = raw.get("port") or 443
    try:
        port = int(port_value)
    except (TypeError, ValueError):
        raise TargetError(
            f"{where}: field 'port': {port_value!r} is not a number 1..65535"
        ) from None
    try:
        return Target(
            host=str(raw["host"]).strip(),
            port=port,
            name=str(raw.get("name") or "").strip(),
            sni=str(raw["sni"]).strip() if raw.get("sni") else None,
            type=str(raw.get("type") or "https").strip().lower(),
            compliance=str(raw.get("compliance") or "").strip(),
        )
    except ValueError as error:
        raise TargetError(f"{where}: {error}") from None


def load_targets(path: str | Path) -> list[Target]:
    """A YAML file (a list of mappings, or ``targets:`` holding one) or a CSV file with a
    header row; columns/keys: name, host, port, sni, type ({types}), compliance."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise TargetError(f"targets file {file}: cannot read it ({error.strerror})") from None
    if file.suffix.lower() == ".csv":
        rows: list[Mapping[str, Any]] = [
            {k.strip().lower(): v for k, v in row.items() if k and v not in (None, "")}
            for row in csv.DictReader(io.StringIO(text))
        ]
    else:
        rows = _yaml_rows(file, text)
    if not rows:
        raise TargetError(f"targets file {file}: no targets in it")
    return [
        target_from_mapping(row, f"targets file {file}: entry {i}") for i, row in enumerate(rows, 1)
    ]


load_targets.__doc__ = (load_targets.__doc__ or "").format(types="/".join(TARGET_TYPES))


def _yaml_rows(file: Path, text: str) -> list[Mapping[str, Any]]:
    import yaml

    try:
        data = yaml.safe_load(text) if file.suffix.lower() != ".json" else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise TargetError(f"targets file {file}: not valid YAML/JSON: {error}") from None
    if isinstance(data, Mapping):
        data = data.get("targets")
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise TargetError(
            f"targets file {file}: expected a list of mappings (or 'targets:' holding one) "
            f"with keys {', '.join(TARGET_FIELDS)}"
        )
    return list(data)


def targets_to_json(targets: Iterable[Target]) -> str:
    """Compact JSON carried to the Lambda in an environment variable."""
    return json.dumps([t.to_dict() for t in targets], separators=(",", ":"))


def targets_from_json(text: str) -> list[Target]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TargetError(f"scan targets JSON: {error}") from None
    if not isinstance(data, list):
        raise TargetError("scan targets JSON: expected a list of targets")
    return [target_from_mapping(item, f"scan target {i}") for i, item in enumerate(data, 1)]
