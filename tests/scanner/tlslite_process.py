"""A tlslite-ng lab server in a process of its own (see :class:`lab.TlsliteServer`).

Reads one JSON request (certificate chain, key, settings) from stdin, listens on 127.0.0.1,
prints the port, and serves until it is terminated.
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from tests.scanner.lab import TlsliteListener


def main() -> None:
    request = json.loads(sys.stdin.readline())
    listener = TlsliteListener(
        request["chain_pem"],
        request["key_pem"],
        cipher_names=request["cipher_names"],
        min_version=tuple(request["min_version"]),
        max_version=tuple(request["max_version"]),
        key_exchange=request["key_exchange"],
    )
    print(listener.port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    listener.stop()


if __name__ == "__main__":
    main()
