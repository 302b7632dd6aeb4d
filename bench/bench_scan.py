"""TLS scanner benchmark: the test lab's endpoints scanned by CertWarden, sslscan and testssl.sh.

Starts the lab of tests/scanner (one server per fault, good servers, hostile servers, all on
127.0.0.1), scans it in one run with CertWarden's scanner at its defaults (timeout 5 s,
concurrency 8), then - where installed - with sslscan (one endpoint after another, as it
works) and, when asked (``--testssl N``: it takes about a minute per endpoint), testssl.sh on
the first N fault endpoints. Prints per-tool total time, time per endpoint and faults detected;
the last line is ``endpoints=<n> faults_detected=<m>/<k> seconds=<t> sslscan_seconds=<s>``.

sslscan's detection is read from its XML (protocols, cipher names, certificate key, signature,
self-signed, expiry); faults it has no notion of (incomplete chain, hostname, validity length,
expiry tiers, not-yet-valid, hostile endpoints) count as not detected.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambda_src")]

from certwarden_runtime.scanner.engine import scan_endpoints  # noqa: E402
from certwarden_runtime.scanner.models import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    Rating,
    ScanOptions,
    Target,
)
from tests.scanner.conftest import Lab, build_lab, stop_lab  # noqa: E402

SslscanCheck = Callable[[ET.Element], bool]


def _enabled(root: ET.Element, kind: str, version: str) -> bool:
    return any(
        p.get("type") == kind and p.get("version") == version and p.get("enabled") == "1"
        for p in root.iter("protocol")
    )


def _cipher(root: ET.Element, *needles: str) -> bool:
    names = [c.get("cipher", "") for c in root.iter("cipher")]
    return any(needle in name for name in names for needle in needles)


def _tls12(root: ET.Element) -> list[str]:
    return [c.get("cipher", "") for c in root.iter("cipher") if c.get("sslversion") == "TLSv1.2"]


def _text(root: ET.Element, tag: str) -> str:
    node = root.find(f".//{tag}")
    return (node.text or "") if node is not None else ""


def _pk_bits(root: ET.Element) -> int:
    node = root.find(".//pk")
    return int(node.get("bits", "0")) if node is not None else 0


#: fault endpoint -> how sslscan's XML shows it
SSLSCAN_CHECKS: dict[str, SslscanCheck] = {
    "sslv3": lambda r: _enabled(r, "ssl", "3"),
    "tls10": lambda r: _enabled(r, "tls", "1.0"),
    "tls11": lambda r: _enabled(r, "tls", "1.1"),
    "null-cipher": lambda r: _cipher(r, "NULL"),
    "anon-cipher": lambda r: _cipher(r, "ADH", "AECDH"),
    "rc4-cipher": lambda r: _cipher(r, "RC4"),
    "3des-cipher": lambda r: _cipher(r, "DES-CBC3", "3DES"),
    "no-forward-secrecy": lambda r: (
        bool(_tls12(r)) and not any(c.startswith(("ECDHE", "DHE")) for c in _tls12(r))
    ),
    "cbc-only": lambda r: (
        bool(_tls12(r)) and not any(x in c for c in _tls12(r) for x in ("GCM", "CHACHA", "CCM"))
    ),
    "rsa-1024": lambda r: 0 < _pk_bits(r) < 2048 and r.find(".//pk[@type='RSA']") is not None,
    "sha1-signature": lambda r: "sha1" in _text(r, "signature-algorithm").lower(),
    "expired": lambda r: _text(r, "expired").strip() == "true",
    "self-signed": lambda r: _text(r, "self-signed").strip() == "true",
}


def run_certwarden(lab: Lab, targets: list[Target]) -> tuple[float, int, int, list[str]]:
    options = ScanOptions(
        timeout=DEFAULT_TIMEOUT_SECONDS,
        concurrency=DEFAULT_CONCURRENCY,
        ca_bundle=lab.pki.bundle,
        use_system_trust=False,
    )
    started = time.monotonic()
    results = scan_endpoints(targets, options)
    seconds = time.monotonic() - started
    detected = missed_good = 0
    problems = []
    for result in results:
        expected = lab.endpoints[result.target.name][1]
        rules = {f.rule for f in result.findings}
        if expected:
            if expected <= rules:
                detected += 1
            else:
                problems.append(f"missed {result.target.name}: wanted {sorted(expected)}")
        elif result.rating is not Rating.SECURE:
            missed_good += 1
            problems.append(f"false positive on {result.target.name}: {sorted(rules)}")
    return seconds, detected, missed_good, problems


def run_sslscan(lab: Lab, targets: list[Target]) -> tuple[float, int] | None:
    binary = shutil.which("sslscan")
    if binary is None:
        return None
    detected = 0
    started = time.monotonic()
    for target in targets:
        command = [
            binary, "--no-colour", "--xml=-", f"--timeout={int(DEFAULT_TIMEOUT_SECONDS)}",
            f"--connect-timeout={int(DEFAULT_TIMEOUT_SECONDS)}",
            f"--sni-name={target.server_name}", f"{target.host}:{target.port}",
        ]  # fmt: skip
        try:
            output = subprocess.run(
                command, capture_output=True, text=True, timeout=120, check=False
            ).stdout
        except subprocess.TimeoutExpired:
            continue
        check = SSLSCAN_CHECKS.get(target.name)
        if check is None:
            continue
        try:
            root = ET.fromstring(output[output.find("<?xml") :])
        except ET.ParseError:
            continue
        detected += bool(check(root))
    return time.monotonic() - started, detected


def run_testssl(targets: list[Target]) -> tuple[float, int] | None:
    binary = shutil.which("testssl") or shutil.which("testssl.sh")
    if binary is None or not targets:
        return None
    started = time.monotonic()
    for target in targets:
        subprocess.run(
            [binary, "--quiet", "--color", "0", "--warnings", "off", "--sneaky",
             f"{target.host}:{target.port}"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    return time.monotonic() - started, len(targets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--testssl",
        type=int,
        default=0,
        metavar="N",
        help="also run testssl.sh on the first N fault endpoints (~60 s each)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="certwarden-bench-") as directory:
        lab = build_lab(Path(directory))
        try:
            targets = lab.targets()
            faults = [t for t in targets if lab.endpoints[t.name][1]]
            n, k = len(targets), len(faults)
            seconds, detected, false_positives, problems = run_certwarden(lab, targets)
            print(f"lab: {n} endpoints ({k} faults, {n - k} good) on 127.0.0.1")
            print(
                f"certwarden  total {seconds:6.2f} s  per endpoint {seconds / n:5.3f} s  "
                f"faults detected {detected}/{k}  false positives {false_positives}"
            )
            for problem in problems:
                print(f"  {problem}")
            sslscan = run_sslscan(lab, targets)
            if sslscan is None:
                print("sslscan     not installed (make setup installs it)")
                sslscan_seconds = "n/a"
            else:
                s_seconds, s_detected = sslscan
                sslscan_seconds = f"{s_seconds:.2f}"
                print(
                    f"sslscan     total {s_seconds:6.2f} s  per endpoint {s_seconds / n:5.3f} s  "
                    f"faults detected {s_detected}/{k} (what its output can show)"
                )
            testssl = run_testssl(faults[: args.testssl])
            if testssl is None:
                print("testssl.sh  skipped (--testssl N runs it on N endpoints, ~60 s each)")
            else:
                t_seconds, t_count = testssl
                print(
                    f"testssl.sh  total {t_seconds:6.2f} s over {t_count} endpoint(s)  "
                    f"per endpoint {t_seconds / t_count:5.1f} s"
                )
        finally:
            stop_lab(lab)
    print(
        f"endpoints={n} faults_detected={detected}/{k} seconds={seconds:.2f} "
        f"sslscan_seconds={sslscan_seconds}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
