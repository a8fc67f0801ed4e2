"""Alerting's shell: it reads the store, asks the pure parts what to do, applies their answer
through the store in one unit of work (timeline events and audit entries in the same
transaction), and hands what that unit decided to tell to the courier once it has committed.

Findings become alerts and incidents by `lifecycle.fold`, under the runbook's `resolve_after` and
`reopen_within`; escalation steps are due by `escalation.due_steps`, and warnings tell the first
level once while errors and criticals walk the whole path until someone acknowledges. People act
on incidents through `incidents` (who may is decided before, by `access.may`), and classify serious
ones under the EU AI Act through `serious`; playbooks run from `playbooks`; silences are kept by
`silences`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from watchkeeper.alerting import incidents, playbooks, serious, silences
from watchkeeper.alerting.courier import Courier
from watchkeeper.alerting.escalation import due_steps, policy_from
from watchkeeper.alerting.incidents import incident_dict
from watchkeeper.alerting.lifecycle import (
    NEW,
    RANK,
    AlertAttached,
    AlertCleared,
    AlertFiring,
    AlertMuted,
    AlertPending,
    AlertResolved,
    AlertSeen,
    AlertState,
    IncidentAutoResolved,
    IncidentOpened,
    IncidentRaised,
    IncidentRef,
    IncidentReopened,
    IncidentState,
    Standing,
    Transition,
    fold,
)
from watchkeeper.alerting.outbox import Notice, Outbox
from watchkeeper.clock import as_utc
from watchkeeper.jsonvalue import plain
from watchkeeper.manifest import SystemManifest
from watchkeeper.monitor.engine import Evaluation
from watchkeeper.store import AlertRecord, IncidentRecord, Store, Unit, applied_manifest


class Flipped(Protocol):
    @property
    def changed(self) -> bool: ...


class Switch(Protocol):
    """The kill switch as a playbook flips it (the switch service sits above alerting)."""

    def auto_disable(self, system: str, playbook: str, reason: str, now: datetime) -> Flipped: ...


class AlertingService:
    def __init__(self, store: Store, courier: Courier, switch: Switch) -> None:
        self.store = store
        self.courier = courier
        self.switch = switch

    # --- findings -> alerts -> incidents -----------------------------------------------------

    def process(self, evaluation: Evaluation, now: datetime) -> list[int]:
        """Fold one evaluation's findings into alerts and incidents; returns the incidents it
        opened or raised."""
        outbox = Outbox()
        with self.store.write() as unit:
            manifest = applied_manifest(unit, evaluation.system)
            opened = self._fold(unit, manifest, evaluation, now, outbox)
            # In the same unit as the fold: a finding is taken in exactly when it is folded.
            unit.monitoring.mark_alerted(
                [(f.fingerprint, f.window_start) for f in evaluation.findings], now
            )
        self._send(outbox, now)
        return opened

    def _fold(
        self,
        unit: Unit,
        manifest: SystemManifest,
        evaluation: Evaluation,
        now: datetime,
        outbox: Outbox,
    ) -> list[int]:
        system = evaluation.system
        runbook = manifest.spec.runbook
        alerts = {a.fingerprint: a for a in unit.alerting.alerts(system)}
        open_incidents = unit.alerting.incidents(system, open_only=True)
        known: dict[IncidentRef, IncidentRecord] = {i.id: i for i in open_incidents}
        found = [alerts[f.fingerprint] for f in evaluation.findings if f.fingerprint in alerts]
        resolved = _resolved_of(unit, found, known)
        known.update(resolved)
        standing = Standing(
            [
                AlertState(a.fingerprint, a.rule, a.status, a.first_seen, a.cleared, a.incident_id)
                for a in alerts.values()
            ],
            [IncidentState(i.id, i.severity) for i in open_incidents],
            {
                i.id: IncidentState(i.id, i.severity, i.resolved_at, i.acknowledged_by)
                for i in resolved.values()
            },
        )
        transitions = fold(
            standing,
            evaluation,
            silences.from_records(unit.alerting.silences(system)),
            {r.name: r.for_ or timedelta(0) for r in runbook.alerts},
            now,
            resolve_after=runbook.resolve_after,
            reopen_within=runbook.reopen_within,
        )
        changes = _Changes(unit, manifest, now, outbox, alerts, known)
        for transition in transitions:
            changes.apply(transition)
        return changes.opened

    def _send(self, outbox: Outbox, now: datetime) -> None:
        for disable in outbox.disable:  # the switch tells the owner and kill authorities
            self.switch.auto_disable(disable.system, disable.playbook, disable.reason, now)
        self.courier.send_notices(outbox.notices, now)

    # --- escalation ------------------------------------------------------------------------------

    def escalate(self, now: datetime, system: str) -> int:
        """Send every escalation step of the system's incidents that is due; returns how many
        steps were taken. One system at a time, so a system whose runbook cannot be read
        never holds back another's pages."""
        taken = 0
        with self.store.read() as unit:
            open_ids = [i.id for i in unit.alerting.incidents(system, open_only=True, limit=10_000)]
        for incident_id in open_ids:
            taken += self._escalate_one(incident_id, now)
        return taken

    def _escalate_one(self, incident_id: int, now: datetime) -> int:
        outbox = Outbox()
        with self.store.write() as unit:
            incident = unit.alerting.incident(incident_id)
            if incident is None or incident.status != "triggered":
                return 0
            manifest = applied_manifest(unit, incident.system)
            escalation = manifest.spec.runbook.escalation
            policy = policy_from(escalation.levels, escalation.repeat)
            steps = due_steps(
                policy,
                incident.escalation_from,
                now,
                sent=unit.alerting.steps_taken(incident_id),
                acknowledged=False,
                resolved=False,
            )
            if RANK[incident.severity] < RANK["error"]:
                steps = [s for s in steps if s.key == (0, 0)]
            claimed = [
                s
                for s in steps
                if unit.alerting.take_step(incident_id, s.cycle, s.level, now, s.reason)
            ]
            for step in claimed:
                unit.alerting.incident_event(
                    incident_id,
                    now,
                    "escalated",
                    "watchkeeper",
                    {
                        "level": step.level + 1,
                        "cycle": step.cycle,
                        "notify": list(step.notify),
                        "reason": step.reason,
                    },
                )
            message = incidents.page(manifest, incident, unit.alerting.incident_alerts(incident_id))
            outbox.notices += [Notice(message, s.notify, incident_id, "page") for s in claimed]
        self._send(outbox, now)
        return len(claimed)

    # --- reading ---------------------------------------------------------------------------------

    def list_incidents(self, system: str | None, *, open_only: bool) -> list[dict[str, Any]]:
        with self.store.read() as unit:
            return [incident_dict(i) for i in unit.alerting.incidents(system, open_only=open_only)]

    def incident_detail(self, incident_id: int) -> dict[str, Any]:
        """The incident with its alerts, its timeline and every delivery attempt."""
        with self.store.read() as unit:
            return incidents.detail(unit, incident_id)

    # --- people acting on incidents --------------------------------------------------------------

    def acknowledge(
        self, incident_id: int, actor: str, now: datetime, via: str | None = None
    ) -> dict[str, Any]:
        return self._act_on(
            incident_id,
            now,
            lambda unit, incident, outbox: incidents.acknowledge(
                unit, incident, actor, now, outbox, via
            ),
        )

    def resolve(
        self, incident_id: int, actor: str, now: datetime, reason: str, via: str | None = None
    ) -> dict[str, Any]:
        return self._act_on(
            incident_id,
            now,
            lambda unit, incident, outbox: incidents.resolve(
                unit, incident, actor, now, reason, outbox, via
            ),
        )

    def classify_serious(
        self,
        incident_id: int,
        category: str,
        actor: str,
        now: datetime,
        aware_at: datetime | None = None,
        *,
        death: bool = False,
        widespread: bool = False,
    ) -> dict[str, Any]:
        """A serious incident under the EU AI Act Art. 3(49)(`category`), its report due from
        awareness (Art. 73(2)-(4)); the evidence hold of Art. 73(6) starts (`serious.classify`)."""
        chosen = serious.classification(category, death=death, widespread=widespread)
        aware_at = as_utc(aware_at) if aware_at else None
        return self._act_on(
            incident_id,
            now,
            lambda unit, incident, _: serious.classify(
                unit, incident, chosen, aware_at, actor, now
            ),
        )

    def serious_report(self, incident_id: int, complete: bool, now: datetime) -> dict[str, Any]:
        """The draft of the Art. 73 report, initial or complete (`serious.report`)."""
        with self.store.read() as unit:
            return serious.report(unit, incident_id, complete, now)

    def report_submitted(
        self, incident_id: int, complete: bool, reference: str | None, actor: str, now: datetime
    ) -> dict[str, Any]:
        """Record that a report went to the authority (`serious.submitted`)."""
        return self._act_on(
            incident_id,
            now,
            lambda unit, incident, _: serious.submitted(
                unit, incident, complete, reference, actor, now
            ),
        )

    def justify_change(
        self, incident_id: int, change: int, text: str, actor: str, now: datetime
    ) -> dict[str, Any]:
        """Justify a change made under the evidence hold (`serious.justify`)."""
        with self.store.write() as unit:
            return serious.justify(
                unit, incidents.find(unit, incident_id), change, text, actor, now
            )

    def _act_on(
        self,
        incident_id: int,
        now: datetime,
        change: Callable[[Unit, IncidentRecord, Outbox], IncidentRecord],
    ) -> dict[str, Any]:
        outbox = Outbox()
        with self.store.write() as unit:
            result = incident_dict(change(unit, incidents.find(unit, incident_id), outbox))
        self._send(outbox, now)
        return result

    def remind_serious(self, now: datetime, system: str) -> int:
        """Remind of every serious-incident report of the system not yet submitted that is due
        soon or overdue (`serious.remind`); returns how many reminders went out."""
        with self.store.read() as unit:
            due = [
                i.id
                for i in unit.alerting.incidents(system, limit=10_000)
                if i.serious and i.report_due and i.reported_at is None
            ]
        sent = 0
        for incident_id in due:
            outbox = Outbox()
            with self.store.write() as unit:
                serious.remind(unit, incident_id, now, outbox)
            self._send(outbox, now)
            sent += len(outbox.notices)
        return sent

    # --- silences ---------------------------------------------------------------------------------

    def add_silence(
        self,
        *,
        system: str | None,
        matchers: dict[str, str],
        starts_at: datetime,
        ends_at: datetime,
        actor: str,
        reason: str,
        kind: str,
        now: datetime,
    ) -> int:
        with self.store.write() as unit:
            return silences.add(
                unit,
                system=system,
                matchers=matchers,
                starts_at=starts_at,
                ends_at=ends_at,
                actor=actor,
                reason=reason,
                kind=kind,
                now=now,
            )


@dataclass
class _Changes:
    """The alerts and incidents one fold changes, and how each transition changes them through
    the store (with its timeline event or audit entry), in the fold's unit of work. A finding's
    `AlertPending` and `AlertFiring` are `staged` until its `AlertSeen`, which stores them with
    the rest of what was seen (a new alert is stored whole, at once)."""

    unit: Unit
    manifest: SystemManifest
    now: datetime
    outbox: Outbox
    alerts: dict[str, AlertRecord]
    incidents: dict[IncidentRef, IncidentRecord]
    opened: list[int] = field(default_factory=list)
    staged: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _save(self, fingerprint: str, **changes: Any) -> None:
        self.alerts[fingerprint] = self.unit.alerting.save_alert(
            self.manifest.name, fingerprint, **changes
        )

    def apply(self, transition: Transition) -> None:
        unit, now = self.unit, self.now
        match transition:
            case AlertPending(fingerprint=fingerprint):
                self.staged[fingerprint] = {"status": "pending", "first_seen": now}
            case AlertFiring(fingerprint=fingerprint):
                self.staged.setdefault(fingerprint, {})["status"] = "firing"
            case AlertSeen():
                self._save(
                    transition.fingerprint,
                    **self.staged.pop(transition.fingerprint, {}),
                    rule=transition.rule,
                    severity=transition.severity,
                    summary=transition.summary,
                    evidence=plain(transition.evidence),
                    last_seen=now,
                    cleared=0,
                    muted_by=transition.muted_by,
                )
            case AlertCleared(fingerprint=fingerprint, clean=clean):
                self._save(fingerprint, cleared=clean)
            case AlertResolved(fingerprint=fingerprint, incident=incident_id, after=after):
                self._save(fingerprint, status="resolved")
                if incident_id is not None:
                    unit.alerting.incident_event(
                        incident_id,
                        now,
                        "alert.resolved",
                        "watchkeeper",
                        {"alert": fingerprint, "after": after},
                    )
            case IncidentRaised():
                incident = self.incidents[transition.incident]
                unit.alerting.incident_event(
                    incident.id,
                    now,
                    "raised",
                    "watchkeeper",
                    {"from": transition.was, "to": transition.severity},
                )
                self.incidents[transition.incident] = unit.alerting.update_incident(
                    incident.id,
                    severity=transition.severity,
                    title=transition.title,
                    status="triggered",
                    acknowledged_at=None,
                    acknowledged_by=None,
                    escalation_from=now,
                )
                unit.alerting.reset_steps(incident.id)
                self.opened.append(incident.id)
            case IncidentReopened(incident=incident_id):
                self.incidents[incident_id] = incidents.reopen(
                    unit,
                    self.incidents[incident_id],
                    transition.status,
                    transition.paused,
                    transition.fingerprint,
                    transition.reason,
                    now,
                    self.outbox,
                )
            case IncidentOpened():
                incident = self.incidents[NEW] = unit.alerting.open_incident(
                    self.manifest.name,
                    severity=transition.severity,
                    title=transition.title,
                    now=now,
                )
                unit.alerting.incident_event(
                    incident.id,
                    now,
                    "opened",
                    "watchkeeper",
                    {"alert": transition.fingerprint, "summary": transition.title},
                )
                self.opened.append(incident.id)
            case AlertAttached(fingerprint=fingerprint, incident=ref, summary=summary):
                incident = self.incidents[ref]
                self._save(fingerprint, incident_id=incident.id)
                alert = self.alerts[fingerprint]
                unit.alerting.incident_event(
                    incident.id,
                    now,
                    "alert",
                    "watchkeeper",
                    {"alert": fingerprint, "summary": summary},
                )
                playbooks.run(unit, self.manifest, alert, incident.id, now, self.outbox)
            case AlertMuted(fingerprint=fingerprint, reason=reason):
                unit.audit(
                    now=now,
                    actor="watchkeeper",
                    action="alert.muted",
                    target=fingerprint,
                    system=self.manifest.name,
                    reason=reason,
                )
            case IncidentAutoResolved(incident=incident_id, reason=reason):
                self.incidents[incident_id] = incidents.close(
                    unit, self.incidents[incident_id], "watchkeeper", now, reason, self.outbox
                )


def _resolved_of(
    unit: Unit, found: Sequence[AlertRecord], open_incidents: Mapping[IncidentRef, IncidentRecord]
) -> dict[IncidentRef, IncidentRecord]:
    """The resolved incidents the alerts found again last belonged to: each may be re-opened."""
    ids = {a.incident_id for a in found if a.status == "resolved" and a.incident_id is not None}
    records = [unit.alerting.incident(i) for i in sorted(ids - set(open_incidents))]
    return {r.id: r for r in records if r is not None and r.status == "resolved"}
