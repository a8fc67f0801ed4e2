"""What each page shows, gathered as the signed-in person would get it from the API.

Reads go through `Operations` (the object the API and the CLI act through) wherever it offers
them; the rest comes from the services' own functions — `may` and `holding_roles` for which
buttons to show, the charter's `vacuum_report` and `system_vacuum` for scores — on one store
read. The dashboard never decides anything the rest of Watchkeeper would decide differently; it
only arranges it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from watchkeeper.access import Action, Directory, directory_of, holding_roles, may
from watchkeeper.alerting.timeline import timeline
from watchkeeper.app import Operations
from watchkeeper.care.report import Series, bounds_text, estimate_series, signal_chart
from watchkeeper.charter import system_vacuum, vacuum_report
from watchkeeper.charter.ledger import CareEntry, by_month
from watchkeeper.charter.roles import Assignment, assignments
from watchkeeper.charter.service import read_applied
from watchkeeper.errors import ActionError
from watchkeeper.manifest import ROLES, SystemManifest
from watchkeeper.monitor.engine import baseline_period
from watchkeeper.monitor.rollup import rollup, span, told
from watchkeeper.store import SystemRecord, Unit, manifest_of
from watchkeeper.switch import state_of

CHART_SPAN = timedelta(days=180)
ESTIMATES_READ = 400  # an estimated metric's newest windows drawn: the most the API gives
ESTIMATES_LISTED = 12  # of them, the newest as a table beside the chart
KNOWLEDGE_KINDS = {
    "decision": "Decisions",
    "failure_mode": "Failure modes",
    "near_miss": "Near-misses",
    "postmortem": "Postmortems",
}
DRIFT_CHECKS = frozenset({"drift", "contract"})
FINDINGS_READ = 500  # rolled up into far fewer rows: one per cause per run of windows
INCIDENTS_SHOWN = 10
DRILLS_SHOWN = 10
TRIAGE_PAGE = 10  # items a page, the most urgent first: each carries its output and a form
OBSERVATIONS_PAGE = 25
WHERE_LIMIT = 1000  # characters, as the API's `where`


def portfolio(ops: Operations) -> dict[str, Any]:
    """Every system with its people, vacuum score and gaps, switch, incidents, review, care.

    Open incidents come through `Operations`; everything else from one store read whose number
    of queries does not grow with the portfolio (issue 9: 200 systems in under 300 ms). Each
    manifest is validated once and handed to the charter's `vacuum_report` — the report
    `wk vacuum` prints — rather than the service validating it again in a read of its own.
    Reviews and care are judged by its checks, so their words come from there; the rest — who
    holds which role and whether they acknowledged (the same `assignments` `wk status` shows),
    the switch, this month's care hours — is read for all systems at once. A system whose
    stored manifest this code no longer reads shows with its critical gap, never as an error
    page for the whole portfolio.
    """
    now = ops.now
    incidents: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for incident in ops.incidents(open_only=True):
        incidents[incident["system"]].append(incident)
    rows = []
    with ops.app.store.read() as unit:
        directory = directory_of(unit)
        applied, unreadable = read_applied(unit.systems())
        report = vacuum_report(unit, applied, directory, now, unreadable)
        scores = {v.system: v.to_dict() for v in report}
        names = [record.name for record, _ in applied]
        switches = {s.system: s for s in unit.switches()}
        acks = unit.acks_by_system(names)
        care = {
            name: [CareEntry(e.at, e.hours, e.kind, e.by) for e in entries]
            for name, entries in unit.care.care_entries_by_system(
                names, since=_month_start(now)
            ).items()
        }

        def row(
            record: SystemRecord,
            title: str | None,
            tier: str,
            lifecycle: str,
            held: list[Assignment],
        ) -> dict[str, Any]:
            score = scores.get(record.name)
            return {
                "system": record.name,
                "title": title,
                "tier": tier,
                "lifecycle": lifecycle,
                "roles": _roles([a.to_dict() for a in held], directory),
                "vacuum": score,
                "switch": state_of(record, switches.get(record.name)).state,
                "incidents": incidents.get(record.name, []),
                "review": _check(score, "review.on_time"),
            }

        for record, manifest in applied:
            held = assignments(manifest.spec.charter, directory, acks[record.name], now)
            budget = manifest.spec.care.hours_per_month if manifest.spec.care else 0.0
            meta = manifest.metadata
            rows.append(
                row(record, meta.title, meta.tier, manifest.spec.lifecycle, held)
                | {
                    "care": {
                        "budget": budget,
                        "given": _given_this_month(care[record.name], budget, now),
                        "check": _check(scores.get(record.name), "care.budget_used"),
                    }
                }
            )
        for broken in unreadable:  # no roles: the charter naming them does not validate
            rows.append(
                row(broken.record, broken.title, broken.tier, broken.lifecycle, [])
                | {"care": {"budget": 0.0, "given": 0.0, "check": None}}
            )
    rows.sort(key=_attention)
    return {
        "systems": rows,
        "counts": {
            "systems": len(rows),
            "critical": sum(1 for r in rows if r["vacuum"] and r["vacuum"]["critical"]),
            "incidents": sum(len(r["incidents"]) for r in rows),
            "disabled": sum(1 for r in rows if r["switch"] == "disabled"),
        },
    }


def _month_start(now: datetime) -> datetime:
    """Care months are UTC calendar months, so only entries from here on count this month."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _given_this_month(entries: list[CareEntry], budget: float, now: datetime) -> float:
    if not budget:
        return 0.0
    [month] = by_month(entries, budget, now, now)
    return month.given


def _attention(row: dict[str, Any]) -> tuple[int, int, int, str]:
    """Worst first: critical gaps, then open incidents, then the lowest score."""
    score = row["vacuum"]
    return (
        0 if score and score["critical"] else 1,
        0 if row["incidents"] else 1,
        score["score"] if score else 101,
        row["system"],
    )


def _check(score: dict[str, Any] | None, check_id: str) -> dict[str, Any] | None:
    if score is None:
        return None
    return next((c for c in score["checks"] if c["id"] == check_id), None)


def _roles(held: list[dict[str, Any]], directory: Directory) -> list[dict[str, Any]]:
    """Assignments in charter order, each with the holder's name when the directory knows it;
    a role nobody is named for appears as a vacancy rather than disappearing."""
    named = {a["role"] for a in held}
    rows = [{**a, "name": _name(directory, a["holder"])} for a in held]
    unnamed = dict.fromkeys(("acked_at", "acked_by", "expires_at", "holder", "name"))
    rows += [
        {**unnamed, "role": role, "active": False, "ack": "vacant"}
        for role in ROLES
        if role not in named
    ]
    order = {role: i for i, role in enumerate(ROLES)}
    return sorted(rows, key=lambda r: order[r["role"]])


def _name(directory: Directory, ref: str) -> str:
    person = directory.people.get(ref)
    return person.name if person and person.name else ref


def system_page(ops: Operations, name: str, triage_page: int = 1) -> dict[str, Any]:
    """One system, everything about it, and which actions the signed-in person may take; the
    triage queue a page at a time (a page past the end shows the last)."""
    status = ops.status(name)[0]
    now = ops.now
    estimated = {
        listed["signal"]: listed["windows"]
        for listed in ops.signals(name, limit=ESTIMATES_READ)
        if listed["metric"] is not None
    }
    with ops.app.store.read() as unit:
        record = unit.system(name)
        assert record is not None
        manifest = manifest_of(record)
        directory = directory_of(unit)
        report = system_vacuum(unit, record, manifest, directory, now)
        charts = _charts(unit, manifest, now, estimated)
        reviews = [
            {"at": r.reviewed_at, "by": r.reviewer, "verdict": r.verdict, "notes": r.notes}
            for r in reversed(unit.care.reviews(name))
        ]
        history = [e for e in unit.audit_entries(system=name) if e.action == "switch.changed"]
    switch = ops.app.switch.state(name)
    vacuum = report.to_dict() if report else None
    flip: Action = "switch.disable" if switch.state == "enabled" else "switch.enable"
    authority = may(ops.actor, flip, manifest, directory)
    mine = set(holding_roles(manifest.spec.charter, directory, ops.actor))
    findings = [
        {**row, "span": span(row), "what": told(row)}
        for row in rollup(ops.findings(name, limit=FINDINGS_READ))
    ]
    calibration = ops.check(name)
    incidents = [_incident(ops, i["id"]) for i in ops.incidents(name)[:INCIDENTS_SHOWN]]
    # ties (a batch flagged at once) ordered by id, so no item is on two pages or on none
    queue = sorted(ops.triage_queue(name), key=lambda i: (-i["priority"], i["queued_at"], i["id"]))
    knowledge: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KNOWLEDGE_KINDS}
    for entry in ops.knowledge(name):
        knowledge.setdefault(entry["kind"], []).append(entry)
    return {
        "status": status,
        "manifest": manifest,
        "roles": _roles(status["assignments"], directory),
        "mine": mine,
        "vacuum": vacuum,
        "charts": charts,
        "calibration": calibration,
        "drift": [f for f in findings if f["check"] in DRIFT_CHECKS],
        "findings": [f for f in findings if f["check"] not in DRIFT_CHECKS],
        "incidents": incidents,
        "triage": paginate(queue, triage_page, TRIAGE_PAGE),
        "knowledge": knowledge,
        "knowledge_kinds": KNOWLEDGE_KINDS,
        "reviews": reviews,
        "care": ops.care_ledger(name),
        "switch": switch,
        "confirmation": ops.switch_confirmations(name),
        "drills": ops.switch_drills(name, DRILLS_SHOWN),
        "drill_every": manifest.spec.kill_switch.drill_every,
        "drill_check": _check(vacuum, "switch.drilled"),
        "rehearsal": next(iter(ops.rehearsals(name, limit=1)), None),
        "rehearsal_check": _check(vacuum, "runbook.rehearsed"),
        "rehearse_every": manifest.spec.runbook.rehearse_every,
        "switch_history": [
            {
                "at": e.at,
                "actor": e.actor,
                "state": (e.after or {}).get("state"),
                "automatic": bool((e.after or {}).get("automatic")),
                "reason": e.reason,
            }
            for e in reversed(history)
        ],
        "may_flip": authority.allowed,
        "flip_reason": authority.reason,
        "flip_to": "disabled" if switch.state == "enabled" else "enabled",
    }


def _charts(
    unit: Unit,
    manifest: SystemManifest,
    now: datetime,
    estimated: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Each runbook signal over the last `CHART_SPAN`, with healthy bounds and the baseline;
    an estimated metric (its windows in `estimated`, as `Operations.signals` lists them) also
    with its interval and the metric the labels realized, where they have come."""
    name = manifest.name
    runbook = manifest.spec.runbook
    period = baseline_period(manifest, _first_data(unit, name))
    start = now - CHART_SPAN
    charts = []
    for signal in runbook.signals:
        series = unit.monitoring.signal_series(name, signal)
        bound = runbook.healthy.get(signal)
        baseline = None
        if period is not None and now >= period[1]:
            within = [
                v
                for s, e, v, n in series
                if s >= period[0] and e <= period[1] and v is not None and n
            ]
            baseline = sum(within) / len(within) if within else None
        shown = [(s, v) for s, _, v, _ in series if s >= start]
        first = shown[0][0] if shown else start
        low, high = (bound.min, bound.max) if bound else (None, None)
        windows = [
            w
            for w in estimated.get(signal, [])
            if datetime.fromisoformat(w["window_start"]) >= start
        ]
        data = (
            estimate_series(signal, windows, low, high, baseline, first, now)
            if signal in estimated
            else Series(signal, shown, low, high, baseline, first, now)
        )
        values = [v for _, v in shown if v is not None]
        charts.append(
            {
                "name": signal,
                "svg": Markup(signal_chart(data)),
                "metric": runbook.signals[signal].metric,
                "estimates": windows[-ESTIMATES_LISTED:],
                "latest": values[-1] if values else None,
                "healthy": bounds_text(data.low, data.high),
                "bounded": bound is not None,
                "baseline": baseline,
                "outside": bool(values) and data.outside(values[-1]),
                "recent": [(s, v, v is not None and data.outside(v)) for s, v in shown[-12:]],
            }
        )
    return charts


def _first_data(unit: Unit, system: str) -> datetime | None:
    """When the system's data began — observations or eval runs, whichever came first — which is
    where the monitor starts a `first: 14d` baseline."""
    firsts = [unit.ingest.first_observation_at(system)]
    runs = unit.care.eval_runs(system, limit=1_000_000)
    if runs:
        firsts.append(runs[-1].started_at)
    found = [f for f in firsts if f is not None]
    return min(found) if found else None


def incident_page(ops: Operations, incident_id: int) -> dict[str, Any]:
    return {"incident": _incident(ops, incident_id)}


def _incident(ops: Operations, incident_id: int) -> dict[str, Any]:
    """The incident with its alerts and deliveries, its timeline told in words."""
    detail = ops.incident(incident_id)
    return {**detail, "timeline": timeline(detail)}


def paginate(rows: list[dict[str, Any]], number: int, size: int) -> dict[str, Any]:
    """One page of `rows`, with what the page's links and its "11–20 of 45" need."""
    pages = max(1, -(-len(rows) // size))
    number = min(number, pages)
    start = (number - 1) * size
    shown = rows[start : start + size]
    return {
        "shown": shown,
        "page": number,
        "pages": pages,
        "total": len(rows),
        "first": start + 1 if shown else 0,
        "last": start + len(shown),
    }


def page_number(text: str | None, what: str) -> int:
    """`?triage_page=2`: absent is the first page; anything but a whole number from 1 is
    refused with the parameter named."""
    if text is None or text == "":
        return 1
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise ActionError("invalid", f"{what} must be a page number from 1, not {text!r}")
    return int(text)


def observations_page(
    ops: Operations, name: str, *, where: str, since: str, after: str
) -> dict[str, Any]:
    """What the system saw, newest first, filtered by `where`, a page at a time (the explorer's
    cursor). A bad filter, date or cursor is an `error` shown above the form the person can
    correct, never an error page without it."""
    status = ops.status(name)[0]
    query = {"where": where.strip(), "since": since.strip()}
    following = {k: v for k, v in query.items() if v}
    data: dict[str, Any] = {
        "status": status,
        "query": query,
        "after": after,
        "newest": urlencode(following),
        "observations": [],
        "scanned": 0,
        "next": None,
        "error": None,
        "limit": OBSERVATIONS_PAGE,
    }
    try:
        if len(query["where"]) > WHERE_LIMIT:
            raise ActionError("invalid", f"where: longer than {WHERE_LIMIT} characters")
        found = ops.observations(
            name,
            since=_since(query["since"]),
            where=query["where"] or None,
            limit=OBSERVATIONS_PAGE,
            after=after or None,
        )
    except ActionError as exc:
        if exc.kind != "invalid":
            raise
        return data | {"error": exc.message}
    return data | {
        "observations": found["observations"],
        "scanned": found["scanned"],
        "next": urlencode(following | {"after": found["next"]}) if found["next"] else None,
    }


def _since(text: str) -> datetime | None:
    """A date (`2026-03-01`, midnight UTC) or an ISO instant; one without a zone is UTC."""
    if not text:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ActionError(
            "invalid",
            f"since: {text!r} is not a date or time (write 2026-03-01 or 2026-03-01T14:00)",
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def parse_id(text: str, what: str) -> int:
    """Ids in URLs and forms; a bad one is a 404 page rather than a validation error."""
    if not text.isdigit() or len(text) > 18:
        raise ActionError("not_found", f"no {what} {text!r}")
    return int(text)
