"""Gathering the vacuum report's evidence from the store: one query per kind of evidence, for
every system asked about at once.

The vacuum report is the headline view, so it reads what every stage recorded — reviews, evals,
data arriving, incidents, care given, kill-switch drills, the triage queue — and hands plain facts
to the pure rubric.
Reading table by table rather than system by system keeps the report's cost to a fixed handful of
queries however large the portfolio (issue 9: 200 systems within the dashboard's 300 ms); one
system's page asks the same queries about one system, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.charter._digest import runbook_digest
from watchkeeper.charter.ledger import CareEntry, by_month, unspent_streak
from watchkeeper.charter.vacuum import BUS_FACTOR_WINDOW, Drills, Evidence, Rehearsals
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import AckRecord, DrillRecord, RehearsalRecord, SystemRecord, Unit

EVAL_GRACE = timedelta(days=1)
DEFAULT_SILENCE = timedelta(days=1)
ACTED_ON_SYSTEM = frozenset(
    {
        "role.acknowledged",
        "incident.acknowledged",
        "incident.resolved",
        "review.recorded",
        "knowledge.recorded",
        "decision.closed",
        "eval.run",
        "switch.changed",
        "switch.drill",
        "triage.verdict",
    }
)

Applied = tuple[SystemRecord, SystemManifest]


@dataclass(frozen=True)
class _Tables:
    """What the store holds about the systems asked about, keyed by system (and suite). Care
    is read only for systems with a care budget that have gone live, drills only for live
    systems that ask for them: nobody else's is judged."""

    acks: dict[str, list[AckRecord]]
    actors: dict[str, set[str]]
    last_review: dict[str, datetime]
    last_eval: dict[tuple[str, str], datetime]
    last_data: dict[str, datetime]
    unacknowledged_critical: dict[str, list[int]]
    care: dict[str, list[CareEntry]]
    triage_queued: dict[str, list[datetime]]
    last_drill: dict[str, DrillRecord]
    last_passed_drill: dict[str, datetime]
    rehearsals: dict[str, tuple[RehearsalRecord | None, RehearsalRecord | None]]


def gather(unit: Unit, systems: Sequence[Applied], now: datetime) -> dict[str, Evidence]:
    """Each system's evidence by name; the manifests come in already validated, so a report
    validates each one once."""
    names = [record.name for record, _ in systems]
    budgeted = [
        record.name
        for record, manifest in systems
        if manifest.spec.care and manifest.spec.care.hours_per_month > 0 and record.live_since
    ]
    drilled = [record.name for record, manifest in systems if _drill_every(record, manifest)]
    live = [record.name for record, manifest in systems if _live(record, manifest)]
    tables = _Tables(
        acks=unit.acks_by_system(names),
        actors=unit.actors_since(names, now - BUS_FACTOR_WINDOW, ACTED_ON_SYSTEM),
        last_review=unit.care.last_reviews(names),
        last_eval=unit.care.last_eval_runs(names),
        last_data=unit.ingest.last_observations(names),
        unacknowledged_critical=unit.alerting.incident_ids(
            names, status="triggered", severity="critical"
        ),
        care={
            name: [CareEntry(e.at, e.hours, e.kind, e.by) for e in entries]
            for name, entries in unit.care.care_entries_by_system(budgeted).items()
        },
        triage_queued=unit.care.triage_queued_at(names, status="open"),
        last_drill=unit.switch_processes.last_finished_drills(drilled) if drilled else {},
        last_passed_drill=unit.switch_processes.last_passed_drills(drilled) if drilled else {},
        rehearsals=unit.rehearsals.last(live) if live else {},
    )
    return {record.name: _evidence(tables, record, manifest, now) for record, manifest in systems}


def _live(record: SystemRecord, manifest: SystemManifest) -> bool:
    return manifest.spec.lifecycle == "live" and record.live_since is not None


def _drill_every(record: SystemRecord, manifest: SystemManifest) -> timedelta | None:
    """How often the system owes a drill: as its manifest asks, once it has gone live."""
    return manifest.spec.kill_switch.drill_every if _live(record, manifest) else None


def _rehearsals(
    tables: _Tables, record: SystemRecord, manifest: SystemManifest
) -> Rehearsals | None:
    if not _live(record, manifest):
        return None
    latest, passed = tables.rehearsals.get(record.name, (None, None))
    every = manifest.spec.runbook.rehearse_every
    return Rehearsals(runbook_digest(manifest), latest, passed, every)


def _evidence(
    tables: _Tables, record: SystemRecord, manifest: SystemManifest, now: datetime
) -> Evidence:
    name, spec = record.name, manifest.spec
    live = _live(record, manifest)
    overdue: list[str] | None = None
    silence: timedelta | None = None
    if live:
        assert record.live_since is not None
        overdue = []
        for suite in spec.evals:
            if suite.every is None:
                continue
            since = tables.last_eval.get((name, suite.suite), record.live_since)
            if now >= since + suite.every + EVAL_GRACE:
                overdue.append(suite.suite)
        runbook = spec.runbook
        absent = [r.absent for r in runbook.alerts if r.absent is not None]
        watches_data = any(
            s.source in ("observation", "output", "feedback") for s in runbook.signals.values()
        )
        if absent or watches_data:
            silence = min(absent) if absent else DEFAULT_SILENCE
    unspent = None
    if name in tables.care:
        assert spec.care is not None and record.live_since is not None
        months = by_month(tables.care[name], spec.care.hours_per_month, record.live_since, now)
        unspent = unspent_streak(months, complete_before=f"{now.year:04d}-{now.month:02d}")
    stale = None
    deadline = spec.runbook.triage.deadline
    queued = tables.triage_queued[name]
    if spec.runbook.triage.rules or queued:
        stale = sum(1 for at in queued if now - at > deadline)
    return Evidence(
        acks=tables.acks[name],
        went_live=record.live_since,
        last_review=tables.last_review.get(name),
        actors=tables.actors[name],
        overdue_evals=overdue,
        last_data=tables.last_data.get(name),
        silence_allowed=silence,
        unacknowledged_critical=tables.unacknowledged_critical[name],
        unspent_months=unspent,
        stale_triage=stale,
        drills=_drills(tables, record, manifest),
        rehearsals=_rehearsals(tables, record, manifest),
    )


def _drills(tables: _Tables, record: SystemRecord, manifest: SystemManifest) -> Drills | None:
    every = _drill_every(record, manifest)
    if every is None:
        return None
    name = record.name
    return Drills(every, tables.last_drill.get(name), tables.last_passed_drill.get(name))
