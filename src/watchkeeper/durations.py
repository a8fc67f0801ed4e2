"""Durations as people write them in runbooks: `30m`, `12h`, `30d`, `2w`, `90s`."""

from __future__ import annotations

import re
from datetime import timedelta

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
# Nothing a runbook times (windows, retention, attestation) needs more, and `now - duration`
# must stay a date: `999999w` of retention made every ingest of its system overflow.
MAX_DURATION = timedelta(days=3650)


def parse_duration(text: str) -> timedelta:
    """Raise ValueError with the accepted forms, so manifest errors can say how to fix it."""
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(
            f"{text!r} is not a duration; write a whole number and a unit, e.g. 30m, 12h, 30d, 2w"
        )
    amount, unit = match.groups()
    seconds = int(amount) * _SECONDS[unit]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r} is longer than 10 years (3650d), the longest duration allowed")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of parse_duration, choosing the largest unit that divides evenly."""
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
