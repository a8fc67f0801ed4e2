"""Gathering the vacuum report's evidence from the store: one read per system, all stages.

The vacuum report is the headline view, so it reads what every stage recorded — reviews, evals,
data arriving, incidents, care given, the triage queue — and hands plain facts to the pure rubric.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from watchkeeper.care.ledger import CareEntry, by_month, unspent_streak
from watchkeeper.charter.vacuum import Evidence
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import SystemRecord, Unit

EVAL_GRACE = timedelta(days=1)
DEFAULT_SILENCE = timedelta(days=1)


def gather(
    unit: Unit, record: SystemRecord, manifest: SystemManifest, actors: set[str], now: datetime
) -> Evidence:
    spec = manifest.spec
    live = spec.lifecycle == "live" and record.live_since is not None
    reviews = unit.reviews(record.name)
    overdue: list[str] | None = None
    silence: timedelta | None = None
    if live:
        assert record.live_since is not None
        overdue = []
        for suite in spec.evals:
            if suite.every is None:
                continue
            last = next(iter(unit.eval_runs(record.name, suite.suite, limit=1)), None)
            since = last.started_at if last else record.live_since
            if now >= since + suite.every + EVAL_GRACE:
                overdue.append(suite.suite)
        runbook = spec.runbook
        absent = [r.absent for r in runbook.alerts if r.absent is not None]
        watches_data = any(
            s.source in ("observation", "output", "feedback") for s in runbook.signals.values()
        )
        if absent or watches_data:
            silence = min(absent) if absent else DEFAULT_SILENCE
    unacked = [
        i.id
        for i in unit.incidents(record.name, open_only=True)
        if i.status == "triggered" and i.severity == "critical"
    ]
    unspent = None
    if spec.care and spec.care.hours_per_month > 0 and record.live_since is not None:
        entries = [CareEntry(e.at, e.hours, e.kind, e.by) for e in unit.care_entries(record.name)]
        months = by_month(entries, spec.care.hours_per_month, record.live_since, now)
        unspent = unspent_streak(months, complete_before=f"{now.year:04d}-{now.month:02d}")
    stale = None
    deadline = spec.runbook.triage.deadline
    open_items = unit.triage_items(record.name, status="open", limit=100_000)
    if spec.runbook.triage.rules or open_items:
        stale = sum(1 for i in open_items if now - i.queued_at > deadline)
    return Evidence(
        acks=unit.acks(record.name),
        went_live=record.live_since,
        last_review=reviews[-1].reviewed_at if reviews else None,
        actors=actors,
        overdue_evals=overdue,
        last_data=unit.last_observation_at(record.name),
        silence_allowed=silence,
        unacknowledged_critical=unacked,
        unspent_months=unspent,
        stale_triage=stale,
    )
