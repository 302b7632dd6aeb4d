"""The scan engine: the bounded pre-flight, then sslyze for protocols, suites and the chain.

sslyze (through nassl's own OpenSSL builds, including a legacy one) offers every protocol from
SSL 2.0 to TLS 1.3 and every cipher suite one at a time, so it finds what the system OpenSSL
can no longer speak. Its results are turned into an :class:`Observation` and judged by
:func:`certwarden_runtime.scanner.evaluate.evaluate` against the policy.
"""

from __future__ import annotations

import contextlib
import math
import socket
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
#: Backstop for a server that answers every step just inside the timeout ("slow drip"): the
#: sslyze stage of one endpoint may take at most ``max(BUDGET_FLOOR_SECONDS, BUDGET_TIMEOUTS x
#: timeout)``. A server that *stalls* is stopped long before by the stall watch below.
BUDGET_TIMEOUTS = 6
BUDGET_FLOOR_SECONDS = 30.0
#: How often the engine checks a running endpoint scan for a stall.
_POLL_SECONDS = 0.1


#: Stalls an endpoint may cause before its scan is abandoned (see :class:`_StallWatch`).
STALL_LIMIT = 2


class _StallWatch:
    """The sockets sslyze opens to one endpoint, and how many of them stalled.

    A stall is a socket operation (connect, send, receive) that waited the whole network
    timeout. sslyze counts a stalled handshake as "suite rejected" and goes on with the next
    of its hundreds of handshakes, each waiting the timeout again: a server that answers the
    pre-flight and then stalls would cost minutes, and its report would be quietly wrong. Here
    one stall is tolerated (one slow answer, or a server that ignores one kind of ClientHello
    (sslyze's note: CloudFront and TLS 1.3)); the :data:`STALL_LIMIT`-th ends the endpoint's
    scan: :meth:`stop` shuts every open socket so sslyze's workers fail fast, and every later
    connection attempt fails at once. sslyze runs its first handshakes one after another and
    then :data:`CONNECTIONS_PER_SERVER` at once, so a server that stalls every handshake costs
    at most ``STALL_LIMIT`` network timeouts after the pre-flight.
    """

    def __init__(self, limit: int = STALL_LIMIT) -> None:
        self.limit = limit
        self.stalled = threading.Event()
        self.stalls: list[str] = []
        self.stopped = False
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    @property
    def reason(self) -> str:
        with self._lock:
            return "; ".join(dict.fromkeys(self.stalls))

    def record_stall(self, what: str) -> None:
        with self._lock:
            self.stalls.append(what)
            reached = len(self.stalls) >= self.limit
        if reached:
            self.stalled.set()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if self.stopped:
                raise TimeoutError("endpoint scan abandoned")
            self._open.add(sock)

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _WatchedSocket(socket.socket):
    """A socket that tells its watches when an operation waits the whole timeout.

    A stall after an SSL 2.0-format ClientHello does not count: a server that does not speak
    SSL 2.0 commonly reads those bytes as the header of a long TLS record and waits for the
    rest (tlslite-ng does); sslyze then rightly reports SSL 2.0 as not accepted.
    """

    watches: tuple[_StallWatch, ...] = ()
    sent_sslv2_hello: bool | None = None

    def _stalled(self, what: str) -> None:
        if self.sent_sslv2_hello:
            return
        for watch in self.watches:
            watch.record_stall(what)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            self._stalled(f"no data from the server for {self.gettimeout():g} s")
            raise

    def send(self, data: Any, flags: int = 0) -> int:
        if self.sent_sslv2_hello is None:
            first = bytes(data[:3])
            # SSL 2.0 record: 2-byte length with the high bit set, then CLIENT-HELLO (1).
            self.sent_sslv2_hello = len(first) == 3 and bool(first[0] & 0x80) and first[2] == 1
        try:
            return super().send(data, flags)
        except TimeoutError:
            self._stalled(f"the server accepted no data for {self.gettimeout():g} s")
            raise

    def close(self) -> None:
        for watch in self.watches:
            watch.discard(self)
        super().close()


#: (ip, port, server name) -> watches of the scans of that endpoint now running.
_WATCHES: dict[tuple[str, int, str], list[_StallWatch]] = {}
_WATCHES_LOCK = threading.Lock()
_HOOK_LOCK = threading.Lock()


def _watches_for(location: object) -> list[_StallWatch]:
    key = (
        str(getattr(location, "ip_address", "")),
        int(getattr(location, "port", 0)),
        str(getattr(location, "hostname", "")),
    )
    with _WATCHES_LOCK:
        return list(_WATCHES.get(key, ()))


def install_stall_hook() -> bool:
    """Route sslyze's socket creation through the stall watch (idempotent).

    sslyze opens every connection through ``sslyze.connection_helpers.tls_connection.
    _open_socket``; the hook wraps it. Returns False when that function is missing (another
    sslyze version): the scan then relies on the budget backstop alone; a test pins the hook.
    """
    with _HOOK_LOCK:  # also serialises the first import of sslyze (threads deadlock on it)
        from sslyze.connection_helpers import tls_connection
        from sslyze.server_setting import ServerNetworkLocation

        original = getattr(tls_connection, "_open_socket", None)
        if original is None:
            return False
        if getattr(original, "certwarden_stall_hook", False):
            return True

        def open_socket(
            server_location: ServerNetworkLocation, network_timeout: int
        ) -> socket.socket:
            watches = _watches_for(server_location)
            if not watches:
                return original(server_location, network_timeout)  # type: ignore[no-any-return]
            for watch in watches:
                if watch.stopped:
                    raise TimeoutError("endpoint scan abandoned after a stall")
            try:
                plain: socket.socket = original(server_location, network_timeout)
            except TimeoutError:
                for watch in watches:
                    watch.record_stall(f"no TCP connection within {network_timeout} s")
                raise
            timeout = plain.gettimeout()
            watched = _WatchedSocket(plain.family, plain.type, plain.proto, plain.detach())
            watched.settimeout(timeout)
            watched.watches = tuple(watches)
            try:
                for watch in watches:
                    watch.add(watched)
            except TimeoutError:
                watched.close()
                raise
            return watched

        open_socket.certwarden_stall_hook = True  # type: ignore[attr-defined]
        tls_connection._open_socket = open_socket
        return True


def _register(key: tuple[str, int, str], watch: _StallWatch) -> None:
    with _WATCHES_LOCK:
        _WATCHES.setdefault(key, []).append(watch)


def _unregister(key: tuple[str, int, str], watch: _StallWatch) -> None:
    with _WATCHES_LOCK:
        remaining = [w for w in _WATCHES.get(key, []) if w is not watch]
        if remaining:
            _WATCHES[key] = remaining
        else:
            _WATCHES.pop(key, None)


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
    install_stall_hook()
    watch = _StallWatch()
    key = (address, target.port, target.server_name)
    # Registered until sslyze's own worker ends: an abandoned scan's leftover connection
    # attempts still see the stopped watch and fail at once instead of reaching the server.
    _register(key, watch)

    def run() -> None:
        try:
            box["observation"] = _sslyze_observation(target, address, options)
        except Exception as error:  # the engine must never stop the whole scan
            failure.append(error)
        finally:
            _unregister(key, watch)

    budget = max(BUDGET_FLOOR_SECONDS, options.timeout * BUDGET_TIMEOUTS)
    started = time.monotonic()
    worker = threading.Thread(target=run, name=f"scan-{target.display}", daemon=True)
    worker.start()
    while worker.is_alive() and not watch.stalled.is_set():
        left = budget - (time.monotonic() - started)
        if left <= 0:
            break
        watch.stalled.wait(min(left, _POLL_SECONDS))
    if watch.stalled.is_set():
        watch.stop()
        return Observation(
            problem=EndpointProblem(
                "timeout",
                f"{target.display}: answered the pre-flight ClientHello, then stalled "
                f"{len(watch.stalls)} times ({watch.reason}); scan abandoned after "
                f"{time.monotonic() - started:.1f} s",
            )
        )
    if worker.is_alive():
        watch.stop()
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
    install_stall_hook()
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
