"""Fleet API-call benchmark (``make bench``): CertWarden's daily job against the naive approach.

For healthy fleets of 100, 1,000 and 2,500 certificates in moto (in-process), plus a 2,500
fleet with 5% of certificates inside the renewal window, it counts the AWS API calls of

* the job (``run_job``: ListCertificates pages, GetResources pages, DescribeCertificate only where
  a decision needs it, the S3 state/report writes), and
* the naive approach in the same run: ListCertificates, then DescribeCertificate and
  ListTagsForCertificate for every certificate,

by operation through botocore's ``before-parameter-build`` event (one count per logical call;
botocore retries are not counted), and models the wall time under ACM's documented
per-second quotas (ACM User Guide, "Quotas"): ListCertificates 1, DescribeCertificate 10,
ListTagsForCertificate 10, RenewCertificate 5. The Resource Groups Tagging API quota for
GetResources was not in the reference material available when this was written: it is a
parameter (``--tagging-rps``, default 5, an assumption) and the output shows the speed-up for
1-20 requests/s and the break-even rate for the 50x target. S3 and SNS calls are counted but
not rate-modelled (their quotas are orders of magnitude above a few calls per run).

Modelled time = sum over operations of calls / quota (one sequential worker, which is how the
job runs). The last line reads ``fleet=2500 calls_per_cert=<x> speedup_vs_naive=<y>``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "lambda_src"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from certwarden_runtime.aws import Clients, make_clients  # noqa: E402
from certwarden_runtime.job import JobSettings, run_job  # noqa: E402
from certwarden_runtime.policy import ACM_KEY_ALGORITHMS, DEFAULT_POLICY  # noqa: E402
from demo import moto_acm  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_acm.literals import KeyAlgorithmType

REGION = "us-east-1"
BUCKET = "certwarden-bench-reports"
#: Requests per second (ACM User Guide, Quotas, "API rate quotas").
ACM_RATES = {
    "ListCertificates": 1.0,
    "DescribeCertificate": 10.0,
    "ListTagsForCertificate": 10.0,
    "RenewCertificate": 5.0,
}
TAGS = {
    "Environment": "production",
    "Owner": "platform@example.org",
    "DataClassification": "PHI",
    "Compliance": "HIPAA",
}
#: Key types cycled through the fleet. Call counts do not depend on key type (ListCertificates
#: returns every type in one request); moto's import validates RSA keys slowly (~0.1-0.2 s
#: each), so RSA is every 25th certificate to keep the benchmark to a couple of minutes.
EC_KEYS = ("EC_prime256v1", "EC_secp384r1", "EC_secp521r1")
RSA_KEYS = ("RSA_2048", "RSA_3072", "RSA_4096")


def key_for(i: int) -> str:
    return RSA_KEYS[(i // 25) % 3] if i % 25 == 0 else EC_KEYS[i % 3]


class Counting:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def attach(self, *clients: Any) -> Counting:
        for client in clients:
            client.meta.events.register("before-parameter-build", self)
        return self


def modelled_seconds(calls: Counter[str], tagging_rps: float) -> float:
    rates = ACM_RATES | {"GetResources": tagging_rps}
    return sum(n / rates[op] for op, n in calls.items() if op in rates)


def seed(size: int, in_window: float, rng: random.Random) -> None:
    acm = boto3.client("acm", region_name=REGION)
    for i in range(size):
        near = rng.random() < in_window
        days = rng.uniform(20, 59) if near else rng.uniform(61, 390)
        arn = moto_acm.import_certificate(
            acm,
            f"svc-{i:05d}.example.org",
            key_algorithm=key_for(i),
            days_left=days,
            validity_days=395,
            tags=TAGS,
        )
        kind = ("AMAZON_ISSUED", "PRIVATE", "IMPORTED")[i % 3]
        if kind != "IMPORTED":
            moto_acm.set_certificate(arn, type=kind, in_use=True, eligibility="ELIGIBLE")


def naive(clients: Clients) -> Counter[str]:
    """ListCertificates, then DescribeCertificate + ListTagsForCertificate per certificate."""
    acm = clients.regions[0].acm
    counter = Counting().attach(acm)
    pages = acm.get_paginator("list_certificates").paginate(
        Includes={"keyTypes": cast("list[KeyAlgorithmType]", list(ACM_KEY_ALGORITHMS))},
        PaginationConfig={"PageSize": 1000},
    )
    for page in pages:
        for summary in page["CertificateSummaryList"]:
            arn = summary["CertificateArn"]
            acm.describe_certificate(CertificateArn=arn)
            acm.list_tags_for_certificate(CertificateArn=arn)
    return counter.calls


def measure(size: int, in_window: float, tagging_rps: float, rng: random.Random) -> dict[str, Any]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        t0 = time.perf_counter()
        seed(size, in_window, rng)
        t1 = time.perf_counter()
        clients = make_clients([REGION])
        rc = clients.regions[0]
        counter = Counting().attach(rc.acm, rc.tagging, clients.s3, clients.sns)
        settings = JobSettings(
            environment="bench",
            policy=DEFAULT_POLICY,
            regions=(REGION,),
            reports_bucket=BUCKET,
            take_actions=True,
            send_alerts=True,
        )
        result = run_job(clients, settings)
        t2 = time.perf_counter()
        naive_calls = naive(make_clients([REGION]))
        t3 = time.perf_counter()
    assert len(result.assessments) == size, (len(result.assessments), size)
    ours = modelled_seconds(counter.calls, tagging_rps)
    theirs = modelled_seconds(naive_calls, tagging_rps)
    return {
        "size": size,
        "in_window": in_window,
        "calls": counter.calls,
        "naive_calls": naive_calls,
        "total": sum(counter.calls.values()),
        "naive_total": sum(naive_calls.values()),
        "modelled": ours,
        "naive_modelled": theirs,
        "speedup": theirs / ours,
        "seed_s": t1 - t0,
        "job_s": t2 - t1,
        "naive_s": t3 - t2,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,2500")
    parser.add_argument(
        "--tagging-rps",
        type=float,
        default=5.0,
        help="GetResources requests/second assumed for the model (default 5: an assumption)",
    )
    args = parser.parse_args(argv)
    moto_acm.install()
    rng = random.Random(2500)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = [measure(n, 0.0, args.tagging_rps, rng) for n in sizes]
    mixed = measure(max(sizes), 0.05, args.tagging_rps, rng)

    print(
        f"GetResources modelled at {args.tagging_rps:g} req/s (assumption); ACM rates {ACM_RATES}"
    )
    print()
    header = (
        f"{'fleet':>6} {'window':>6} {'calls':>6} {'calls/cert':>10} {'naive calls':>11} "
        f"{'modelled s':>10} {'naive s':>8} {'speedup':>8} {'moto job s':>10} {'seed s':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in [*runs, mixed]:
        print(
            f"{r['size']:>6} {r['in_window']:>6.0%} {r['total']:>6} "
            f"{r['total'] / r['size']:>10.4f} {r['naive_total']:>11} {r['modelled']:>10.1f} "
            f"{r['naive_modelled']:>8.1f} {r['speedup']:>7.1f}x {r['job_s']:>10.2f} "
            f"{r['seed_s']:>7.1f}"
        )
    print()
    print("calls by operation (job | naive):")
    for r in [*runs, mixed]:
        ours = ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items()))
        theirs = ", ".join(f"{k} {v}" for k, v in sorted(r["naive_calls"].items()))
        print(f"  {r['size']:>5} @ {r['in_window']:.0%} in window: {ours} | {theirs}")
    print()
    last = runs[-1]
    acm_s = modelled_seconds(Counter({k: v for k, v in last["calls"].items() if k in ACM_RATES}), 1)
    pages = last["calls"].get("GetResources", 0)
    print(f"speed-up at {last['size']} by GetResources rate:")
    for rps in (1.0, 2.0, 5.0, 10.0, 20.0):
        ours = acm_s + pages / rps
        print(f"  {rps:>4g} req/s: {last['naive_modelled'] / ours:6.1f}x")
    budget = last["naive_modelled"] / 50 - acm_s
    if pages and budget > 0:
        print(f"  50x needs GetResources >= {pages / budget:.2f} req/s")
    print()
    print(
        f"fleet={last['size']} calls_per_cert={last['total'] / last['size']:.4f} "
        f"speedup_vs_naive={last['speedup']:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
