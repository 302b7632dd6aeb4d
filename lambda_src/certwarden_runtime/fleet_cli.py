"""``certwarden`` sub-commands over the daily job: inventory, check, report, renew, revoke,
export-evidence. Registered through ``cli.COMMAND_MODULES``.

Exit codes: 0 fine; 1 critical findings (``check``, ``inventory``, ``report``: gate CI or cron on
it); 2 usage errors; 3 the command could not do its work (AWS error, incomplete run).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwarden_runtime import contract, reports
from certwarden_runtime.alert_state import FileStateStore
from certwarden_runtime.aws import make_acmpca_client, make_clients
from certwarden_runtime.job import JobResult, JobSettings, SettingsError, run_job
from certwarden_runtime.policy import CompliancePolicy, PolicyError

EXIT_OK, EXIT_CRITICAL, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
TABLE_COLUMNS = ("domain", "type", "status", "key_algorithm", "days_to_expiry", "tier_days",
                 "action", "findings")  # fmt: skip
REVOCATION_REASONS = (
    "UNSPECIFIED",
    "KEY_COMPROMISE",
    "CERTIFICATE_AUTHORITY_COMPROMISE",
    "AFFILIATION_CHANGED",
    "SUPERSEDED",
    "CESSATION_OF_OPERATION",
    "PRIVILEGE_WITHDRAWN",
    "A_A_COMPROMISE",
)


def _common(parser: argparse.ArgumentParser, *, output_default: str | None = None) -> None:
    parser.add_argument(
        "--region",
        action="append",
        default=None,
        help="AWS region (repeat for several); default: $CERTWARDEN_REGIONS or $AWS_REGION",
    )
    parser.add_argument("--profile", help="AWS named profile")
    parser.add_argument("--endpoint-url", help="AWS endpoint (e.g. a local moto server)")
    parser.add_argument(
        "--output", default=output_default, help="folder for inventory.csv/.json and report.html"
    )
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.add_argument(
        "--environment",
        default=os.environ.get(contract.ENV_ENVIRONMENT, "local"),
        help="label for the run in reports and audit records (it does not select the account "
        f"or region: use --profile/--region); default: ${contract.ENV_ENVIRONMENT} or 'local'",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inventory", help="list every certificate and its decision (read-only)"
    )
    _common(p)
    p.set_defaults(func=cmd_inventory)

    p = subparsers.add_parser("check", help="the daily run: renew, alert, report")
    _common(p)
    p.add_argument("--dry-run", action="store_true", help="no renewals, no alerts")
    p.add_argument("--bucket", default=os.environ.get(contract.ENV_REPORTS_BUCKET, ""))
    p.add_argument("--kms-key-id", default=os.environ.get(contract.ENV_REPORTS_KMS_KEY_ID, ""))
    p.add_argument(
        "--warning-topic-arn", default=os.environ.get(contract.ENV_WARNING_TOPIC_ARN, "")
    )
    p.add_argument(
        "--critical-topic-arn", default=os.environ.get(contract.ENV_CRITICAL_TOPIC_ARN, "")
    )
    p.add_argument("--state-file", help="keep the alert state in this file instead of the bucket")
    p.set_defaults(func=cmd_check)

    p = subparsers.add_parser("report", help="write the CSV/JSON/HTML reports (read-only)")
    _common(p, output_default="certwarden-report")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("renew", help="force renewal of an eligible private certificate")
    _aws_only(p)
    p.add_argument("--arn", required=True)
    p.set_defaults(func=cmd_renew)

    p = subparsers.add_parser("revoke", help="revoke a private certificate at its Private CA")
    _aws_only(p)
    p.add_argument("--arn", required=True)
    p.add_argument("--reason", required=True, choices=REVOCATION_REASONS)
    p.add_argument("--yes", action="store_true", help="confirm: revocation is permanent")
    p.set_defaults(func=cmd_revoke)

    p = subparsers.add_parser("export-evidence", help="copy a run's reports and audit with hashes")
    p.add_argument("--profile")
    p.add_argument("--endpoint-url")
    p.add_argument("--region", default=None)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--bucket", help="reports bucket to export from")
    source.add_argument("--from-dir", help="a local report folder to export from")
    p.add_argument("--date", help="run date YYYY-MM-DD (bucket source); default today (UTC)")
    p.add_argument("--run-id", help="only this run (default: every run of the date)")
    p.add_argument("--output", required=True, help="folder to write the evidence into")
    p.set_defaults(func=cmd_export_evidence)


def _aws_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default=None)
    parser.add_argument("--profile")
    parser.add_argument("--endpoint-url")


# -- shared ----------------------------------------------------------------------------------
def _regions(args: argparse.Namespace) -> tuple[str, ...]:
    if args.region:
        return tuple(args.region)
    env = os.environ.get(contract.ENV_REGIONS, "")
    regions = tuple(r.strip() for r in env.split(",") if r.strip())
    default = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return regions or ((default,) if default else ())


def _settings(args: argparse.Namespace, **changes: Any) -> JobSettings:
    regions = _regions(args)
    if not regions:
        raise SettingsError("no region: pass --region or set AWS_REGION")
    return JobSettings(
        environment=args.environment,
        policy=CompliancePolicy.from_environment(os.environ),
        regions=regions,
        reserve_seconds=0.0,
        **changes,
    )


def _progress(args: argparse.Namespace) -> tuple[Callable[[int, int], None] | None, Any]:
    if getattr(args, "no_progress", False) or not sys.stderr.isatty():
        return None, None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a declared dependency
        return None, None
    bar = tqdm(total=0, unit="cert", file=sys.stderr, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def _run(
    args: argparse.Namespace, settings: JobSettings, state_file: str | None = None
) -> JobResult:
    clients = make_clients(
        list(settings.regions), profile=args.profile, endpoint_url=args.endpoint_url
    )
    on_progress, bar = _progress(args)
    try:
        return run_job(
            clients,
            settings,
            local_output=args.output,
            state_store=FileStateStore(state_file) if state_file else None,
            on_progress=on_progress,
        )
    finally:
        if bar is not None:
            bar.close()


def render_rows(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{c: r[c] for c in reports.COLUMNS} for r in rows], indent=1, default=str)
    if fmt == "csv":
        return reports.to_csv(rows)
    return format_table(rows)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] = TABLE_COLUMNS) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.1f}"
        return str(value)

    body = [[cell(r[c])[:60] for c in columns] for r in rows]
    widths = [max([len(c)] + [len(b[i]) for b in body]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def _finish(result: JobResult, args: argparse.Namespace) -> int:
    rows = sorted(
        result.rows, key=lambda r: (r["days_to_expiry"] is None, r["days_to_expiry"] or 0.0)
    )
    print(render_rows(rows, args.format))
    summary = result.summary()
    print(json.dumps(summary, default=str), file=sys.stderr)
    if not result.ok:
        return EXIT_FAILED
    return EXIT_CRITICAL if result.critical_count else EXIT_OK


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (SettingsError, PolicyError) as error:
            print(f"certwarden: {error}", file=sys.stderr)
            return EXIT_USAGE
        except (ClientError, BotoCoreError) as error:
            print(f"certwarden: AWS error: {error}", file=sys.stderr)
            return EXIT_FAILED

    return wrapped


# -- commands --------------------------------------------------------------------------------
@_guard
def cmd_inventory(args: argparse.Namespace) -> int:
    settings = _settings(args, take_actions=False, send_alerts=False)
    return _finish(_run(args, settings), args)


@_guard
def cmd_report(args: argparse.Namespace) -> int:
    settings = _settings(args, take_actions=False, send_alerts=False)
    result = _run(args, settings)
    print(f"reports written to {args.output}", file=sys.stderr)
    return _finish(result, args)


@_guard
def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings(
        args,
        take_actions=not args.dry_run,
        send_alerts=not args.dry_run,
        reports_bucket=args.bucket,
        reports_kms_key_id=args.kms_key_id,
        warning_topic_arn=args.warning_topic_arn,
        critical_topic_arn=args.critical_topic_arn,
    )
    return _finish(_run(args, settings, state_file=args.state_file), args)


def _single_region(args: argparse.Namespace) -> str:
    region = args.region or (args.arn.split(":")[3] if getattr(args, "arn", "") else None)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise SettingsError("no region: pass --region or set AWS_REGION")
    return str(region)


def _describe(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    region = _single_region(args)
    clients = make_clients([region], profile=args.profile, endpoint_url=args.endpoint_url)
    acm = clients.regions[0].acm
    return acm, dict(acm.describe_certificate(CertificateArn=args.arn)["Certificate"])


@_guard
def cmd_renew(args: argparse.Namespace) -> int:
    acm, cert = _describe(args)
    if cert.get("Type") != "PRIVATE":
        print(
            f"certwarden: {args.arn} is {cert.get('Type')}: only PRIVATE certificates can be "
            "renewed on demand (ACM renews AMAZON_ISSUED ones itself; IMPORTED must be replaced)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if cert.get("RenewalEligibility") != "ELIGIBLE":
        print(f"certwarden: {args.arn} is not eligible for renewal", file=sys.stderr)
        return EXIT_USAGE
    acm.renew_certificate(CertificateArn=args.arn)
    _audit_line("renew", args.arn, "STARTED")
    return EXIT_OK


@_guard
def cmd_revoke(args: argparse.Namespace) -> int:
    if not args.yes:
        print("certwarden: revocation is permanent; repeat with --yes to confirm", file=sys.stderr)
        return EXIT_USAGE
    _, cert = _describe(args)
    ca_arn, serial = cert.get("CertificateAuthorityArn"), cert.get("Serial")
    if cert.get("Type") != "PRIVATE" or not ca_arn or not serial:
        print(
            f"certwarden: {args.arn} is not a private certificate with a known CA and serial "
            "(public certificates are revoked through the CA that issued them)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    pca = make_acmpca_client(
        _single_region(args), profile=args.profile, endpoint_url=args.endpoint_url
    )
    pca.revoke_certificate(
        CertificateAuthorityArn=str(ca_arn),
        CertificateSerial=str(serial),
        RevocationReason=args.reason,
    )
    _audit_line("revoke", args.arn, "REVOKED", reason=args.reason, ca=str(ca_arn))
    return EXIT_OK


def _audit_line(action: str, arn: str, outcome: str, **extra: str) -> None:
    record = {
        "record_type": "action",
        "action": action.upper(),
        "certificate_arn": arn,
        "outcome": outcome,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "actor": os.environ.get("USER", "unknown"),
    } | extra
    print(json.dumps(record))


@_guard
def cmd_export_evidence(args: argparse.Namespace) -> int:
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    source: str
    if args.from_dir:
        base = Path(args.from_dir)
        if not base.is_dir():
            raise SettingsError(f"--from-dir {base} is not a folder")
        for path in sorted(base.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(base))] = path.read_bytes()
        source = str(base)
    else:
        date = args.date or dt.datetime.now(dt.UTC).date().isoformat()
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise SettingsError(f"--date {date!r} must be YYYY-MM-DD") from None
        region = args.region or os.environ.get("AWS_REGION") or "us-east-1"
        s3 = make_clients([region], profile=args.profile, endpoint_url=args.endpoint_url).s3
        assert s3 is not None
        prefix = f"reports/{date}/" + (f"{args.run_id}/" if args.run_id else "")
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=args.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                body = s3.get_object(Bucket=args.bucket, Key=key)["Body"].read()
                files[key.removeprefix("reports/")] = body
        source = f"s3://{args.bucket}/{prefix}"
    if not files:
        print(f"certwarden: nothing to export from {source}", file=sys.stderr)
        return EXIT_FAILED
    manifest: list[dict[str, Any]] = []
    for name, body in sorted(files.items()):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        manifest.append(
            {"file": name, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
        )
    document = {
        "source": source,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "files": manifest,
    }
    (out / "manifest.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "sha256"])
    writer.writerows([m["file"], m["sha256"]] for m in manifest)
    (out / "SHA256SUMS.csv").write_text(buffer.getvalue(), encoding="utf-8")
    print(f"exported {len(manifest)} file(s) from {source} to {out}", file=sys.stderr)
    return EXIT_OK


__all__ = ["register"]
