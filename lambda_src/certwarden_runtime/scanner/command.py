"""``certwarden scan``: scan TLS endpoints and judge them against the compliance policy.

Exit status: 0 all SECURE, 3 worst MEDIUM, 4 worst HIGH, 5 worst CRITICAL; 1 on an unexpected
error, 2 on bad usage (unreadable targets file or CA bundle, malformed target).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from certwarden_runtime.policy import DEFAULT_POLICY
from certwarden_runtime.scanner.models import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    EndpointResult,
    ScanOptions,
    Target,
    worst_rating,
)
from certwarden_runtime.scanner.targets import TargetError, load_targets, parse_host_port

EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scan",
        help="scan TLS endpoints (protocols, cipher suites, certificate) against the policy",
        description=(
            "Scan TLS endpoints and rate each SECURE/MEDIUM/HIGH/CRITICAL (the worst finding "
            "decides). Exit status: 0 SECURE, 3 MEDIUM, 4 HIGH, 5 CRITICAL, 2 usage error."
        ),
    )
    parser.add_argument("endpoints", nargs="*", metavar="HOST[:PORT]", help="port defaults to 443")
    parser.add_argument(
        "--targets",
        type=Path,
        metavar="FILE",
        help="YAML or CSV file of targets (name, host, port, sni, type, compliance)",
    )
    parser.add_argument("--sni", help="server name to send and verify (command-line targets)")
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="PEM",
        help="extra trust anchors (e.g. a private CA) on top of the system trust store",
    )
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"endpoints scanned at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds per network step; a silent endpoint costs about this (default "
        f"{DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument("--output", "-o", type=Path, help="write the report here, not stdout")
    parser.add_argument("--show-info", action="store_true", help="table: list INFO findings too")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def _targets(args: argparse.Namespace) -> list[Target]:
    targets: list[Target] = []
    for text in args.endpoints:
        target = parse_host_port(text)
        if args.sni:
            target = Target(host=target.host, port=target.port, sni=args.sni)
        targets.append(target)
    if args.targets is not None:
        targets.extend(load_targets(args.targets))
    if not targets:
        raise TargetError("give HOST[:PORT] arguments or --targets FILE")
    return targets


def run(args: argparse.Namespace) -> int:
    from certwarden_runtime.scanner import report
    from certwarden_runtime.scanner.engine import scan_endpoints
    from certwarden_runtime.scanner.trust import TrustStore, TrustStoreError

    try:
        targets = _targets(args)
        options = ScanOptions(
            policy=DEFAULT_POLICY,
            timeout=args.timeout,
            concurrency=args.concurrency,
            ca_bundle=args.ca_bundle,
        )
        trust = TrustStore.load(options.ca_bundle)
    except (TargetError, TrustStoreError, ValueError) as error:
        print(f"certwarden scan: {error}", file=sys.stderr)
        return EXIT_USAGE
    progress = _progress(len(targets), disabled=args.no_progress)

    def advance(result: EndpointResult) -> None:
        if progress is not None:
            progress.set_postfix_str(f"{result.target.name}: {result.rating.value}", refresh=False)
            progress.update(1)

    try:
        results = scan_endpoints(targets, options, trust=trust, on_result=advance)
    finally:
        if progress is not None:
            progress.close()
    if args.format == "json":
        text = report.to_json(results, options.policy)
    elif args.format == "csv":
        text = report.to_csv(results)
    else:
        text = report.to_table(results, show_info=args.show_info)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return worst_rating(r.rating for r in results).exit_code


def _progress(total: int, *, disabled: bool) -> Any:
    if disabled:
        return None
    from tqdm import tqdm

    # On a terminal only (tqdm's disable=None); never mixed into a redirected report.
    return tqdm(
        total=total, unit="endpoint", desc="scan", file=sys.stderr, disable=None, leave=False
    )
