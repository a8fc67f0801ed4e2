"""Reading a period's evidence from the store: one record per thing that happened, each with the
audit entries that recorded it.

Everything here was written by operations as it happened — no field is typed in for the audit.
A record says where its audit entries are (`Stamp`: the target the stage audited it under, the
action, the moment); matching is done once over the system's entries, so a record the stages
never audit (a finding is the monitor's own output) simply cites none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from watchkeeper.access import directory_of
from watchkeeper.alerting import incidents as incident_records
from watchkeeper.alerting.serious import hold_changes
from watchkeeper.alerting.timeline import timeline
from watchkeeper.audit import AuditEntry
from watchkeeper.charter import gate
from watchkeeper.errors import ActionError
from watchkeeper.ingest.retention import HIGH_RISK
from watchkeeper.manifest import SystemManifest
from watchkeeper.monitor.stats import reviewed_error_rate
from watchkeeper.store import IncidentRecord, SystemRecord, Unit, manifest_of

T = TypeVar("T")
MAX_OF_A_KIND = 100_000
"""Records of one kind a bundle holds at most: a longer period of a busy system is refused by
name rather than read whole into memory."""
SIX_MONTHS = timedelta(days=183)  # Art. 19(1), 26(6): "at least six months"


@dataclass(frozen=True)
class Stamp:
    """Where a record's audit entries are: those about `target` (with `action`, at `at`, and
    saying `said` in their `after`, when given — three holders acknowledged at one moment are
    told apart by the holder their entries name)."""

    target: str
    action: str | None = None
    at: datetime | None = None
    said: tuple[tuple[str, Any], ...] = ()

    def matches(self, entry: AuditEntry) -> bool:
        after = entry.after if isinstance(entry.after, Mapping) else {}
        return (
            entry.target == self.target
            and (self.action is None or entry.action == self.action)
            and (self.at is None or entry.at == self.at)
            and all(after.get(k) == v for k, v in self.said)
        )


@dataclass(frozen=True)
class Found:
    kind: str
    id: str
    at: datetime
    title: str
    data: dict[str, Any]
    stamp: Stamp | None = None
    gap: str | None = None


def gather(unit: Unit, system: str, start: datetime, end: datetime) -> list[Found]:
    """Everything of `system` that happened in [start, end), and the manifest, charter and plan
    in force over it, oldest first within each kind."""
    versions = _in_force(unit.system_versions(system), start, end)
    last = manifest_of(versions[-1])
    found = [
        *(_version(v) for v in versions),
        _plan(versions[-1]),
        _retention(versions[-1]),
        _gate(unit, last, end),
        *_acks(unit, system, end),
        *_findings(unit, system, start, end),
        *_incidents(unit, system, start, end),
        *_knowledge(unit, system, start, end),
        *_reviews(unit, system, start, end),
        *_care(unit, system, start, end),
        *_switch(unit, system, start, end),
        *_drills(unit, system, start, end),
        *_triage(unit, system, start, end),
        *_evals(unit, system, start, end),
        *_rehearsals(unit, system, start, end),
    ]
    return found


def _bounded(rows: Sequence[T], what: str) -> Sequence[T]:
    """`rows`, read with a limit of one more than a bundle holds, when they fit in one."""
    if len(rows) > MAX_OF_A_KIND:
        raise ActionError(
            "invalid",
            f"more than {MAX_OF_A_KIND:,} {what}: a bundle holds at most that many of a kind;"
            " export a shorter period",
        )
    return rows


def cite(found: Sequence[Found], entries: Sequence[AuditEntry]) -> dict[str, list[int]]:
    """Each record's audit entries, by record id."""
    return {f.id: [e.seq for e in entries if f.stamp.matches(e)] if f.stamp else [] for f in found}


def chain_record(entries: Sequence[AuditEntry], start: datetime, end: datetime) -> Found:
    """The system's own audit entries in the period: Art. 12's automatic record of events."""
    inside = [e for e in entries if start <= e.at < end]
    return Found(
        "chain",
        "chain",
        end,
        f"{len(inside)} audit entries about the system in the period",
        {
            "entries": len(inside),
            "first": inside[0].seq if inside else None,
            "last": inside[-1].seq if inside else None,
            "actions": sorted({e.action for e in inside}),
        },
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _in_force(
    versions: Sequence[SystemRecord], start: datetime, end: datetime
) -> list[SystemRecord]:
    """The versions applied in the period and the one already in force when it began."""
    ordered = sorted(versions, key=lambda v: v.version)
    before = [v for v in ordered if v.applied_at <= start]
    during = [v for v in ordered if start < v.applied_at < end]
    return before[-1:] + during or ordered[:1]


def _version(record: SystemRecord) -> Found:
    return Found(
        "manifest",
        f"manifest/v{record.version}",
        record.applied_at,
        f"Manifest version {record.version} applied by {record.applied_by}",
        {
            "version": record.version,
            "digest": record.digest,
            "applied_at": record.applied_at.isoformat(),
            "applied_by": record.applied_by,
            "live_since": _iso(record.live_since),
            "manifest": record.manifest,
        },
        Stamp(record.name, "system.applied", record.applied_at),
    )


def _plan(record: SystemRecord) -> Found:
    """The runbook read as Art. 72's post-market monitoring plan: what is watched, what healthy
    is, who is told and what is done."""
    spec = record.manifest.get("spec", {})
    return Found(
        "plan",
        "plan",
        record.applied_at,
        f"Post-market monitoring plan (runbook of manifest version {record.version})",
        {
            "version": record.version,
            "charter": spec.get("charter", {}),
            "runbook": spec.get("runbook", {}),
            "evals": spec.get("evals", []),
            "upstream": spec.get("upstream", []),
            "kill_switch": spec.get("kill_switch", {}),
            "care": spec.get("care"),
        },
        Stamp(record.name, "system.applied", record.applied_at),
    )


def _retention(record: SystemRecord) -> Found:
    manifest = manifest_of(record)
    keep = manifest.spec.retention.keep
    marker = getattr(manifest.metadata, "eu_ai_act", None)
    high = marker == HIGH_RISK
    short = keep < SIX_MONTHS
    gap = (
        f"keeps logs {keep.days} days: Art. 19(1) and 26(6) ask a high-risk system for at least "
        "six months"
        if high and short
        else None
    )
    return Found(
        "retention",
        "retention",
        record.applied_at,
        f"Data kept {keep.days} days" + (" (high-risk under the EU AI Act)" if high else ""),
        {
            "keep_days": keep.days,
            "raw_sample": manifest.spec.retention.raw_sample,
            "eu_ai_act": marker,
            "six_months": not short,
        },
        Stamp(record.name, "system.applied", record.applied_at),
        gap,
    )


def _gate(unit: Unit, manifest: SystemManifest, end: datetime) -> Found:
    """The gate over the version in force at the period's end, with the acknowledgements and
    rehearsals recorded by then."""
    name = manifest.name
    acks = [a for a in unit.acks(name) if a.acked_at < end]
    rehearsals = [r for r in unit.rehearsals.of(name, limit=1000) if r.rehearsed_at < end]
    report = gate.evaluate(manifest, directory_of(unit), acks, end, rehearsals)
    verdict = "ready" if report.ready else "not ready"
    return Found(
        "gate",
        "gate",
        end,
        f"Go-live gate at the period's end: {verdict}, score {report.score}/100",
        report.to_dict(),
    )


def _acks(unit: Unit, system: str, end: datetime) -> Iterable[Found]:
    for a in unit.acks(system):
        if a.acked_at < end:
            yield Found(
                "ack",
                f"ack/{a.role}/{a.holder}/{a.acked_at:%Y%m%dT%H%M%S}",
                a.acked_at,
                f"{a.holder} acknowledged the role {a.role}",
                {
                    "role": a.role,
                    "holder": a.holder,
                    "acked_by": a.acked_by,
                    "acked_at": a.acked_at.isoformat(),
                },
                Stamp(
                    f"{system}/{a.role}",
                    "role.acknowledged",
                    a.acked_at,
                    (("role", a.role), ("holder", a.holder)),
                ),
            )


def _findings(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    found = unit.monitoring.findings(system, since=start, until=end, limit=MAX_OF_A_KIND + 1)
    for f in reversed(_bounded(found, "findings in the period")):
        yield Found("finding", f"finding/{f.id}", f.created_at, f.summary, f.to_dict())


def _incidents(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    incidents = unit.alerting.incidents(system, during=(start, end), limit=MAX_OF_A_KIND + 1)
    for i in reversed(_bounded(incidents, "incidents open in the period")):
        detail = incident_records.detail(unit, i.id)
        detail["timeline"] = timeline(detail)
        gap = None
        if i.serious:
            detail["hold_changes"] = hold_changes(unit.alerting.incident_events(i.id))
            gap = _art73_gap(i, detail["hold_changes"], end)
        yield Found(
            "incident",
            f"incident/{i.id}",
            i.opened_at,
            f"#{i.id} {i.title}",
            detail,
            Stamp(f"incident/{i.id}"),
            gap,
        )


def _art73_gap(
    incident: IncidentRecord, changes: Sequence[Mapping[str, Any]], end: datetime
) -> str | None:
    """What an auditor of a serious incident would hold against it: a report not sent by its
    deadline (Art. 73(2)-(4)), a change under the hold nobody justified (Art. 73(6))."""
    due = incident.report_due
    if due is not None and due < end and (incident.reported_at or end) > due:
        return f"no report was recorded as sent by its deadline {due:%Y-%m-%d %H:%M} UTC (Art. 73)"
    unjustified = [c for c in changes if not c.get("justification")]
    if unjustified:
        return (
            f"{len(unjustified)} change(s) under the evidence hold without a justification "
            "(Art. 73(6))"
        )
    return None


def _knowledge(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    for k in sorted(unit.care.knowledge(system), key=lambda k: k.created_at):
        closed_in = k.closed_at is not None and start <= k.closed_at < end
        if start <= k.created_at < end or closed_in:
            yield Found(
                "knowledge",
                f"{k.kind}/{k.number}",
                k.created_at,
                f"{k.kind.replace('_', ' ')} {k.number}: {k.title}",
                {
                    "kind": k.kind,
                    "number": k.number,
                    "title": k.title,
                    "fields": k.fields,
                    "status": k.status,
                    "created_at": k.created_at.isoformat(),
                    "created_by": k.created_by,
                    "assigned_to": k.assigned_to,
                    "incident_id": k.incident_id,
                    "closed_at": _iso(k.closed_at),
                    "closed_by": k.closed_by,
                },
                Stamp(f"{system}/{k.kind}/{k.number}"),
            )


def _reviews(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    for r in sorted(unit.care.reviews(system), key=lambda r: r.reviewed_at):
        if start <= r.reviewed_at < end:
            yield Found(
                "review",
                f"review/{r.id}",
                r.reviewed_at,
                f"Review by {r.reviewer}: {r.verdict}",
                {
                    "reviewer": r.reviewer,
                    "verdict": r.verdict,
                    "notes": r.notes,
                    "reviewed_at": r.reviewed_at.isoformat(),
                },
                Stamp(f"{system}/review", "review.recorded", r.reviewed_at),
            )


def _care(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    for c in sorted(unit.care.care_entries(system), key=lambda c: c.at):
        if start <= c.at < end:
            yield Found(
                "care",
                f"care/{c.id}",
                c.at,
                f"{c.hours:g} h of {c.kind} by {c.by}",
                {"hours": c.hours, "kind": c.kind, "by": c.by, "note": c.note},
                Stamp(
                    f"{system}/care", "care.logged", c.at, (("hours", c.hours), ("kind", c.kind))
                ),
            )


def _switch(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    """Each flip is its audit entry: the switch keeps only its current state."""
    for e in unit.audit_entries(system=system, since=start):
        if e.action == "switch.changed" and e.at < end:
            after: Mapping[str, Any] = e.after or {}
            yield Found(
                "switch",
                f"switch/v{after.get('version')}",
                e.at,
                f"Switch {after.get('state')} by {e.actor}: {e.reason}",
                {"actor": e.actor, "reason": e.reason, **after},
                Stamp(e.target, e.action, e.at),
            )


def _drills(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    for d in reversed(unit.switch_processes.drills(system, limit=100_000)):
        if start <= d.started_at < end:
            outcome = {True: "passed", False: "failed", None: "unfinished"}[d.passed]
            yield Found(
                "drill",
                f"drill/v{d.version}",
                d.started_at,
                f"Kill-switch drill by {d.started_by}: {outcome}",
                d.to_dict(),
                Stamp(f"{system}/switch", "switch.drill", d.started_at),
            )


def _triage(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    items = _bounded(
        unit.care.triage_items(system, during=(start, end), limit=MAX_OF_A_KIND + 1),
        "triage items queued, reviewed or open in the period",
    )
    reviewed = sorted(
        (i for i in items if i.reviewed_at and start <= i.reviewed_at < end),
        key=lambda i: (i.reviewed_at, i.id),
    )
    queued = [i for i in items if start <= i.queued_at < end]
    rate = reviewed_error_rate([i.verdict or "" for i in reviewed if i.condition == "sample"])
    yield Found(
        "triage",
        "triage",
        end,
        f"Triage: {len(queued)} queued, {len(reviewed)} reviewed in the period",
        {
            "queued": len(queued),
            "reviewed": len(reviewed),
            "open_at_end": sum(1 for i in items if i.queued_at < end and i.status == "open"),
            "verdicts": _count(i.verdict or "none" for i in reviewed),
            "sample_error_rate": rate.to_dict(),
        },
    )
    for i in reviewed:
        assert i.reviewed_at is not None
        yield Found(
            "triage",
            f"triage/{i.id}",
            i.reviewed_at,
            f"Output {i.observation_id} judged {i.verdict} by {i.reviewed_by}",
            {
                "observation_id": i.observation_id,
                "rule": i.rule,
                "reason": i.reason,
                "queued_at": i.queued_at.isoformat(),
                "verdict": i.verdict,
                "label": i.label,
                "note": i.note,
                "reviewed_by": i.reviewed_by,
            },
            Stamp(f"{system}/triage/{i.id}", "triage.verdict"),
        )


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def _evals(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    runs = unit.care.eval_runs(system, limit=MAX_OF_A_KIND + 1, since=start, until=end)
    for r in reversed(_bounded(runs, "eval runs in the period")):
        yield Found(
            "eval",
            f"eval/{r.id}",
            r.started_at,
            f"Eval {r.suite}: pass rate {r.pass_rate:.0%} ({r.trigger})",
            {
                "suite": r.suite,
                "started_at": r.started_at.isoformat(),
                "actor": r.actor,
                "trigger": r.trigger,
                "model_version": r.model_version,
                "dataset_sha256": r.dataset_sha256,
                "pass_rate": r.pass_rate,
                "mean_score": r.mean_score,
            },
            Stamp(f"{system}/eval/{r.suite}", None, r.started_at),
        )


def _rehearsals(unit: Unit, system: str, start: datetime, end: datetime) -> Iterable[Found]:
    for r in reversed(unit.rehearsals.of(system, limit=100_000)):
        if start <= r.rehearsed_at < end:
            verdict = "passed" if r.passed else "failed"
            yield Found(
                "rehearsal",
                f"rehearsal/{r.id}",
                r.rehearsed_at,
                f"Rehearsal of {r.scenario} by {r.rehearsed_by}: {verdict}",
                {k: v for k, v in r.to_dict().items() if k != "report"}
                | {"verdict": r.report.get("verdict"), "missed": r.report.get("missed", [])},
                Stamp(system, "runbook.rehearsed", r.rehearsed_at),
            )
