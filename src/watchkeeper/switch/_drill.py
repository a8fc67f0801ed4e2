"""Drills: the kill switch exercised before the night it is needed.

A drill moves the switch's version and leaves its state alone. Every live SDK process adopts the
new version and reports it, exactly as it would a kill, while what it serves by (`enabled`) stays
as it was, so no request goes to the fallback. The verdict is pure: a drill passes when every
process live at its moment confirmed within the wait; it fails when one did not, and when no live
process was known at all, since then it proved nothing.
"""

from __future__ import annotations

from dataclasses import replace

from watchkeeper.store import DrillRecord
from watchkeeper.switch._confirm import Confirmation

DEFAULT_DRILL_REASON = "kill-switch drill"


def outcome(drill: DrillRecord, confirmed: Confirmation) -> DrillRecord:
    """The started `drill` completed by what the roll call said when its wait ended."""
    return replace(
        drill,
        finished_at=confirmed.at,
        live=confirmed.live,
        confirmed=confirmed.confirmed,
        confirmed_in_ms=confirmed.confirmed_in_ms,
        stragglers=[s.to_dict() for s in confirmed.stragglers],
        passed=confirmed.live > 0 and confirmed.complete,
        summary=summary(confirmed),
    )


def summary(confirmed: Confirmation) -> str:
    """The outcome in words: "confirmed by k of n live processes in t ms", or why it proved
    nothing."""
    if confirmed.live == 0:
        return "no live SDK process of this system was known to the server: it proved nothing"
    return confirmed.line()
