"""Incidents as people act on them and read them: acknowledging, resolving, the page that asks
for help, and re-opening one whose cause came back (a notice, not a page). Serious incidents
under the EU AI Act are `serious`'s.

Each change is made in the unit of work its caller opened, with its timeline event and audit
entry in the same transaction, and hands back the incident as it now stands; what it would tell
people goes to the caller's outbox. Who may act
on an incident is decided before these are called (`access.may`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from watchkeeper.alerting.art73 import basis_of
from watchkeeper.alerting.notifiers import Message
from watchkeeper.alerting.outbox import Notice, Outbox
from watchkeeper.errors import ActionError
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import AlertRecord, IncidentRecord, Unit


def find(unit: Unit, incident_id: int) -> IncidentRecord:
    incident = unit.alerting.incident(incident_id)
    if incident is None:
        raise ActionError("not_found", f"no incident #{incident_id}")
    return incident


def incident_dict(incident: IncidentRecord) -> dict[str, Any]:
    basis = basis_of(incident.serious_kind)
    return {
        "id": incident.id,
        "system": incident.system,
        "status": incident.status,
        "severity": incident.severity,
        "title": incident.title,
        "opened_at": incident.opened_at.isoformat(),
        "acknowledged_at": incident.acknowledged_at.isoformat()
        if incident.acknowledged_at
        else None,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "resolved_by": incident.resolved_by,
        "serious": incident.serious,
        "serious_category": incident.serious_category,
        "serious_death": incident.serious_death,
        "serious_widespread": incident.serious_widespread,
        "serious_kind": incident.serious_kind,
        "deadline_article": basis.article if incident.serious else None,
        "deadline_days": basis.days if incident.serious else None,
        "aware_at": _instant(incident.aware_at),
        "report_due": _instant(incident.report_due),
        "reported_at": _instant(incident.reported_at),
        "report_complete_at": _instant(incident.report_complete_at),
        "hold": held(incident),
        "reopened": incident.reopened,
    }


def held(incident: IncidentRecord) -> bool:
    """Whether a serious incident's evidence hold (EU AI Act Art. 73(6)) is on: until it is both
    resolved and reported (why: see `serious`)."""
    return incident.serious and not (
        incident.status == "resolved" and incident.reported_at is not None
    )


def _instant(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def detail(unit: Unit, incident_id: int) -> dict[str, Any]:
    """The incident with its alerts, its timeline and every delivery attempt."""
    incident = find(unit, incident_id)
    return {
        **incident_dict(incident),
        "alerts": [
            {
                "fingerprint": a.fingerprint,
                "rule": a.rule,
                "severity": a.severity,
                "status": a.status,
                "summary": a.summary,
                "first_seen": a.first_seen.isoformat(),
            }
            for a in unit.alerting.incident_alerts(incident_id)
        ],
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in unit.alerting.incident_events(incident_id)
        ],
        "deliveries": [
            {
                "at": d.at.isoformat(),
                "purpose": d.purpose,
                "event": d.event,
                "recipient": d.recipient,
                "channel": d.channel,
                "status": d.status,
                "detail": d.detail,
            }
            for d in unit.alerting.deliveries(incident_id=incident_id)
        ],
    }


def dedup_key(incident: IncidentRecord) -> str:
    """One key for every message about an incident, so PagerDuty treats them as one."""
    return f"watchkeeper/{incident.system}/incident/{incident.id}"


def page(
    manifest: SystemManifest, incident: IncidentRecord, alerts: Sequence[AlertRecord]
) -> Message:
    """What an escalation step sends: the firing alerts and their playbooks' steps."""
    runbook = manifest.spec.runbook
    lines = [f"- [{a.severity}] {a.summary}" for a in alerts if a.status == "firing"]
    rules = {a.rule for a in alerts}
    for name in sorted({r.playbook for r in runbook.alerts if r.playbook and r.name in rules}):
        book = runbook.playbooks[name]
        lines.append(f"\nPlaybook {name}: {book.summary}")
        lines += [f"  {n}. {step}" for n, step in enumerate(book.steps, 1)]
    lines.append(f"\nAcknowledge: wk incident ack {incident.id}")
    return Message(
        "trigger",
        manifest.name,
        incident.title,
        incident.severity,
        "\n".join(lines),
        "",
        dedup_key=dedup_key(incident),
        details={"incident": incident.id, "system": manifest.name},
    )


def _paged(unit: Unit, incident_id: int) -> list[str]:
    """Everyone a page of the incident went to: they hear how it ends."""
    return sorted(
        {
            d.recipient
            for d in unit.alerting.deliveries(incident_id=incident_id)
            if d.purpose == "page"
        }
    )


def acknowledge(
    unit: Unit,
    incident: IncidentRecord,
    actor: str,
    now: datetime,
    outbox: Outbox,
    via: str | None = None,
) -> IncidentRecord:
    """Stop the escalation of a triggered incident (acknowledging twice changes nothing).
    `via`: the tool it was done in (`slack`, `pagerduty`), told on the timeline."""
    if incident.status != "triggered":
        return incident
    incident = unit.alerting.update_incident(
        incident.id, status="acknowledged", acknowledged_at=now, acknowledged_by=actor
    )
    unit.alerting.incident_event(incident.id, now, "acknowledged", actor, _via(via))
    unit.audit(
        now=now,
        actor=actor,
        action="incident.acknowledged",
        target=f"incident/{incident.id}",
        system=incident.system,
    )
    _tell_paged(unit, incident, "acknowledge", f"Acknowledged by {actor}", "ack", outbox)
    return incident


def resolve(
    unit: Unit,
    incident: IncidentRecord,
    actor: str,
    now: datetime,
    reason: str,
    outbox: Outbox,
    via: str | None = None,
) -> IncidentRecord:
    """Resolve by hand (resolving a resolved incident changes nothing)."""
    if incident.status == "resolved":
        return incident
    incident = close(unit, incident, actor, now, reason or "resolved by hand", outbox, via)
    unit.audit(
        now=now,
        actor=actor,
        action="incident.resolved",
        target=f"incident/{incident.id}",
        system=incident.system,
        reason=reason,
    )
    return incident


def close(
    unit: Unit,
    incident: IncidentRecord,
    actor: str,
    now: datetime,
    reason: str,
    outbox: Outbox,
    via: str | None = None,
) -> IncidentRecord:
    """Resolve the incident and all its alerts, and tell everyone it paged."""
    incident = unit.alerting.update_incident(
        incident.id, status="resolved", resolved_at=now, resolved_by=actor
    )
    detail = {"reason": reason, **_via(via)}
    unit.alerting.incident_event(incident.id, now, "resolved", actor, detail)
    unit.alerting.resolve_alerts(incident.id)
    _tell_paged(unit, incident, "resolve", f"Resolved by {actor}: {reason}", "resolve", outbox)
    return incident


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}


def reopen(
    unit: Unit,
    incident: IncidentRecord,
    status: Literal["triggered", "acknowledged"],
    paused: timedelta,
    alert: str,
    why: str,
    now: datetime,
    outbox: Outbox,
) -> IncidentRecord:
    """Re-open a resolved incident whose cause came back (`lifecycle.IncidentReopened` decided
    how). Old news is not paged anew: everyone it paged, and whoever acknowledged it, hear that
    it is back and why, in a notice. Its escalation goes on from where it stood: the steps
    taken stay taken, and the path's clock moves on by the `paused` time it spent resolved."""
    incident = unit.alerting.update_incident(
        incident.id,
        status=status,
        resolved_at=None,
        resolved_by=None,
        escalation_from=incident.escalation_from + paused,
        reopened=incident.reopened + 1,
    )
    unit.alerting.incident_event(
        incident.id, now, "reopened", "watchkeeper", {"alert": alert, "reason": why}
    )
    ack = f" Acknowledge: wk incident ack {incident.id}" if status == "triggered" else ""
    _tell_paged(
        unit, incident, "notice",
        f"Incident #{incident.id} re-opened: {why}.\n\nThis is not a new page.{ack}", "reopen",
        outbox, title=f"Re-opened: {incident.title}", also=incident.acknowledged_by,
        details={"incident": incident.id, "system": incident.system},
    )  # fmt: skip
    return incident


def _tell_paged(
    unit: Unit,
    incident: IncidentRecord,
    event: Literal["acknowledge", "resolve", "notice"],
    text: str,
    purpose: str,
    outbox: Outbox,
    *,
    title: str | None = None,
    also: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Everyone the incident paged (and `also`, e.g. its acknowledger) hears what became of it,
    once this unit commits (the outbox sends after the transaction)."""
    message = Message(
        event,
        incident.system,
        title or incident.title,
        incident.severity,
        text,
        "",
        dedup_key=dedup_key(incident),
        details=details or {},
    )
    told = sorted({*_paged(unit, incident.id), *filter(None, [also])})
    outbox.notices.append(Notice(message, told, incident.id, purpose))
