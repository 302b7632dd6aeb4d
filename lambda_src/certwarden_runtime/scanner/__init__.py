"""TLS endpoint scanner: protocols, cipher suites and certificates judged against the policy.

Importing this package is cheap (no sslyze); the engine is loaded by :func:`scan_endpoints`.

- :mod:`.models`   targets, findings, results, ratings
- :mod:`.evaluate` the pure policy evaluation of what was observed (one rule table)
- :mod:`.probe`    the bounded pre-flight (refused / timeout / not TLS) before the engine runs
- :mod:`.engine`   sslyze (protocols, cipher suites, received chain) + the pre-flight
- :mod:`.trust`    system trust store plus an optional extra CA bundle
- :mod:`.report`   table / JSON / CSV renderings
- :mod:`.targets`  ``HOST[:PORT]`` parsing and YAML/CSV target files
- :mod:`.command`  the ``certwarden scan`` CLI command
- :mod:`.handler`  the scheduled Lambda entry point
"""

from __future__ import annotations

from certwarden_runtime.scanner.models import (
    EndpointResult,
    Finding,
    FindingSeverity,
    Rating,
    ScanOptions,
    Target,
    rating_for,
)

__all__ = [
    "EndpointResult",
    "Finding",
    "FindingSeverity",
    "Rating",
    "ScanOptions",
    "Target",
    "rating_for",
]
