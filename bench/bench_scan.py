"""TLS scanner benchmark: the test lab's endpoints scanned by CertWarden, sslscan and testssl.sh.

Starts the lab of tests/scanner (one server per fault, good servers, hostile servers, all on
127.0.0.1), scans it in one run with CertWarden's scanner at its defaults (timeout 5 s,
concurrency 8), then - where installed - with sslscan (one endpoint after another, as it
works) and, when asked, testssl.sh on a subset of fault endpoints (``--testssl N``: the first
N of :func:`testssl_order`, starting with the three of :data:`TESTSSL_DEFAULT`, three side by
side; about 70 s per three). testssl.sh is opt-in because the default run already takes about
3 minutes: sslscan spends about 2.5 of them on the lab, most on the stalling endpoints; with
``--testssl 3`` the run takes about 4 minutes. Prints per-tool total time,
time per endpoint and faults detected; the last line is
``endpoints=<n> faults_detected=<m>/<k> seconds=<t> sslscan_seconds=<s>``.

sslscan's detection is read from its XML (protocols, cipher names, certificate key, signature,
self-signed, expiry); faults it has no notion of (incomplete chain, hostname, validity length,
expiry tiers, not-yet-valid, hostile endpoints) count as not detected. testssl.sh's is read
from its ``--jsonfile`` (finding ids such as ``TLS1``, ``cipherlist_NULL``, ``cert_keySize``,
``cert_chain_of_trust``; :data:`TESTSSL_CHECKS`), with the lab's root CA added as a trust
anchor (``--add-ca``) so that only the faulty chains fail.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambda_src")]

from certwarden_runtime.scanner.engine import scan_endpoints  # noqa: E402
from certwarden_runtime.scanner.models import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    EndpointResult,
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


#: testssl.sh findings of one endpoint: finding id -> (severity, finding text)
TestsslFindings = Mapping[str, tuple[str, str]]
TestsslCheck = Callable[[TestsslFindings], bool]
#: testssl.sh's first fault endpoints: a protocol, a cipher and a certificate fault, side by
#: side (about 70 s together here).
TESTSSL_DEFAULT = ("tls10", "cbc-only", "incomplete-chain")
TESTSSL_PARALLEL = 3
_CALM = ("OK", "INFO")


def _offered(found: TestsslFindings, finding_id: str) -> bool:
    text = found.get(finding_id, ("", ""))[1].lower()
    return text.startswith("offered")


def _flagged(found: TestsslFindings, finding_id: str, needle: str = "") -> bool:
    severity, text = found.get(finding_id, ("OK", ""))
    return severity not in _CALM and needle.lower() in text.lower()


def _not_offered(found: TestsslFindings, finding_id: str) -> bool:
    return "not offered" in found.get(finding_id, ("", "offered"))[1].lower()


#: fault endpoint -> how testssl.sh's JSON shows it (3.0 ids; 3.1 renamed PFS to FS)
TESTSSL_CHECKS: dict[str, TestsslCheck] = {
    "sslv3": lambda f: _offered(f, "SSLv3"),
    "tls10": lambda f: _offered(f, "TLS1"),
    "tls11": lambda f: _offered(f, "TLS1_1"),
    "null-cipher": lambda f: _offered(f, "cipherlist_NULL"),
    "anon-cipher": lambda f: _offered(f, "cipherlist_aNULL"),
    "rc4-cipher": lambda f: _offered(f, "cipherlist_LOW") or _flagged(f, "RC4"),
    "3des-cipher": lambda f: _offered(f, "cipherlist_3DES_IDEA"),
    "no-forward-secrecy": lambda f: _not_offered(f, "PFS") or _not_offered(f, "FS"),
    "cbc-only": lambda f: _not_offered(f, "cipherlist_STRONG"),
    "rsa-1024": lambda f: _flagged(f, "cert_keySize", "RSA"),
    "ec-224": lambda f: _flagged(f, "cert_keySize", "EC"),
    "sha1-signature": lambda f: _flagged(f, "cert_signatureAlgorithm", "SHA1"),
    "expired": lambda f: _flagged(f, "cert_expirationStatus", "expired"),
    "expiring-45": lambda f: _flagged(f, "cert_expirationStatus"),
    "expiring-30": lambda f: _flagged(f, "cert_expirationStatus"),
    "expiring-15": lambda f: _flagged(f, "cert_expirationStatus"),
    "expiring-7": lambda f: _flagged(f, "cert_expirationStatus"),
    "validity-too-long": lambda f: _flagged(f, "cert_validityPeriod"),
    "hostname-mismatch": lambda f: _flagged(f, "cert_trust"),
    "self-signed": lambda f: _flagged(f, "cert_chain_of_trust", "self"),
    "incomplete-chain": lambda f: _flagged(f, "cert_chain_of_trust", "incomplete"),
    "not-yet-valid": lambda f: (
        _flagged(f, "cert_notBefore") or _flagged(f, "cert_expirationStatus")
    ),
    "untrusted": lambda f: _flagged(f, "cert_chain_of_trust"),
    "hostile-hang": lambda f: "scanProblem" in f,
    "hostile-garbage": lambda f: "scanProblem" in f,
    "hostile-close": lambda f: "scanProblem" in f,
    "hostile-stall": lambda f: "scanProblem" in f,
    "hostile-tarpit": lambda f: "scanProblem" in f,
    "refused": lambda f: "scanProblem" in f,
}


def testssl_findings(path: Path) -> dict[str, tuple[str, str]]:
    """finding id -> (severity, finding) from a testssl.sh ``--jsonfile`` (flat list)."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    found: dict[str, tuple[str, str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and "id" in entry:
            found.setdefault(
                str(entry["id"]), (str(entry.get("severity", "")), str(entry.get("finding", "")))
            )
    return found


def testssl_order(lab: Lab) -> list[str]:
    """Fault endpoints for testssl.sh: the default subset first, then the other faults."""
    faults = [name for name, (_, expected) in lab.endpoints.items() if expected]
    return [*TESTSSL_DEFAULT, *(n for n in faults if n not in TESTSSL_DEFAULT)]


def run_certwarden(
    lab: Lab, targets: list[Target]
) -> tuple[float, int, int, list[str], dict[str, EndpointResult]]:
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
    return seconds, detected, missed_good, problems, {r.target.name: r for r in results}


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


def run_testssl(
    lab: Lab, names: list[str], directory: Path
) -> tuple[float, dict[str, bool]] | None:
    """testssl.sh on ``names`` (TESTSSL_PARALLEL at a time); endpoint -> fault detected."""
    binary = shutil.which("testssl") or shutil.which("testssl.sh")
    if binary is None or not names:
        return None
    timeout = str(int(DEFAULT_TIMEOUT_SECONDS))

    def one(name: str) -> bool:
        target = lab.endpoints[name][0]
        report = directory / f"testssl-{name}.json"
        report.unlink(missing_ok=True)
        command = [
            binary, "--quiet", "--color", "0", "--warnings", "off", "--sneaky",
            "--add-ca", str(lab.pki.bundle), "--connect-timeout", timeout,
            "--openssl-timeout", timeout, "--jsonfile", str(report),
            "--ip", target.host, f"{target.server_name}:{target.port}",
        ]  # fmt: skip
        try:
            subprocess.run(command, capture_output=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            return False
        return bool(TESTSSL_CHECKS[name](testssl_findings(report)))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=TESTSSL_PARALLEL) as pool:
        detected = dict(zip(names, pool.map(one, names), strict=True))
    return time.monotonic() - started, detected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--testssl",
        type=int,
        default=0,
        metavar="N",
        help=f"also run testssl.sh on N fault endpoints, {TESTSSL_PARALLEL} at a time (~70 s per "
        f"{TESTSSL_PARALLEL}), starting with {', '.join(TESTSSL_DEFAULT)}",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="certwarden-bench-") as directory:
        lab = build_lab(Path(directory))
        try:
            targets = lab.targets()
            faults = [t for t in targets if lab.endpoints[t.name][1]]
            n, k = len(targets), len(faults)
            seconds, detected, false_positives, problems, by_name = run_certwarden(lab, targets)
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
            chosen = testssl_order(lab)[: max(0, args.testssl)]
            testssl = run_testssl(lab, chosen, Path(directory))
            if testssl is None:
                reason = (
                    "not installed"
                    if chosen
                    else f"skipped (--testssl {len(TESTSSL_DEFAULT)} adds ~70 s: "
                    f"{', '.join(TESTSSL_DEFAULT)})"
                )
                print(f"testssl.sh  {reason}")
            else:
                t_seconds, t_detected = testssl
                count = len(t_detected)
                ours = sum(
                    lab.endpoints[name][1] <= {f.rule for f in by_name[name].findings}
                    for name in t_detected
                )
                print(
                    f"testssl.sh  total {t_seconds:6.2f} s  per endpoint {t_seconds / count:5.1f} s"
                    f" ({count} endpoint(s), {min(count, TESTSSL_PARALLEL)} at a time)  "
                    f"faults detected {sum(t_detected.values())}/{count}  "
                    f"(certwarden on the same: {ours}/{count})"
                )
                for name, found in t_detected.items():
                    print(f"  {name:<20} {'detected' if found else 'missed'}")
        finally:
            stop_lab(lab)
    print(
        f"endpoints={n} faults_detected={detected}/{k} seconds={seconds:.2f} "
        f"sslscan_seconds={sslscan_seconds}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
