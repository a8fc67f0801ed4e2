"""The one clock.

Every time-based rule takes `now` as a parameter; only the shell (CLI, server, scheduler) asks a
clock for it, once per command or tick, so tests and the demo can replay months in seconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None:
        """Wait between retries (a notifier's back-off) by this clock's idea of time."""


class SystemClock:
    """Wall-clock time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FixedClock:
    """A clock that only moves when told to; never backwards, so timelines stay causal."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a FixedClock never moves backwards")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> datetime:
        instant = as_utc(instant)
        if instant < self._now:
            raise ValueError("a FixedClock never moves backwards")
        self._now = instant
        return self._now

    def sleep(self, seconds: float) -> None:
        """Returns at once: this clock moves only when told, so a back-off on it waits for
        nothing (a replayed month's retries to an unreachable channel cost no real seconds)."""


def as_utc(instant: datetime) -> datetime:
    """Naive datetimes are read as UTC: the store and the manifest speak UTC only."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant (`2026-05-01`, `2026-05-01T09:00`, `...Z`) into UTC."""
    return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
