"""Go durations (``time.ParseDuration``), the format cert-manager's webhook accepts.

The Certificate CRD only says ``type: string``: ``90d`` passes the schema and is then rejected
by the webhook at apply time. The generator formats every duration here and parses it back.
"""

from __future__ import annotations

import re
from fractions import Fraction

#: Go's units; there is no day unit (``90d`` is invalid, ``2160h`` is 90 days).
GO_DURATION_UNITS: dict[str, Fraction] = {
    "ns": Fraction(1, 1_000_000_000),
    "us": Fraction(1, 1_000_000),
    "\u00b5s": Fraction(1, 1_000_000),  # micro sign
    "\u03bcs": Fraction(1, 1_000_000),  # Greek mu
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_UNIT = "|".join(sorted((re.escape(u) for u in GO_DURATION_UNITS), key=len, reverse=True))
_PART = re.compile(rf"(\d+\.?\d*|\.\d+)({_UNIT})")
_WHOLE = re.compile(rf"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:{_UNIT}))+")
SECONDS_PER_DAY = 86400


class DurationError(ValueError):
    """A string is not a Go duration."""


def parse_go_duration(text: str) -> Fraction:
    """Seconds in a Go duration string such as ``2160h`` or ``1h30m``; exact.

    Raises DurationError naming the value and the units Go allows.
    """
    if text in ("0", "+0", "-0"):
        return Fraction(0)
    if not isinstance(text, str) or not _WHOLE.fullmatch(text):
        hint = ""
        days = re.fullmatch(r"(\d+)d", text) if isinstance(text, str) else None
        if days:
            hint = f" (Go has no day unit: use {int(days.group(1)) * 24}h)"
        raise DurationError(
            f"{text!r} is not a Go duration{hint}; write a number and a unit, repeated, from "
            f"{', '.join(GO_DURATION_UNITS)} (e.g. 2160h, 1h30m)"
        )
    sign = -1 if text.startswith("-") else 1
    total = sum(
        (Fraction(number) * GO_DURATION_UNITS[unit] for number, unit in _PART.findall(text)),
        Fraction(0),
    )
    return sign * total


def go_duration_from_days(days: int) -> str:
    """Whole days as a Go duration in hours: 90 -> ``2160h``."""
    if days <= 0:
        raise DurationError(f"a duration of {days} days must be positive")
    text = f"{days * 24}h"
    assert parse_go_duration(text) == days * SECONDS_PER_DAY
    return text
