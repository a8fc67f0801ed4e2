"""Tickets: what an open switch stream hands its SDK process to confirm flips with.

A thousand processes confirming a flip must not cost a thousand token lookups in the database
(each a hop to a worker thread): the stream was authenticated when it opened, so it hands the
process a random ticket, good for reports about that one system while the stream lives and a
few seconds after (a confirmation is spread over a second). A report is the lowest privilege
there is — a roll-call entry — and a ticket allows nothing else. Without a valid ticket (it
expired, or the report reached another replica) the report is authenticated like any request.
"""

from __future__ import annotations

import secrets

GRACE = 5.0  # seconds a ticket outlives its stream, for confirmations on their way
_PURGE_EVERY = 5.0


class Tickets:
    def __init__(self) -> None:
        self._open: dict[str, tuple[str, float]] = {}  # ticket -> (system, good until)
        self._next_purge = 0.0

    def issue(self, system: str, until: float, at: float) -> str:
        """A ticket for reports about `system` until `until` (+ GRACE); `at` is now, on the
        same monotonic clock (the event loop's)."""
        if at >= self._next_purge:
            self._open = {t: held for t, held in self._open.items() if held[1] > at}
            self._next_purge = at + _PURGE_EVERY
        ticket = secrets.token_urlsafe(24)
        self._open[ticket] = (system, until + GRACE)
        return ticket

    def admits(self, ticket: str | None, system: str, at: float) -> bool:
        held = self._open.get(ticket) if ticket else None
        return held is not None and held[0] == system and at < held[1]
