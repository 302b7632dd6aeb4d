"""The runbooks and CI guide name the product's real commands: every ``certwarden ...`` line in
them parses with the CLI's own parser, and every ``make`` target they name exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from certwarden_runtime.cli import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"
RUNBOOKS = sorted((DOCS / "runbooks").glob("*.md"))
REQUIRED = (
    "certificate-compromise.md",
    "expiry-incident.md",
    "ca-compromise.md",
    "validation-stuck-pending.md",
)


def _commands(path: Path) -> list[str]:
    """``certwarden`` command lines (continuations joined) from code blocks and inline code."""
    text = path.read_text().replace("\\\n", " ")
    found = re.findall(r"^\s*(certwarden [^\n#]+)", text, flags=re.M)
    found += re.findall(r"`(certwarden [^`]+)`", text)
    return [c.strip() for c in found]


def test_every_runbook_exists() -> None:
    names = {p.name for p in RUNBOOKS}
    assert set(REQUIRED) <= names


@pytest.mark.parametrize("path", [*RUNBOOKS, DOCS / "ci.md"], ids=lambda p: p.name)
def test_certwarden_commands_parse(path: Path) -> None:
    parser = build_parser()
    commands = _commands(path)
    for command in commands:
        argv = shlex.split(command)[1:]
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:
            pytest.fail(f"{path.name}: `{command}` is not a valid certwarden command ({exit_})")
        assert getattr(args, "func", None) is not None, command


def test_runbooks_name_the_cli_and_make_targets() -> None:
    makefile = (DOCS.parent / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, flags=re.M))
    for name in REQUIRED:
        text = (DOCS / "runbooks" / name).read_text()
        assert _commands(DOCS / "runbooks" / name), f"{name} names no certwarden command"
        for target in re.findall(r"\bmake ([a-z][a-z0-9-]*)", text):
            assert target in targets, f"{name} names `make {target}`, which does not exist"
