"""The ``certwarden`` command line: one parser, sub-commands contributed by feature modules.

Each feature module exposes ``register(subparsers)`` which adds its sub-commands and sets
``func`` (returning the process exit code) on them. Keeping registration in the modules lets
features grow without this file knowing their options.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# Modules that contribute sub-commands; each must define register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "certwarden_runtime.fleet_cli",
    "certwarden_runtime.scanner.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="certwarden",
        description="Certificate operations for HIPAA-grade TLS: inventory, checks, scans.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
