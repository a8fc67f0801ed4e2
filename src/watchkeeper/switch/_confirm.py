"""Who obeyed a flip: the pure rules over the roll call of SDK processes.

A process confirms a flip by reporting a switch version at least the flip's, never by a clock of
its own: every instant here is the server's (when a report was heard), so a client whose clock is
far off confirms like any other. A process is live while heard from within `LIVE_BEATS` of its
heartbeats; the processes that count for a flip are those live at the flip's moment, so one that
died just before it is named as a straggler rather than silently left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.store import ProcessRecord
from watchkeeper.switch._state import SwitchState

LIVE_BEATS = 3


def live_at(process: ProcessRecord, at: datetime) -> bool:
    """Heard from by `at` and not silent for more than `LIVE_BEATS` heartbeats before it."""
    silent = timedelta(seconds=LIVE_BEATS * process.heartbeat)
    return process.first_seen <= at and at - process.last_seen <= silent


def needs_write(last: ProcessRecord | None, report: ProcessRecord) -> bool:
    """Whether a report must reach the store: it says something new (the version above all:
    that is the confirmation), or the last write is a heartbeat old. Keeps 1,000 polling
    clients from writing on every poll."""
    if last is None or _said(last) != _said(report):
        return True
    return (report.last_seen - last.last_seen).total_seconds() >= last.heartbeat


def _said(p: ProcessRecord) -> tuple[object, ...]:
    return (p.host, p.pid, p.sdk, p.service, p.version, p.fail_mode, p.heartbeat)


def merged(earlier: ProcessRecord | None, later: ProcessRecord) -> ProcessRecord:
    """Two reports of one process as one: the later's word, the earlier's first sighting, and
    the earlier's `version_since` while the version is the same."""
    if earlier is None:
        return later
    since = earlier.version_since if earlier.version == later.version else later.version_since
    return replace(later, first_seen=earlier.first_seen, version_since=since)


@dataclass(frozen=True)
class Straggler:
    process: ProcessRecord
    live: bool  # still heard from when the report was made; False: silent (likely gone)

    def to_dict(self) -> dict[str, Any]:
        return {**self.process.to_dict(), "live": self.live, "name": self.name()}

    def name(self) -> str:
        """host/pid/service, as a kill authority looks for it."""
        parts = [self.process.host or "?", str(self.process.pid or "?")]
        if self.process.service:
            parts.append(self.process.service)
        return "/".join(parts)


@dataclass(frozen=True)
class Confirmation:
    """ "Confirmed by k of n live processes in t ms" for one flip, at one moment."""

    system: str
    version: int
    state: str
    flipped_at: datetime | None
    at: datetime
    live: int
    confirmed: int
    confirmed_in_ms: float | None  # the flip to its last confirmation; None: nobody confirmed
    stragglers: tuple[Straggler, ...]

    @property
    def complete(self) -> bool:
        return self.confirmed == self.live

    def line(self) -> str:
        if self.live == 0:
            return "no live SDK process of this system is known to the server: none to confirm"
        timing = f" in {self.confirmed_in_ms:.0f} ms" if self.confirmed_in_ms is not None else ""
        return f"confirmed by {self.confirmed} of {self.live} live processes{timing}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "version": self.version,
            "state": self.state,
            "flipped_at": self.flipped_at.isoformat() if self.flipped_at else None,
            "at": self.at.isoformat(),
            "live": self.live,
            "confirmed": self.confirmed,
            "confirmed_in_ms": self.confirmed_in_ms,
            "complete": self.complete,
            "summary": self.line(),
            "stragglers": [s.to_dict() for s in self.stragglers],
        }


def confirmation(
    flip: SwitchState, processes: Iterable[ProcessRecord], at: datetime
) -> Confirmation:
    """The flip `flip` (or the drill that made its version) as the processes heard by `at`
    confirm it. Never moved (version 0): every process live now counts, and any state it holds
    confirms."""
    moment = flip.version_at or at
    counted = [p for p in processes if live_at(p, moment)]
    confirmed = [p for p in counted if p.version is not None and p.version >= flip.version]
    timings = [
        max(0.0, (p.version_since - moment).total_seconds() * 1000)
        for p in confirmed
        if p.version == flip.version and flip.version_at is not None
    ]
    stragglers = tuple(Straggler(p, live_at(p, at)) for p in counted if p not in confirmed)
    return Confirmation(
        system=flip.system,
        version=flip.version,
        state=flip.state,
        flipped_at=flip.version_at,
        at=at,
        live=len(counted),
        confirmed=len(confirmed),
        confirmed_in_ms=round(max(timings), 1) if timings else None,
        stragglers=stragglers,
    )
