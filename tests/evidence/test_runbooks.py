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
    # the command itself, without what the shell does with its output
    return [re.split(r"\s(?:>|>>|2>|\||&&|;)\s", c)[0].strip() for c in found]


def test_every_runbook_exists() -> None:
    names = {p.name for p in RUNBOOKS}
    assert set(REQUIRED) <= names


README = DOCS.parent / "README.md"
OTHER_DOCS = [DOCS / "ci.md", DOCS / "operations.md", DOCS / "scanner.md", README]


@pytest.mark.parametrize("path", [*RUNBOOKS, *OTHER_DOCS], ids=lambda p: p.name)
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


def test_readme_construct_example_synthesizes_clean(tmp_path: Path) -> None:
    """The README's "Using the constructs in your own app" example, run as written."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "apply_compliance_checks(app)" in b and "app.synth()" in b)
    # CDK_OUTDIR would not reach a jsii kernel another test already started: name the folder
    assert example.count("app = cdk.App()") == 1
    example = example.replace("app = cdk.App()", f"app = cdk.App(outdir={str(tmp_path)!r})")
    exec(compile(example, "README.md", "exec"), {"__name__": "readme_example"})
    templates = list(tmp_path.glob("*.template.json"))
    assert len(templates) == 1
    assert "AWS::CertificateManager::Certificate" in templates[0].read_text()
