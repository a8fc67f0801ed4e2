"""What the runbook sets off when an alert joins an incident: the playbook's steps on the
incident's timeline, taking the system offline when the playbook is pre-authorised to, telling an
upstream's contact that its contract broke (unless the playbook opts out), and opening the
retrain-or-replace decision for the retraining decider.

Changes are made in the caller's unit of work; messages and the switch flip go to its outbox, so
they happen only once the unit commits.
"""

from __future__ import annotations

import json
from datetime import datetime

from watchkeeper.alerting.notifiers import Message
from watchkeeper.alerting.outbox import Disable, Notice, Outbox
from watchkeeper.manifest import SystemManifest, Upstream
from watchkeeper.store import AlertRecord, Unit


def run(
    unit: Unit,
    manifest: SystemManifest,
    alert: AlertRecord,
    incident_id: int,
    now: datetime,
    outbox: Outbox,
) -> None:
    """Run the playbook of the alert's rule, if it names one, for the incident it joined. A
    contract break is told upstream whatever the playbook, unless it opts out: the fix starts
    where the data comes from, and nobody should need an undocumented key for that."""
    rule = next((r for r in manifest.spec.runbook.alerts if r.name == alert.rule), None)
    playbook = (
        manifest.spec.runbook.playbooks.get(rule.playbook) if rule and rule.playbook else None
    )
    upstream = next(
        (u for u in manifest.spec.upstream if u.name == alert.evidence.get("upstream")), None
    )  # None too when the manifest no longer names the upstream the alert was about
    if upstream is not None and (playbook is None or playbook.notify_upstream):
        outbox.notices.append(_upstream_notice(manifest, upstream, alert, incident_id))
    if rule is None or rule.playbook is None or playbook is None:
        return
    if playbook.auto_disable:
        outbox.disable.append(
            Disable(manifest.name, rule.playbook, f"{alert.rule}: {alert.summary}")
        )
    if playbook.open_decision and not any(
        k.incident_id == incident_id and k.status == "pending"
        for k in unit.care.knowledge(manifest.name, "decision")
    ):
        _open_decision(unit, manifest, alert, incident_id, playbook.open_decision, now, outbox)
    unit.alerting.incident_event(
        incident_id,
        now,
        "playbook",
        f"playbook:{rule.playbook}",
        {"summary": playbook.summary, "steps": playbook.steps},
    )


def _upstream_notice(
    manifest: SystemManifest, upstream: Upstream, alert: AlertRecord, incident_id: int
) -> Notice:
    """The contact of the upstream whose contract broke, and the system's data liaison, hear
    what broke with an example, so the fix starts where the data comes from."""
    charter = manifest.spec.charter
    body = (
        f"Watchkeeper saw a break in the contract of upstream {upstream.name!r} feeding "
        f"{manifest.name}:\n\n{alert.summary}\n\n"
        f"First seen: {alert.evidence.get('first_seen')}"
        f"\nExample value: {json.dumps(alert.evidence.get('example'))}\n"
        f"Rows affected: {alert.evidence.get('count')} ({alert.evidence.get('share')})\n\n"
        f"Data liaison for {manifest.name}: {charter.data_liaison or 'vacant'}."
    )
    message = Message(
        "notice",
        manifest.name,
        f"Upstream contract break: {alert.summary}",
        alert.severity,
        body,
        "",
        details={"schema_diff": alert.evidence},
    )
    recipients = [r for r in (upstream.contact, charter.data_liaison) if r]
    return Notice(message, recipients, incident_id, "upstream")


def _open_decision(
    unit: Unit,
    manifest: SystemManifest,
    alert: AlertRecord,
    incident_id: int,
    call: str,
    now: datetime,
    outbox: Outbox,
) -> None:
    """A pending decision record assigned to the retraining decider, linked to the incident:
    retraining or replacing a model is a named person's call, not the playbook's."""
    decider = manifest.spec.charter.retraining_decider
    title = f"Retrain or replace {manifest.name}? ({alert.rule})"
    number = unit.care.add_knowledge(
        manifest.name,
        "decision",
        title=title,
        fields={
            "context": f"{alert.summary}\n\nThe runbook proposes: {call}.\n\n"
            f"Evidence: {json.dumps(alert.evidence)}",
            "options": ["retrain", "replace", "keep as is"],
        },
        status="pending",
        by="watchkeeper",
        now=now,
        assigned_to=decider,
        incident_id=incident_id,
    ).number
    unit.audit(
        now=now,
        actor="watchkeeper",
        action="decision.opened",
        target=f"{manifest.name}/decision/{number}",
        system=manifest.name,
        after={"title": title, "assigned_to": decider, "incident": incident_id},
    )
    unit.alerting.incident_event(
        incident_id,
        now,
        "decision.opened",
        "watchkeeper",
        {"decision": number, "assigned_to": decider},
    )
    body = (
        f"Incident #{incident_id} on {manifest.name} needs your call on retraining: "
        f"{alert.summary}\n\nRecord it with:\n  wk log decision {manifest.name} --closes {number} "
        f'--title "{title}" -f decision="retrain" -f consequences="what it costs and changes"'
    )
    message = Message("notice", manifest.name, title, alert.severity, body, "")
    outbox.notices.append(Notice(message, [decider] if decider else [], incident_id, "decision"))
