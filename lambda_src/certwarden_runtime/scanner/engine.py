"""The scan engine: the bounded pre-flight, then sslyze for protocols, suites and the chain.

sslyze (through nassl's own OpenSSL builds, including a legacy one) offers every protocol from
SSL 2.0 to TLS 1.3 and every cipher suite one at a time, so it finds what the system OpenSSL
can no longer speak. Its results are turned into an :class:`Observation` and judged by
:func:`certwarden_runtime.scanner.evaluate.evaluate` against the policy.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from certwarden_runtime.scanner.evaluate import EndpointProblem, Observation, evaluate
from certwarden_runtime.scanner.models import EndpointResult, ScanOptions, Target
from certwarden_runtime.scanner.probe import preflight, resolve
from certwarden_runtime.scanner.trust import TrustStore

#: sslyze attribute of each protocol's cipher-suite scan, by policy version name.
_VERSION_ATTRIBUTES: dict[str, str] = {
    "SSLv2": "ssl_2_0_cipher_suites",
    "SSLv3": "ssl_3_0_cipher_suites",
    "TLSv1": "tls_1_0_cipher_suites",
    "TLSv1.1": "tls_1_1_cipher_suites",
    "TLSv1.2": "tls_1_2_cipher_suites",
    "TLSv1.3": "tls_1_3_cipher_suites",
}
#: sslyze connectivity errors -> our endpoint problem kinds.
_ERROR_KINDS: dict[str, str] = {
    "ServerRejectedConnection": "refused",
    "ConnectionToServerTimedOut": "timeout",
    "TlsHandshakeTimedOut": "timeout",
    "ServerTlsConfigurationNotSupported": "handshake-failure",
    "ServerRejectedTlsHandshake": "handshake-failure",
    "ServerHostnameCouldNotBeResolved": "unresolved",
}
#: Connections sslyze opens at once to one server.
CONNECTIONS_PER_SERVER = 5
#: A whole endpoint scan may take at most this many timeouts before it is abandoned.
BUDGET_TIMEOUTS = 6


def _sslyze_observation(target: Target, address: str, options: ScanOptions) -> Observation:
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import ServerConnectivityStatusEnum, ServerScanRequest
    from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
    from sslyze.scanner.scanner import Scanner
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    commands = {
        ScanCommand.CERTIFICATE_INFO,
        ScanCommand.SSL_2_0_CIPHER_SUITES,
        ScanCommand.SSL_3_0_CIPHER_SUITES,
        ScanCommand.TLS_1_0_CIPHER_SUITES,
        ScanCommand.TLS_1_1_CIPHER_SUITES,
        ScanCommand.TLS_1_2_CIPHER_SUITES,
        ScanCommand.TLS_1_3_CIPHER_SUITES,
    }
    location = ServerNetworkLocation(
        hostname=target.server_name, port=target.port, ip_address=address
    )
    network = ServerNetworkConfiguration(
        tls_server_name_indication=target.server_name,
        network_timeout=max(1, math.ceil(options.timeout)),
        network_max_retries=1,
    )
    scanner = Scanner(
        per_server_concurrent_connections_limit=CONNECTIONS_PER_SERVER,
        concurrent_server_scans_limit=1,
    )
    scanner.queue_scans(
        [
            ServerScanRequest(
                server_location=location, network_configuration=network, scan_commands=commands
            )
        ]
    )
    result = next(iter(scanner.get_results()))
    if result.connectivity_status != ServerConnectivityStatusEnum.COMPLETED:
        trace = result.connectivity_error_trace
        kind = _ERROR_KINDS.get(trace.exc_type.__name__, "error") if trace else "error"
        detail = str(trace).strip() if trace else "connectivity test failed"
        return Observation(problem=EndpointProblem(kind, f"{target.display}: {detail}"))
    scan: Any = result.scan_result
    accepted: dict[str, tuple[str, ...]] = {}
    incomplete: list[str] = []
    for version, attribute in _VERSION_ATTRIBUTES.items():
        attempt = getattr(scan, attribute)
        if attempt.status == ScanCommandAttemptStatusEnum.COMPLETED and attempt.result:
            accepted[version] = tuple(
                suite.cipher_suite.name for suite in attempt.result.accepted_cipher_suites
            )
        else:
            incomplete.append(f"{version} cipher suites: {_attempt_error(attempt)}")
    chains: list[tuple[Any, ...]] = []
    certificate_error = None
    info = scan.certificate_info
    if info.status == ScanCommandAttemptStatusEnum.COMPLETED and info.result:
        for deployment in info.result.certificate_deployments:
            chains.append(tuple(deployment.received_certificate_chain))
    else:
        certificate_error = f"certificate retrieval failed: {_attempt_error(info)}"
    return Observation(
        accepted=accepted,
        chains=tuple(chains),
        incomplete=tuple(incomplete),
        certificate_error=certificate_error,
    )


def _attempt_error(attempt: Any) -> str:
    reason = getattr(attempt.error_reason, "value", attempt.error_reason) or "error"
    trace = attempt.error_trace
    last = str(trace).strip().splitlines()[-1] if trace else ""
    return f"{reason} {last}".strip()


def observe(target: Target, options: ScanOptions) -> Observation:
    """Pre-flight, then sslyze within a budget; every failure becomes an endpoint problem."""
    resolved = resolve(target.host, target.port)
    if isinstance(resolved, EndpointProblem):
        return Observation(problem=resolved)
    address, family = resolved
    problem = preflight(address, family, target.port, target.server_name, options.timeout)
    if problem is not None:
        return Observation(problem=problem)
    box: dict[str, Observation] = {}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            box["observation"] = _sslyze_observation(target, address, options)
        except Exception as error:  # the engine must never stop the whole scan
            failure.append(error)

    budget = max(30.0, options.timeout * BUDGET_TIMEOUTS)
    worker = threading.Thread(target=run, name=f"scan-{target.display}", daemon=True)
    worker.start()
    worker.join(budget)
    if worker.is_alive():
        return Observation(
            problem=EndpointProblem(
                "timeout", f"{target.display}: scan did not finish within {budget:g} s"
            )
        )
    if failure:
        error = failure[0]
        return Observation(
            problem=EndpointProblem("error", f"{target.display}: {type(error).__name__}: {error}")
        )
    return box["observation"]


def scan_endpoint(
    target: Target, options: ScanOptions, trust: TrustStore, now: datetime | None = None
) -> EndpointResult:
    started = time.monotonic()
    scanned_at = now or datetime.now(UTC)
    observation = observe(target, options)
    findings, certificates = evaluate(target, observation, options.policy, trust, scanned_at)
    protocols = tuple(version for version, suites in observation.accepted.items() if suites)
    return EndpointResult(
        target=target,
        findings=tuple(findings),
        scanned_at=scanned_at.isoformat(timespec="seconds"),
        seconds=time.monotonic() - started,
        protocols=protocols,
        certificates=tuple(certificates),
    )


def scan_endpoints(
    targets: Sequence[Target],
    options: ScanOptions,
    *,
    trust: TrustStore | None = None,
    on_result: Callable[[EndpointResult], None] | None = None,
    now: datetime | None = None,
) -> list[EndpointResult]:
    """Scan every target (``options.concurrency`` at a time); results in target order."""
    store = trust or TrustStore.load(options.ca_bundle, use_system=options.use_system_trust)
    results: list[EndpointResult | None] = [None] * len(targets)

    def one(index: int) -> None:
        result = scan_endpoint(targets[index], options, store, now)
        results[index] = result
        if on_result is not None:
            on_result(result)

    with ThreadPoolExecutor(max_workers=min(options.concurrency, max(1, len(targets)))) as pool:
        for future in [pool.submit(one, i) for i in range(len(targets))]:
            future.result()
    return [r for r in results if r is not None]
