"""Serious incidents under the EU AI Act (Regulation (EU) 2024/1689): classifying an incident by
Art. 3(49), the report's deadline from awareness (Art. 73(2)-(4)) and its reminders, the report's
draft, initial or complete (Art. 73(5)), its submission, and the evidence hold (Art. 73(6)).

The evidence hold lasts from classification until the incident is resolved AND a report was
recorded as submitted. Art. 73(6) forbids altering the system "in a way which may affect any
subsequent evaluation of the causes of the incident, prior to informing the competent
authorities of such action": while the incident is open its causes are still being evaluated,
and until a report went out the authority has been told nothing; once both are done, a later
change is ordinary operations again. Under the hold, a change to the system — its manifest
applied, its switch restored, a model version its observations had not shown — is recorded on
the incident (`hold.change` events) with its justification, and listed in the report. A change
a person makes is refused without one; a new model version arrives in observations, which
cannot be refused, so it is recorded unjustified and justified afterwards (`hold.justified`).
Taking the system offline is never held back: stopping harm comes first (Art. 14(4)(e)).

The decisions are pure functions over plain data; the rest acts in its caller's unit of work,
each change with its timeline event and audit entry.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.alerting.art73 import BASES, CATEGORIES, Basis, basis_of
from watchkeeper.alerting.incidents import find, held
from watchkeeper.alerting.notifiers import Message
from watchkeeper.alerting.outbox import Notice, Outbox
from watchkeeper.alerting.timeline import timeline
from watchkeeper.errors import ActionError
from watchkeeper.manifest import ROLES, SystemManifest
from watchkeeper.store import IncidentEventRecord, IncidentRecord, Unit, applied_manifest

MAX_JUSTIFICATION = 2000
VERSIONS_LOOKBACK = timedelta(days=30)
VERSIONS_SAMPLE = 500
"""The model versions in service when the hold starts are those of the newest VERSIONS_SAMPLE
observations of the last VERSIONS_LOOKBACK; any other version seen under the hold is a change."""


@dataclass(frozen=True)
class Classification:
    """An incident's Art. 3(49) category, with a death (only under (a)) and a widespread
    infringement (Art. 3(61)), which shorten the deadline."""

    category: str
    death: bool = False
    widespread: bool = False

    @property
    def article(self) -> str:
        return f"Art. 3(49)({self.category})"

    @property
    def basis(self) -> Basis:
        applies = {
            "critical-infrastructure": self.category == "b",
            "widespread": self.widespread,
            "death": self.death,
            "default": True,
        }
        return min((b for b in BASES if applies[b.name]), key=lambda b: b.days)


def classification(
    category: str, *, death: bool = False, widespread: bool = False
) -> Classification:
    """A checked classification: a category of Art. 3(49), and a death only under (a)."""
    key = category.strip().lower()
    if key not in CATEGORIES:
        known = "; ".join(f"{k}: {v}" for k, v in CATEGORIES.items())
        raise ActionError(
            "invalid", f"unknown category {category!r}: one of Art. 3(49)'s — {known}"
        )
    if death and key != "a":
        raise ActionError(
            "invalid",
            f"a death is category (a) of Art. 3(49) ({CATEGORIES['a']}), not ({key}): classify "
            "it as --category a --death",
        )
    return Classification(key, death, widespread)


def awareness(given: datetime | None, recorded: datetime | None, now: datetime) -> datetime:
    """When the provider or deployer became aware (Art. 73(2)): as given, else as recorded at an
    earlier classification, else now. Never in the future; but it may precede the incident's
    opening here — someone may have heard of the harm before any monitor did, and the law counts
    from then (an earlier date only brings the deadline closer, never past the law's)."""
    if given is None:
        return recorded or now
    if given > now:
        raise ActionError(
            "invalid",
            f"aware_at {given.isoformat()} is in the future (now is {now.isoformat()}): it is "
            "when the provider or deployer became aware of the incident (Art. 73(2))",
        )
    return given


def reminder_stage(
    due: datetime, aware: datetime, now: datetime, said: Collection[str]
) -> str | None:
    """Which reminder of a serious-incident report is owed at `now`, given those already `said`
    for this deadline: "due-soon" once within the last fifth of its window (3 days of 15),
    "overdue" once it has passed."""
    if now >= due:
        stage = "overdue"
    elif now >= due - (due - aware) / 5:
        stage = "due-soon"
    else:
        return None
    return None if stage in said else stage


def hold_changes(events: Iterable[IncidentEventRecord]) -> list[dict[str, Any]]:
    """Every change made under an incident's evidence hold, in order, each with its
    justification as it stands: given with the change, or afterwards (`hold.justified`)."""
    events = list(events)
    later = {e.detail["change"]: e for e in events if e.kind == "hold.justified"}
    changes = []
    for event in events:
        if event.kind != "hold.change":
            continue
        detail = event.detail
        justified = later.get(detail["change"])
        given = justified.detail["justification"] if justified else detail["justification"]
        by = justified or event
        changes.append(
            {
                "change": detail["change"],
                "at": event.at.isoformat(),
                "by": event.actor,
                "kind": detail["kind"],
                "what": detail["what"],
                "justification": given,
                "justified_at": by.at.isoformat() if given else None,
                "justified_by": by.actor if given else None,
            }
        )
    return changes


# --- classifying and reminding ------------------------------------------------------------------


def classify(
    unit: Unit,
    incident: IncidentRecord,
    chosen: Classification,
    aware_at: datetime | None,
    actor: str,
    now: datetime,
) -> IncidentRecord:
    """Record the classification, the moment of awareness and the report's deadline; the hold
    starts, knowing the model versions in service now (a later one is a change under it)."""
    aware = awareness(aware_at, incident.aware_at, now)
    basis = chosen.basis
    due = aware + timedelta(days=basis.days)
    incident = unit.alerting.update_incident(
        incident.id,
        serious=True,
        serious_kind=basis.name,
        serious_category=chosen.category,
        serious_death=chosen.death,
        serious_widespread=chosen.widespread,
        aware_at=aware,
        report_due=due,
    )
    said = {
        "category": chosen.category,
        "article": chosen.article,
        "death": chosen.death,
        "widespread": chosen.widespread,
        "basis": basis.name,
        "deadline_article": basis.article,
        "aware_at": aware.isoformat(),
        "report_due": due.isoformat(),
    }
    versions = _versions_in_service(unit, incident.system, now)
    unit.alerting.incident_event(
        incident.id, now, "serious", actor, {**said, "model_versions": versions}
    )
    unit.audit(
        now=now,
        actor=actor,
        action="incident.serious",
        target=f"incident/{incident.id}",
        system=incident.system,
        after=said,
    )
    return incident


def _versions_in_service(unit: Unit, system: str, now: datetime) -> list[str]:
    newest = unit.ingest.observations_newest(
        system, now - VERSIONS_LOOKBACK, now + timedelta(minutes=5), None, VERSIONS_SAMPLE
    )
    return sorted({o.model_version for _, o in newest if o.model_version})


def remind(unit: Unit, incident_id: int, now: datetime, outbox: Outbox) -> None:
    """Remind of a report not yet sent: due soon, to the owner and the kill authorities; overdue,
    to them and to everyone on the escalation path, every level — a missed legal deadline is
    escalated as a page is. Each once per deadline, on the incident's timeline with whom it told.
    A report recorded as submitted met the deadline: no reminder follows."""
    incident = find(unit, incident_id)
    if not (incident.serious and incident.report_due and incident.aware_at):
        return
    if incident.reported_at is not None:
        return
    due = incident.report_due
    said = {
        e.detail.get("stage")
        for e in unit.alerting.incident_events(incident_id)
        if e.kind == "serious.reminder" and e.detail.get("due", due.isoformat()) == due.isoformat()
    }
    stage = reminder_stage(due, incident.aware_at, now, said)
    if stage is None:
        return
    manifest = applied_manifest(unit, incident.system)
    refs = reminded(manifest, everyone=stage == "overdue")
    unit.alerting.incident_event(
        incident_id,
        now,
        "serious.reminder",
        "watchkeeper",
        {"stage": stage, "due": due.isoformat(), "notify": refs},
    )
    basis = basis_of(incident.serious_kind)
    when = "was due" if stage == "overdue" else "is due"
    message = Message(
        "notice",
        incident.system,
        f"Serious-incident report {stage.replace('-', ' ')}: #{incident_id}",
        "critical",
        f"The EU AI Act Art. 73 report on incident #{incident_id} ({incident.title}) {when} "
        f"{due:%Y-%m-%d %H:%M} UTC: {basis.days} days from awareness at "
        f"{incident.aware_at:%Y-%m-%d %H:%M} UTC, for {basis.reason} ({basis.article}). No report "
        f"is recorded as submitted.\n\nDraft it: wk incident report {incident_id}\n"
        f"Once sent: wk incident report {incident_id} --submitted",
        "",
        details={"incident": incident_id, "system": incident.system, "stage": stage},
    )
    outbox.notices.append(Notice(message, refs, incident_id, "serious"))


def reminded(manifest: SystemManifest, *, everyone: bool) -> list[str]:
    """Who hears of a report's deadline: the owner and the kill authorities, and with
    `everyone` each escalation level's people too; in that order, without repeats."""
    charter = manifest.spec.charter
    refs = [charter.owner, *charter.kill_authority]
    if everyone:
        refs += [r for level in manifest.spec.runbook.escalation.levels for r in level.notify]
    return list(dict.fromkeys(r for r in refs if r))


# --- the report ----------------------------------------------------------------------------------


def submitted(
    unit: Unit,
    incident: IncidentRecord,
    complete: bool,
    reference: str | None,
    actor: str,
    now: datetime,
) -> IncidentRecord:
    """Record that a report went to the market surveillance authority (Art. 73(1)): the first
    one, initial or complete, meets the deadline and stops its reminders; a complete one
    (Art. 73(5)) is recorded too. Audited as `incident.report.submitted`."""
    if not incident.serious:
        raise ActionError("conflict", _not_serious(incident))
    changes: dict[str, Any] = {}
    if incident.reported_at is None:
        changes["reported_at"] = now
    if complete and incident.report_complete_at is None:
        changes["report_complete_at"] = now
    if changes:
        incident = unit.alerting.update_incident(incident.id, **changes)
    due = incident.report_due
    detail = {
        "report": "complete" if complete else "initial",
        "reference": reference,
        "report_due": due.isoformat() if due else None,
        "on_time": due is None or now <= due,
    }
    unit.alerting.incident_event(incident.id, now, "report.submitted", actor, detail)
    unit.audit(
        now=now,
        actor=actor,
        action="incident.report.submitted",
        target=f"incident/{incident.id}",
        system=incident.system,
        after=detail,
    )
    return incident


def _not_serious(incident: IncidentRecord) -> str:
    return (
        f"incident #{incident.id} is not classified as a serious incident: classify it first "
        f"with `wk incident serious {incident.id} --category a|b|c|d` (Art. 3(49))"
    )


def report(unit: Unit, incident_id: int, complete: bool, now: datetime) -> dict[str, Any]:
    """The draft of the Art. 73 report the owner sends, initial or complete (Art. 73(5)): the
    system and whom to contact, the classification and its deadline, what happened, what was
    done about it, the changes made under the evidence hold, what was sent already, and what
    the draft cannot say (`gaps`). Its `text` is the same, written out to be sent."""
    incident = find(unit, incident_id)
    if not incident.serious:
        raise ActionError("conflict", _not_serious(incident))
    record = unit.system(incident.system)
    manifest = applied_manifest(unit, incident.system)
    events = unit.alerting.incident_events(incident_id)
    alerts = unit.alerting.incident_alerts(incident_id)
    since = min([a.first_seen for a in alerts] + [incident.opened_at]) - timedelta(days=1)
    fingerprints = {a.fingerprint for a in alerts}
    findings = [
        f.to_dict()
        for f in unit.monitoring.findings(incident.system, since=since, limit=1000)
        if f.fingerprint in fingerprints
    ]
    flips = [
        {"at": e.at.isoformat(), "by": e.actor, "state": (e.after or {}).get("state"),
         "reason": e.reason}
        for e in unit.audit_entries(system=incident.system, since=incident.opened_at)
        if e.action == "switch.changed"
    ]  # fmt: skip
    records = [
        {"kind": k.kind, "number": k.number, "title": k.title, "status": k.status,
         "fields": k.fields, "created_at": k.created_at.isoformat(), "by": k.created_by}
        for k in unit.care.knowledge(incident.system)
        if k.incident_id == incident_id
    ]  # fmt: skip
    alerted = [
        {"fingerprint": a.fingerprint, "rule": a.rule, "severity": a.severity,
         "status": a.status, "summary": a.summary, "first_seen": a.first_seen.isoformat()}
        for a in alerts
    ]  # fmt: skip
    draft = _draft(
        incident,
        manifest,
        record.version if record else None,
        _contacts(unit, manifest),
        events,
        {"alerts": alerted, "findings": findings, "switch": flips, "records": records},
        complete,
        now,
    )
    return {**draft, "text": render(draft)}


def _contacts(unit: Unit, manifest: SystemManifest) -> list[dict[str, Any]]:
    """Whom the authority may ask, from the charter: each role's people with their names."""
    teams = {t.name: t.members for t in unit.teams()}
    charter = manifest.spec.charter
    contacts = []
    for role in ROLES:
        for ref in charter.holders(role):
            for email in teams.get(ref, [ref]):
                person = unit.person(email)
                contacts.append(
                    {
                        "role": role,
                        "team": ref if ref in teams else None,
                        "email": email,
                        "name": person.name if person else "",
                        "active": bool(person and person.active),
                    }
                )
    return contacts


def _draft(
    incident: IncidentRecord,
    manifest: SystemManifest,
    version: int | None,
    contacts: list[dict[str, Any]],
    events: Sequence[IncidentEventRecord],
    found: Mapping[str, list[dict[str, Any]]],
    complete: bool,
    now: datetime,
) -> dict[str, Any]:
    """The report as plain data, from what the store holds about the incident: `found` has
    its `alerts`, their `findings`, the `switch` flips since it opened and the knowledge
    `records` linked to it."""
    basis = basis_of(incident.serious_kind)
    category = incident.serious_category
    changes = hold_changes(events)
    steps = timeline(
        {
            "alerts": found["alerts"],
            "timeline": [
                {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
                for e in events
            ],
        }
    )
    measures = [
        {"at": e.at.isoformat(), "kind": e.kind, "by": e.actor, "detail": e.detail}
        for e in events
        if e.kind in ("playbook", "decision.opened")
    ]
    meta = manifest.metadata
    return {
        "incident": incident.id,
        "report": "complete" if complete else "initial",
        "report_article": "Art. 73(5)" if not complete else "Art. 73(1), 73(5)",
        "drafted_at": now.isoformat(),
        "system": {
            "name": manifest.name,
            "title": meta.title,
            "description": meta.description,
            "tier": meta.tier,
            "eu_ai_act": meta.eu_ai_act,
            "lifecycle": manifest.spec.lifecycle,
            "manifest_version": version,
        },
        "contacts": contacts,
        "classification": {
            "category": category,
            "article": f"Art. 3(49)({category})" if category else None,
            "meaning": CATEGORIES.get(category or ""),
            "death": incident.serious_death,
            "widespread": incident.serious_widespread,
            "deadline_basis": basis.name,
            "deadline_article": basis.article,
            "deadline_days": basis.days,
        },
        "aware_at": incident.aware_at.isoformat() if incident.aware_at else None,
        "report_due": incident.report_due.isoformat() if incident.report_due else None,
        "overdue": bool(
            incident.report_due and incident.reported_at is None and now > incident.report_due
        ),
        "status": incident.status,
        "severity": incident.severity,
        "title": incident.title,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "alerts": found["alerts"],
        "findings": found["findings"],
        "timeline": steps,
        "corrective_measures": {
            "switch": found["switch"],
            "playbooks": measures,
            "records": found["records"],
        },
        "hold": {"article": "Art. 73(6)", "on": held(incident), "changes": changes},
        "submissions": [
            {"at": e.at.isoformat(), "by": e.actor, **e.detail}
            for e in events
            if e.kind == "report.submitted"
        ],
        "gaps": _gaps(incident, manifest, changes, found["records"]),
    }


def _gaps(
    incident: IncidentRecord,
    manifest: SystemManifest,
    changes: Sequence[Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
) -> list[str]:
    """What the draft cannot say yet, each with where it comes from."""
    gaps = [
        "the provider's or deployer's legal name and address, and the Member State(s) where "
        "the incident occurred (Art. 73(1)), are not kept by Watchkeeper: add them"
    ]
    if manifest.metadata.eu_ai_act != "high-risk":
        marked = manifest.metadata.eu_ai_act or "not marked"
        gaps.append(
            f"the manifest does not mark the system high-risk (metadata.eu_ai_act: {marked}); "
            "Art. 73(1) binds providers of high-risk AI systems"
        )
    if incident.serious_category is None:
        gaps.append(
            f"no Art. 3(49) category is recorded: `wk incident serious {incident.id} "
            "--category a|b|c|d`"
        )
    if incident.status != "resolved":
        gaps.append("the incident is still open: a complete report tells how it ended")
    if not any(r["kind"] == "postmortem" for r in records):
        gaps.append(
            "no postmortem records the cause and the corrective action (the investigation and "
            f"risk assessment of Art. 73(6)): `wk postmortem {incident.id}`"
        )
    gaps += [
        f"change #{c['change']} under the evidence hold has no justification: "
        f"`wk incident justify {incident.id} {c['change']} --text ...` (Art. 73(6))"
        for c in changes
        if not c["justification"]
    ]
    return gaps


def render(draft: Mapping[str, Any]) -> str:
    """The draft written out, to be read and sent as it is."""
    c = draft["classification"]
    s = draft["system"]
    kind = draft["report"]
    lines = [
        f"# Serious incident report ({kind}, EU AI Act {draft['report_article']})",
        f"Incident #{draft['incident']}: {draft['title']}  ",
        f"Drafted {draft['drafted_at']}",
        "",
        "## The AI system",
        f"- {s['name']}" + (f" — {s['title']}" if s["title"] else ""),
    ]
    if s["description"]:
        lines.append(f"- {s['description']}")
    lines += [
        f"- EU AI Act class: {s['eu_ai_act'] or 'not marked'}; lifecycle {s['lifecycle']}; "
        f"manifest version {s['manifest_version']}",
        "",
        "## Contacts (from the system's charter)",
    ]
    lines += [
        f"- {p['role']}: {p['name'] or p['email']} <{p['email']}>"
        + (f" (team {p['team']})" if p["team"] else "")
        + ("" if p["active"] else " — inactive")
        for p in draft["contacts"]
    ] or ["- none named"]
    category = f"{c['article']}: {c['meaning']}" if c["category"] else "not recorded"
    lines += ["", "## Classification", f"- Category {category}"]
    if c["death"]:
        lines.append("- The incident led to the death of a person (Art. 73(4))")
    if c["widespread"]:
        lines.append("- A widespread infringement (Art. 3(61); Art. 73(3))")
    lines += [
        f"- Aware since {draft['aware_at']}; report due {draft['report_due']}: "
        f"{c['deadline_days']} days from awareness ({c['deadline_article']})"
        + (" — OVERDUE" if draft["overdue"] else ""),
        "",
        "## What happened",
        f"- Opened {draft['opened_at']} ({draft['severity']}); now {draft['status']}"
        + (f", resolved {draft['resolved_at']}" if draft["resolved_at"] else ""),
    ]
    lines += [f"- Alert {a['rule']} [{a['severity']}]: {a['summary']}" for a in draft["alerts"]]
    lines += [f"- Finding {f['created_at']}: {f['summary']}" for f in draft["findings"][:20]]
    lines += ["", "### Timeline"]
    lines += [f"- {e['at']} {e['text']}" for e in draft["timeline"]]
    measures = draft["corrective_measures"]
    lines += ["", "## Corrective measures"]
    lines += [
        f"- {f['at']} switch {f['state']} by {f['by']}: {f['reason']}" for f in measures["switch"]
    ]
    lines += [
        f"- {m['at']} {m['kind']} ({m['by']}): {m['detail'].get('summary', '')}".rstrip(": ")
        for m in measures["playbooks"]
    ]
    lines += [
        f"- {r['kind']} #{r['number']} {r['title']} ({r['status']})" for r in measures["records"]
    ]
    if not (measures["switch"] or measures["playbooks"] or measures["records"]):
        lines.append("- none recorded")
    hold = draft["hold"]
    lines += ["", f"## Changes to the system under the evidence hold ({hold['article']})"]
    lines += [
        f"- #{h['change']} {h['at']} {h['what']} ({h['by']}): "
        + (f"justified: {h['justification']}" if h["justification"] else "NOT JUSTIFIED")
        for h in hold["changes"]
    ] or ["- none"]
    lines.append(f"- The hold is {'on' if hold['on'] else 'lifted'}")
    lines += ["", "## Reports submitted"]
    lines += [
        f"- {r['at']} {r['report']} report by {r['by']}"
        + (f", reference {r['reference']}" if r["reference"] else "")
        + ("" if r["on_time"] else " (after the deadline)")
        for r in draft["submissions"]
    ] or ["- none yet"]
    heading = "To complete before sending" if kind == "complete" else "To follow"
    lines += ["", f"## {heading}"] + [f"- {g}" for g in draft["gaps"]]
    return "\n".join(lines) + "\n"


# --- the evidence hold ---------------------------------------------------------------------------


def change_under_hold(
    unit: Unit,
    system: str,
    kind: str,
    what: str,
    justification: str | None,
    actor: str,
    now: datetime,
) -> list[int]:
    """A change a person makes to `system` (`kind`: apply or restore): under a hold, refused
    without a justification, else recorded on every incident holding it. Returns the changes'
    numbers (none when nothing holds the system)."""
    holding = unit.alerting.held_incidents(system)
    if not holding:
        return []
    text = _justification(justification)
    if text is None:
        numbers = ", ".join(f"#{i.id}" for i in holding)
        raise ActionError(
            "conflict",
            f"{system} is under the evidence hold of serious incident {numbers} (EU AI Act "
            f"Art. 73(6)): {what} needs a recorded justification — give --justification TEXT "
            "(API: `justification`); it is listed in the incident's report",
        )
    return [_record(unit, i, kind, what, text, actor, now) for i in holding]


def model_versions_seen(unit: Unit, system: str, versions: Collection[str], now: datetime) -> int:
    """Observations showed `versions`: each one that an incident holding the system did not
    know is a change under its hold that nobody could refuse, recorded unjustified (the
    ingest that saw it may not refuse data). Returns how many were recorded."""
    recorded = 0
    for incident in unit.alerting.held_incidents(system) if versions else []:
        events = unit.alerting.incident_events(incident.id)
        for version in sorted(set(versions) - known_versions(events)):
            what = f"new model version {version!r} seen in observations"
            _record(unit, incident, "model_version", what, None, "watchkeeper", now,
                    model_version=version)  # fmt: skip
            recorded += 1
    return recorded


def known_versions(events: Iterable[IncidentEventRecord]) -> set[str]:
    """The model versions an incident's hold knows: those in service when it was classified,
    and those recorded as changes since."""
    known: set[str] = set()
    for event in events:
        if event.kind == "serious":
            known.update(event.detail.get("model_versions", []))
        elif event.kind == "hold.change" and event.detail["kind"] == "model_version":
            known.add(event.detail["model_version"])
    return known


def _justification(text: str | None) -> str | None:
    text = (text or "").strip()
    if len(text) > MAX_JUSTIFICATION:
        raise ActionError(
            "invalid", f"the justification is {len(text)} characters; at most {MAX_JUSTIFICATION}"
        )
    return text or None


def _record(
    unit: Unit,
    incident: IncidentRecord,
    kind: str,
    what: str,
    justification: str | None,
    actor: str,
    now: datetime,
    **facts: Any,
) -> int:
    detail = {"kind": kind, "what": what, "justification": justification, **facts}
    number = unit.alerting.numbered_event(
        incident.id, now, "hold.change", actor, detail, number_as="change"
    )
    unit.audit(
        now=now,
        actor=actor,
        action="incident.hold.change",
        target=f"incident/{incident.id}",
        system=incident.system,
        after={"change": number, **detail},
        reason=justification,
    )
    return number


def justify(
    unit: Unit, incident: IncidentRecord, change: int, text: str, actor: str, now: datetime
) -> dict[str, Any]:
    """Justify afterwards a change recorded without one (a new model version): once, kept as
    given. Audited as `incident.hold.justified`; returns the change as it now stands."""
    justification = _justification(text)
    if justification is None:
        raise ActionError("invalid", "a justification says why the change was made: give --text")
    changes = {c["change"]: c for c in hold_changes(unit.alerting.incident_events(incident.id))}
    if change not in changes:
        listed = ", ".join(f"#{n}" for n in changes) or "none"
        raise ActionError(
            "not_found",
            f"incident #{incident.id} has no change #{change} under its evidence hold (its "
            f"changes: {listed}; see `wk incident report {incident.id}`)",
        )
    if changes[change]["justification"]:
        raise ActionError(
            "conflict",
            f"change #{change} of incident #{incident.id} is justified already, by "
            f"{changes[change]['justified_by']}: a justification is kept as given",
        )
    detail = {"change": change, "justification": justification}
    unit.alerting.incident_event(incident.id, now, "hold.justified", actor, detail)
    unit.audit(
        now=now,
        actor=actor,
        action="incident.hold.justified",
        target=f"incident/{incident.id}",
        system=incident.system,
        after=detail,
        reason=justification,
    )
    return {**changes[change], "justification": justification, "justified_at": now.isoformat(),
            "justified_by": actor}  # fmt: skip
