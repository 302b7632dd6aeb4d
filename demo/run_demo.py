"""``make demo``: the daily certificate job against an embedded moto AWS on 127.0.0.1.

Starts moto's server on a free loopback port, seeds a realistic fleet (public, private and
imported certificates; every key type; expired, in each alert tier, pending validation, renewal
failures, missing tags, RSA_1024), runs the daily job through the real Lambda handler, prints a
summary, leaves the CSV/JSON/HTML reports and the audit trail in ``demo-output/``, runs it again
as "the next day" to show that nothing is alerted twice, and stops the server.

No AWS account, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "lambda_src"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

REGION = "us-east-1"
BUCKET = "certwarden-demo-reports"
KEY_TYPES = (
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
)
PUBLIC_KEY_TYPES = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")
TEAMS = ("payments", "portal", "imaging", "billing", "identity", "analytics")
CA_ARN = (
    f"arn:aws:acm-pca:{REGION}:123456789012:certificate-authority/"
    "11111111-2222-3333-4444-555555555555"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tags_for(rng: random.Random, i: int, complete: bool) -> dict[str, str]:
    tags = {
        "Environment": rng.choice(("production", "staging")),
        "Owner": f"{rng.choice(TEAMS)}@example.org",
        "DataClassification": rng.choice(("PHI", "Internal", "Public")),
        "Compliance": rng.choice(("HIPAA", "HIPAA,SOC2", "None")),
        "Name": f"cert-{i:04d}",
    }
    if not complete:
        for key in rng.sample(("Owner", "DataClassification", "Compliance"), k=rng.randint(1, 3)):
            tags.pop(key)
    return tags


def seed(acm: Any, size: int, rng: random.Random) -> Counter[str]:
    """A fleet of ``size`` certificates; returns what was seeded, by scenario."""
    from demo import moto_acm

    scenarios: Counter[str] = Counter()
    pending_record = {
        "ValidationStatus": "PENDING_VALIDATION",
        "ResourceRecord": {
            "Name": "_3f2a9c.{d}.",
            "Type": "CNAME",
            "Value": "_7b1e0d.acm-validations.aws.",
        },
    }
    tier_days = (44.5, 29.5, 14.5, 6.5)
    for i in range(size):
        kind = ("AMAZON_ISSUED", "AMAZON_ISSUED", "PRIVATE", "IMPORTED", "IMPORTED")[i % 5]
        domain = f"{rng.choice(TEAMS)}-{i:04d}.example.org"
        roll = rng.random()
        days = rng.uniform(61, 390)
        state: dict[str, Any] = {}
        if kind == "AMAZON_ISSUED":
            key = rng.choice(PUBLIC_KEY_TYPES)
            state = {"type": "AMAZON_ISSUED", "in_use": True, "eligibility": "ELIGIBLE"}
            if roll < 0.06:
                days, scenario = rng.uniform(20, 55), "managed renewal pending DNS validation"
                record = json.loads(json.dumps(pending_record).replace("{d}", domain))
                state["renewal_summary"] = {
                    "RenewalStatus": "PENDING_VALIDATION",
                    "DomainValidationOptions": [{"DomainName": domain, **record}],
                    "UpdatedAt": time.time(),
                }
            elif roll < 0.09:
                days, scenario = rng.uniform(5, 30), "managed renewal failed"
                state["renewal_summary"] = {
                    "RenewalStatus": "FAILED",
                    "RenewalStatusReason": "CAA_ERROR",
                    "DomainValidationOptions": [],
                    "UpdatedAt": time.time(),
                }
            elif roll < 0.13:
                days, scenario = rng.uniform(10, 58), "not in use: will expire"
                state.update(in_use=False, eligibility="INELIGIBLE")
            elif roll < 0.18:
                days, scenario = rng.uniform(46, 59), "ACM renewing"
                state["renewal_summary"] = {
                    "RenewalStatus": "PENDING_AUTO_RENEWAL",
                    "DomainValidationOptions": [],
                    "UpdatedAt": time.time(),
                }
            elif roll < 0.22:
                scenario = "pending validation (new)"
                state["status"] = "PENDING_VALIDATION"
                state["in_use"] = False
            else:
                scenario = "public, healthy"
        elif kind == "PRIVATE":
            key = rng.choice(KEY_TYPES[1:])
            state = {"type": "PRIVATE", "in_use": True, "eligibility": "ELIGIBLE", "ca_arn": CA_ARN}
            if roll < 0.12:
                days, scenario = rng.choice(tier_days), "private, renew now"
            elif roll < 0.16:
                scenario = "private, revoked but in use"
                state["status"] = "REVOKED"
            else:
                scenario = "private, healthy"
        else:
            key = KEY_TYPES[i % len(KEY_TYPES)]
            if roll < 0.20:
                days, scenario = rng.choice(tier_days), "imported, replace before deadline"
            elif roll < 0.26:
                days, scenario = -rng.uniform(1, 40), "imported, expired and in use"
                state = {"in_use": True}
            elif roll < 0.30:
                days, scenario = -rng.uniform(1, 90), "imported, expired unused"
            else:
                scenario = "imported, healthy"
        validity = 90.0 if kind == "PRIVATE" else (395.0 if kind == "AMAZON_ISSUED" else 365.0)
        if kind == "IMPORTED" and rng.random() < 0.05:
            validity = 825.0  # longer than the CA/B Forum maximum
        arn = moto_acm.import_certificate(
            acm,
            domain,
            key_algorithm=key,
            days_left=days,
            validity_days=max(validity, days + 1),
            tags=tags_for(rng, i, complete=rng.random() > 0.12),
        )
        if state:
            moto_acm.set_certificate(arn, **state)
        scenarios[scenario] += 1
    return scenarios


class Context:
    """The slice of the Lambda context the handler uses: a 15-minute budget."""

    def __init__(self, seconds: float = 900.0) -> None:
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def table(rows: Sequence[tuple[object, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(r: tuple[object, ...]) -> str:
        return "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True))

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="certificates to seed")
    parser.add_argument("--output", default=str(REPO / "demo-output"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    from demo import moto_acm

    moto_acm.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _demo(args, out, endpoint)
    finally:
        server.stop()


def _demo(args: argparse.Namespace, out: Path, endpoint: str) -> int:
    import boto3
    from moto.sns.models import sns_backends

    from certwarden_runtime import contract, handler

    started = time.monotonic()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    key_id = boto3.client("kms", region_name=REGION).create_key(Description="demo reports")[
        "KeyMetadata"
    ]["KeyId"]
    sns = boto3.client("sns", region_name=REGION)
    topics = {
        s: sns.create_topic(Name=f"certwarden-demo-{s.lower()}")["TopicArn"]
        for s in ("WARNING", "CRITICAL")
    }
    os.environ.update(
        {
            contract.ENV_ENVIRONMENT: "demo",
            contract.ENV_REPORTS_BUCKET: BUCKET,
            contract.ENV_REPORTS_KMS_KEY_ID: key_id,
            contract.ENV_WARNING_TOPIC_ARN: topics["WARNING"],
            contract.ENV_CRITICAL_TOPIC_ARN: topics["CRITICAL"],
        }
    )
    rng = random.Random(args.seed)  # noqa: S311 - demo data, not cryptography
    scenarios = seed(boto3.client("acm", region_name=REGION), args.size, rng)
    seeded = time.monotonic()
    print(f"moto server on {endpoint}: seeded {sum(scenarios.values())} certificates")
    print(table(sorted(scenarios.items()), ("scenario", "certificates")))
    print()

    event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    log_path = out / "lambda-stdout.jsonl"
    with log_path.open("w", encoding="utf-8") as log:
        handler.logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
        with contextlib.redirect_stdout(log):
            summary = handler.lambda_handler(event, Context())
            ran = time.monotonic()
            second = handler.lambda_handler(event, Context())

    # the reports the Lambda wrote to the bucket, copied next to this script's output
    prefix = summary["report"].removeprefix(f"s3://{BUCKET}/").removesuffix("report.html")
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]:
        name = obj["Key"].rsplit("/", 1)[1]
        (out / name).write_bytes(s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read())
    rows = json.loads((out / "inventory.json").read_text())["rows"]

    print(f"daily run {summary['run_id']} through {contract.WATCH_HANDLER}")
    by_type_action = Counter((r["type"], r["action"]) for r in rows)
    print(table([(t, a, str(n)) for (t, a), n in sorted(by_type_action.items())],
                ("type", "action", "certificates")))  # fmt: skip
    print()
    tiers = Counter(
        "expired" if (r["days_to_expiry"] or 1) <= 0 else f"<= {r['tier_days']} days"
        for r in rows
        if r["tier_days"] is not None
        or (r["days_to_expiry"] is not None and r["days_to_expiry"] <= 0)
    )
    findings = Counter(f.split("(")[0] for r in rows for f in r["findings"].split("; ") if f)
    keys = Counter(r["key_algorithm"] for r in rows)

    def most_urgent_first(item: tuple[str, int]) -> float:
        label = item[0]
        return -1.0 if label == "expired" else float(label.split()[1])

    tier_rows = sorted(tiers.items(), key=most_urgent_first)
    print(table(tier_rows, ("tier", "certificates")))
    print()
    print(table(sorted(findings.items()), ("policy finding", "certificates")))
    print()
    print(table(sorted(keys.items()), ("key algorithm", "certificates")))
    print()
    sent = {
        s: len(sns_backends["123456789012"][REGION].topics[arn].sent_notifications)
        for s, arn in topics.items()
    }
    emf = [json.loads(line) for line in log_path.read_text().splitlines() if '"_aws"' in line]
    metric_names = [m["Name"] for m in emf[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    print(
        table(
            [
                ("certificates", str(summary["certificates"])),
                ("critical", str(summary["critical"])),
                ("renewals started", str(summary["renewals_started"])),
                ("alert messages (WARNING / CRITICAL)", f"{sent['WARNING']} / {sent['CRITICAL']}"),
                ("certificates alerted", str(summary["alerts_sent"])),
                ("next-day run: certificates alerted again", str(second["alerts_sent"])),
                ("fleet metrics (one EMF document per run)", str(len(metric_names))),
                ("seed / run time", f"{seeded - started:.1f}s / {ran - seeded:.1f}s"),
            ],
            ("run", "value"),
        )
    )
    print()
    for name in ("report.html", "inventory.csv", "inventory.json", "audit.jsonl", log_path.name):
        print(f"  {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
