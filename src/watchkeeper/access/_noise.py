"""The noise gate: what callers without valid credentials cause is counted, not written row by
row, so that nobody can grow the audit trail (and its writer lock) by sending garbage.

Per (route, reason, client address) and interval, the first attempt is written at once and the
rest are counted; the count is written when the interval is over (with the next noise, or when
the scheduler flushes). Only `keys` distinct sources are tracked per interval: the rest share one
overflow row, so thousands of addresses cost no more than one. Attempts on the kill switch do
not come here: each of those is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

Key = tuple[str, str, str]  # route, reason, client address
OVERFLOW: Key = ("*", "more distinct unauthenticated sources than tracked per interval", "*")


@dataclass(frozen=True)
class Noise:
    """One row to write: `count` attempts of one kind between `first` and `last`."""

    key: Key
    count: int
    first: datetime
    last: datetime


@dataclass
class _Window:
    opened: datetime
    more: int = 0
    first_more: datetime | None = None
    last_more: datetime | None = None


class NoiseGate:
    """Pure bookkeeping over `now` values given to it; the caller writes what it returns."""

    def __init__(self, *, interval: timedelta = timedelta(minutes=1), keys: int = 100) -> None:
        self.interval = interval
        self.keys = keys
        self._windows: dict[Key, _Window] = {}

    def note(self, key: Key, now: datetime) -> list[Noise]:
        """Count one attempt; returns the rows due now (closed intervals' counts, and this
        attempt itself when it is the first of its kind in its interval)."""
        due = self.flush(now)
        if key not in self._windows and len(self._windows) >= self.keys:
            key = OVERFLOW
        window = self._windows.get(key)
        if window is None:
            self._windows[key] = _Window(now)
            return [*due, Noise(key, 1, now, now)]
        window.more += 1
        window.first_more = window.first_more or now
        window.last_more = now
        return due

    def flush(self, now: datetime) -> list[Noise]:
        """The counts of intervals that are over, each once; intervals with a single attempt
        were written in full when it came."""
        closed = [k for k, w in self._windows.items() if w.opened + self.interval <= now]
        due = []
        for key in closed:
            window = self._windows.pop(key)
            if window.more and window.first_more and window.last_more:
                due.append(Noise(key, window.more, window.first_more, window.last_more))
        return due
