"""Findings -> alerts -> incidents -> escalation, and the playbook actions an incident sets off.

Alerts are keyed by fingerprint (system/rule/subject) so an ongoing problem stays one alert; all
unmuted firing alerts of a system gather in its one open incident. An alert resolves after its
check ran `RESOLVE_AFTER` more times without it; an incident resolves when all its alerts have,
and re-opens if one fires again within `REOPEN_WITHIN`. Warnings tell the first level once;
errors and criticals walk the whole escalation path until someone acknowledges.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.alerting.courier import Courier
from watchkeeper.alerting.escalation import due_steps, policy_from
from watchkeeper.alerting.mute import Silence, muted
from watchkeeper.alerting.notifiers import Message
from watchkeeper.errors import ActionError
from watchkeeper.manifest import SystemManifest
from watchkeeper.monitor.engine import Evaluation
from watchkeeper.store import Store, Unit
from watchkeeper.store._alerting import AlertRow, IncidentRow, SilenceRow
from watchkeeper.store._systems import applied_manifest

RESOLVE_AFTER = 2
REOPEN_WITHIN = timedelta(hours=24)
RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
SERIOUS_DEADLINES = {
    "default": timedelta(days=15),
    "widespread": timedelta(days=2),
    "critical-infrastructure": timedelta(days=2),
    "death": timedelta(days=10),
}


@dataclass
class _Pending:
    """Work decided inside a transaction, done (with I/O) after it commits."""

    notices: list[tuple[Message, list[str], int | None, str]] = field(default_factory=list)
    disable: list[tuple[str, str, str]] = field(default_factory=list)


def _silences(rows: Iterable[SilenceRow]) -> list[Silence]:
    return [
        Silence(
            r.id, r.matchers or {}, r.starts_at, r.ends_at, r.created_by, r.reason, r.system, r.kind
        )
        for r in rows
    ]


def incident_dict(incident: IncidentRow) -> dict[str, Any]:
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
        "serious_kind": incident.serious_kind,
        "report_due": incident.report_due.isoformat() if incident.report_due else None,
        "reopened": incident.reopened,
    }


class AlertingService:
    def __init__(self, store: Store, courier: Courier, switch: Any) -> None:
        self.store = store
        self.courier = courier
        self.switch = switch

    # --- findings -> alerts -> incidents -----------------------------------------------------

    def process(self, evaluation: Evaluation, now: datetime) -> list[int]:
        """Fold one evaluation's findings into alerts and incidents; returns incidents opened."""
        pending = _Pending()
        with self.store.write() as unit:
            manifest = applied_manifest(unit, evaluation.system)
            opened = self._fold(unit, manifest, evaluation, now, pending)
            # In the same unit as the fold: a finding is taken in exactly when it is folded.
            unit.mark_alerted([(f.fingerprint, f.window_start) for f in evaluation.findings], now)
        self._act(pending, now)
        return opened

    def _fold(
        self,
        unit: Unit,
        manifest: SystemManifest,
        evaluation: Evaluation,
        now: datetime,
        pending: _Pending,
    ) -> list[int]:
        system = evaluation.system
        rules = {r.name: r for r in manifest.spec.runbook.alerts}
        silences = _silences(unit.silences(system))
        current = {f.fingerprint: f for f in evaluation.findings if f.rule in rules}
        fresh: list[AlertRow] = []
        for fingerprint, finding in current.items():
            rule = rules[finding.rule or ""]
            alert = unit.alert(fingerprint)
            if alert is None or alert.status == "resolved":
                if alert is None:
                    alert = AlertRow(system=system, fingerprint=fingerprint, first_seen=now)
                # It keeps its last incident, which `_reopen` re-opens if that resolved lately.
                alert.status, alert.first_seen = "pending", now
            if alert.status == "pending" and now - alert.first_seen >= (rule.for_ or timedelta(0)):
                # Like Prometheus's `for:`, a rule may ask for a finding to persist first.
                alert.status = "firing"
                fresh.append(alert)
            alert.rule, alert.severity, alert.summary = (
                finding.rule,
                finding.severity,
                finding.summary,
            )
            alert.evidence, alert.last_seen, alert.cleared = _json(finding.evidence), now, 0
            labels = {
                "system": system,
                "rule": finding.rule or "",
                "severity": finding.severity,
                "subject": finding.subject,
            }
            hit = muted(labels, silences, now)
            alert.muted_by = hit.reason if hit else None
            unit.add(alert)
        for alert in [
            *unit.alerts(system, status="firing"),
            *unit.alerts(system, status="pending"),
        ]:
            if alert.fingerprint in current or alert.rule not in evaluation.evaluated_rules:
                continue
            alert.cleared += 1
            if alert.cleared >= RESOLVE_AFTER:
                alert.status = "resolved"
                if alert.incident_id:
                    unit.incident_event(
                        alert.incident_id,
                        now,
                        "alert.resolved",
                        "watchkeeper",
                        {"alert": alert.fingerprint, "after": alert.cleared},
                    )
        opened = self._attach(unit, manifest, fresh, now, pending)
        self._auto_resolve(unit, manifest, now, pending)
        return opened

    def _attach(
        self,
        unit: Unit,
        manifest: SystemManifest,
        fresh: list[AlertRow],
        now: datetime,
        pending: _Pending,
    ) -> list[int]:
        system = manifest.name
        opened: list[int] = []
        for alert in [a for a in fresh if not a.muted_by]:
            incident = next(iter(unit.incidents(system, open_only=True)), None)
            if incident is not None and RANK[alert.severity] > RANK[incident.severity]:
                self._raise(unit, incident, alert, now)
                opened.append(incident.id)
            if incident is None:
                incident = self._reopen(unit, system, alert, now)
            if incident is None:
                incident = IncidentRow(
                    system=system,
                    status="triggered",
                    severity=alert.severity,
                    title=alert.summary,
                    opened_at=now,
                    escalation_from=now,
                    serious=False,
                    reopened=0,
                )
                unit.add(incident)
                unit.incident_event(
                    incident.id,
                    now,
                    "opened",
                    "watchkeeper",
                    {"alert": alert.fingerprint, "summary": alert.summary},
                )
                opened.append(incident.id)
            alert.incident_id = incident.id
            unit.incident_event(
                incident.id,
                now,
                "alert",
                "watchkeeper",
                {"alert": alert.fingerprint, "summary": alert.summary},
            )
            self._playbook(unit, manifest, alert, incident, now, pending)
        for alert in [a for a in fresh if a.muted_by]:
            unit.audit(
                now=now,
                actor="watchkeeper",
                action="alert.muted",
                target=alert.fingerprint,
                system=system,
                reason=alert.muted_by,
            )
        return opened

    def _raise(self, unit: Unit, incident: IncidentRow, alert: AlertRow, now: datetime) -> None:
        """A graver alert joining an open incident starts the escalation path over, even if a
        lesser page was already acknowledged: what people agreed to handle has changed."""
        unit.incident_event(
            incident.id,
            now,
            "raised",
            "watchkeeper",
            {"from": incident.severity, "to": alert.severity},
        )
        incident.severity, incident.title, incident.status = (
            alert.severity,
            alert.summary,
            "triggered",
        )
        incident.acknowledged_at = incident.acknowledged_by = None
        incident.escalation_from = now
        unit.reset_steps(incident.id)

    def _reopen(
        self, unit: Unit, system: str, alert: AlertRow, now: datetime
    ) -> IncidentRow | None:
        last = unit.last_resolved_incident(system)
        if last is None or last.resolved_at is None or now - last.resolved_at > REOPEN_WITHIN:
            return None
        if alert.fingerprint not in {a.fingerprint for a in unit.incident_alerts(last.id)}:
            return None
        last.status, last.resolved_at, last.resolved_by = "triggered", None, None
        last.acknowledged_at, last.acknowledged_by = None, None
        last.escalation_from, last.reopened = now, last.reopened + 1
        unit.reset_steps(last.id)
        unit.incident_event(last.id, now, "reopened", "watchkeeper", {"alert": alert.fingerprint})
        return last

    def _auto_resolve(
        self, unit: Unit, manifest: SystemManifest, now: datetime, pending: _Pending
    ) -> None:
        for incident in unit.incidents(manifest.name, open_only=True):
            alerts = unit.incident_alerts(incident.id)
            if alerts and all(a.status == "resolved" for a in alerts):
                self._close(unit, incident, "watchkeeper", now, "every finding cleared", pending)

    def _close(
        self,
        unit: Unit,
        incident: IncidentRow,
        actor: str,
        now: datetime,
        reason: str,
        pending: _Pending,
    ) -> None:
        incident.status, incident.resolved_at, incident.resolved_by = "resolved", now, actor
        unit.incident_event(incident.id, now, "resolved", actor, {"reason": reason})
        for alert in unit.incident_alerts(incident.id):
            alert.status = "resolved"
        paged = sorted(
            {d.recipient for d in unit.deliveries(incident_id=incident.id) if d.purpose == "page"}
        )
        message = Message(
            "resolve",
            incident.system,
            incident.title,
            incident.severity,
            f"Resolved by {actor}: {reason}",
            "",
            dedup_key=_dedup(incident),
        )
        pending.notices.append((message, paged, incident.id, "resolve"))

    # --- playbooks -----------------------------------------------------------------------------

    def _playbook(
        self,
        unit: Unit,
        manifest: SystemManifest,
        alert: AlertRow,
        incident: IncidentRow,
        now: datetime,
        pending: _Pending,
    ) -> None:
        rule = next((r for r in manifest.spec.runbook.alerts if r.name == alert.rule), None)
        playbook = (
            manifest.spec.runbook.playbooks.get(rule.playbook) if rule and rule.playbook else None
        )
        if playbook is None or rule is None or rule.playbook is None:
            return
        charter = manifest.spec.charter
        if playbook.auto_disable:
            pending.disable.append((manifest.name, rule.playbook, f"{alert.rule}: {alert.summary}"))
        if playbook.open_decision and not any(
            k.incident_id == incident.id and k.status == "pending"
            for k in unit.knowledge(manifest.name, "decision")
        ):
            self._open_decision(
                unit, manifest, alert, incident, playbook.open_decision, now, pending
            )
        if playbook.notify_upstream and alert.evidence.get("upstream"):
            upstream = next(
                u for u in manifest.spec.upstream if u.name == alert.evidence["upstream"]
            )
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
            pending.notices.append((message, recipients, incident.id, "upstream"))
        unit.incident_event(
            incident.id,
            now,
            "playbook",
            f"playbook:{rule.playbook}",
            {"summary": playbook.summary, "steps": playbook.steps},
        )

    def _open_decision(
        self,
        unit: Unit,
        manifest: SystemManifest,
        alert: AlertRow,
        incident: IncidentRow,
        call: str,
        now: datetime,
        pending: _Pending,
    ) -> None:
        from watchkeeper.store._care import KnowledgeRow

        decider = manifest.spec.charter.retraining_decider
        number = unit.next_number(manifest.name, "decision")
        title = f"Retrain or replace {manifest.name}? ({alert.rule})"
        record = KnowledgeRow(
            system=manifest.name,
            kind="decision",
            number=number,
            title=title,
            fields={
                "context": f"{alert.summary}\n\nThe runbook proposes: {call}.\n\n"
                f"Evidence: {json.dumps(alert.evidence)}",
                "options": ["retrain", "replace", "keep as is"],
            },
            status="pending",
            created_at=now,
            created_by="watchkeeper",
            assigned_to=decider,
            incident_id=incident.id,
        )
        unit.add(record)
        unit.audit(
            now=now,
            actor="watchkeeper",
            action="decision.opened",
            target=f"{manifest.name}/decision/{number}",
            system=manifest.name,
            after={"title": title, "assigned_to": decider, "incident": incident.id},
        )
        unit.incident_event(
            incident.id,
            now,
            "decision.opened",
            "watchkeeper",
            {"decision": number, "assigned_to": decider},
        )
        body = (
            f"Incident #{incident.id} on {manifest.name} needs your call on retraining: "
            f"{alert.summary}\n\nRecord it with: wk log decision {manifest.name} "
            f"--closes {number} --decision ..."
        )
        message = Message("notice", manifest.name, title, alert.severity, body, "")
        pending.notices.append((message, [decider] if decider else [], incident.id, "decision"))

    def _act(self, pending: _Pending, now: datetime) -> None:
        for system, playbook, reason in pending.disable:
            change = self.switch.auto_disable(system, playbook, reason, now)
            if change.changed:
                self._tell_kill_authorities(system, playbook, reason, now)
        for message, refs, incident_id, purpose in pending.notices:
            only = "pagerduty" if message.event == "acknowledge" else None
            self.courier.send(
                message,
                self.courier.people(refs),
                now=now,
                purpose=purpose,
                incident_id=incident_id,
                only=only,
            )

    def _tell_kill_authorities(
        self, system: str, playbook: str, reason: str, now: datetime
    ) -> None:
        with self.store.read() as unit:
            charter = applied_manifest(unit, system).spec.charter
        message = Message(
            "notice",
            system,
            f"{system} was disabled by playbook {playbook}",
            "critical",
            f"The runbook pre-authorised playbook {playbook} to take "
            f"{system} offline. Reason: {reason}\nRestore with: wk restore {system} "
            "--reason ...",
            "",
        )
        self.courier.send(
            message, self.courier.people(charter.kill_authority), now=now, purpose="auto_disable"
        )

    # --- escalation ------------------------------------------------------------------------------

    def escalate(self, now: datetime, system: str) -> int:
        """Send every escalation step of the system's incidents that is due; returns how many
        steps were taken. One system at a time, so a system whose runbook cannot be read
        never holds back another's pages."""
        taken = 0
        with self.store.read() as unit:
            open_ids = [i.id for i in unit.incidents(system, open_only=True, limit=10_000)]
        for incident_id in open_ids:
            taken += self._escalate_one(incident_id, now)
        return taken

    def _escalate_one(self, incident_id: int, now: datetime) -> int:
        with self.store.write() as unit:
            incident = unit.incident(incident_id)
            if incident is None or incident.status != "triggered":
                return 0
            manifest = applied_manifest(unit, incident.system)
            escalation = manifest.spec.runbook.escalation
            policy = policy_from(escalation.levels, escalation.repeat)
            steps = due_steps(
                policy,
                incident.escalation_from,
                now,
                sent=unit.steps_taken(incident_id),
                acknowledged=False,
                resolved=False,
            )
            if RANK[incident.severity] < RANK["error"]:
                steps = [s for s in steps if s.key == (0, 0)]
            claimed = [
                s for s in steps if unit.take_step(incident_id, s.cycle, s.level, now, s.reason)
            ]
            for step in claimed:
                unit.incident_event(
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
            alerts = unit.incident_alerts(incident_id)
            message = self._page(manifest, incident, alerts)
        for step in claimed:
            self.courier.send(
                message,
                self.courier.people(step.notify),
                now=now,
                purpose="page",
                incident_id=incident_id,
            )
        return len(claimed)

    def _page(
        self, manifest: SystemManifest, incident: IncidentRow, alerts: list[AlertRow]
    ) -> Message:
        runbook = manifest.spec.runbook
        lines = [f"- [{a.severity}] {a.summary}" for a in alerts if a.status == "firing"]
        playbooks = {
            runbook.alerts[i].playbook
            for i in range(len(runbook.alerts))
            if runbook.alerts[i].name in {a.rule for a in alerts}
        } - {None}
        for name in sorted(p for p in playbooks if p):
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
            dedup_key=_dedup(incident),
            details={"incident": incident.id, "system": manifest.name},
        )

    # --- reading ---------------------------------------------------------------------------------

    def list_incidents(self, system: str | None, *, open_only: bool) -> list[dict[str, Any]]:
        with self.store.read() as unit:
            return [incident_dict(i) for i in unit.incidents(system, open_only=open_only)]

    def incident_detail(self, incident_id: int) -> dict[str, Any]:
        """The incident with its alerts, its timeline and every delivery attempt."""
        with self.store.read() as unit:
            incident = unit.incident(incident_id)
            if incident is None:
                raise ActionError("not_found", f"no incident #{incident_id}")
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
                    for a in unit.incident_alerts(incident_id)
                ],
                "timeline": [
                    {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
                    for e in unit.incident_events(incident_id)
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
                    for d in unit.deliveries(incident_id=incident_id)
                ],
            }

    # --- people acting on incidents --------------------------------------------------------------

    def acknowledge(self, incident_id: int, actor: str, now: datetime) -> dict[str, Any]:
        pending = _Pending()
        with self.store.write() as unit:
            incident = self._incident_for(unit, incident_id, actor)
            if incident.status == "triggered":
                incident.status, incident.acknowledged_at, incident.acknowledged_by = (
                    "acknowledged",
                    now,
                    actor,
                )
                unit.incident_event(incident_id, now, "acknowledged", actor, {})
                unit.audit(
                    now=now,
                    actor=actor,
                    action="incident.acknowledged",
                    target=f"incident/{incident_id}",
                    system=incident.system,
                )
                paged = sorted(
                    {
                        d.recipient
                        for d in unit.deliveries(incident_id=incident_id)
                        if d.purpose == "page"
                    }
                )
                message = Message(
                    "acknowledge",
                    incident.system,
                    incident.title,
                    incident.severity,
                    f"Acknowledged by {actor}",
                    "",
                    dedup_key=_dedup(incident),
                )
                pending.notices.append((message, paged, incident_id, "ack"))
            result = incident_dict(incident)
        self._act(pending, now)
        return result

    def resolve(self, incident_id: int, actor: str, now: datetime, reason: str) -> dict[str, Any]:
        pending = _Pending()
        with self.store.write() as unit:
            incident = self._incident_for(unit, incident_id, actor)
            if incident.status != "resolved":
                self._close(unit, incident, actor, now, reason or "resolved by hand", pending)
                unit.audit(
                    now=now,
                    actor=actor,
                    action="incident.resolved",
                    target=f"incident/{incident_id}",
                    system=incident.system,
                    reason=reason,
                )
            result = incident_dict(incident)
        self._act(pending, now)
        return result

    def classify_serious(
        self, incident_id: int, kind: str, actor: str, now: datetime, aware_at: datetime | None
    ) -> dict[str, Any]:
        """EU AI Act Art. 73: the report is due 15 days from awareness (2 for widespread
        infringement or critical infrastructure, 10 for a death)."""
        if kind not in SERIOUS_DEADLINES:
            raise ActionError(
                "invalid", f"unknown kind {kind!r}; one of: {', '.join(SERIOUS_DEADLINES)}"
            )
        with self.store.write() as unit:
            incident = self._incident_for(unit, incident_id, actor)
            aware = aware_at or now
            incident.serious, incident.serious_kind, incident.aware_at = True, kind, aware
            incident.report_due = aware + SERIOUS_DEADLINES[kind]
            unit.incident_event(
                incident_id,
                now,
                "serious",
                actor,
                {"kind": kind, "report_due": incident.report_due.isoformat()},
            )
            unit.audit(
                now=now,
                actor=actor,
                action="incident.serious",
                target=f"incident/{incident_id}",
                system=incident.system,
                after={"kind": kind, "report_due": incident.report_due.isoformat()},
            )
            return incident_dict(incident)

    def remind_serious(self, now: datetime, system: str) -> int:
        """Tell owner and kill authorities once when a serious-incident report of the system is
        due within a fifth of its window (3 days of 15), and once more if it passes."""
        sent = 0
        with self.store.read() as unit:
            due = [i.id for i in unit.incidents(system, limit=10_000) if i.serious and i.report_due]
        for incident_id in due:
            with self.store.write() as unit:
                incident = unit.incident(incident_id)
                assert incident is not None and incident.report_due and incident.aware_at
                window = incident.report_due - incident.aware_at
                stage = (
                    "overdue"
                    if now >= incident.report_due
                    else ("due-soon" if now >= incident.report_due - window / 5 else None)
                )
                done = {
                    e.detail.get("stage")
                    for e in unit.incident_events(incident_id)
                    if e.kind == "serious.reminder"
                }
                if stage is None or stage in done:
                    continue
                unit.incident_event(
                    incident_id, now, "serious.reminder", "watchkeeper", {"stage": stage}
                )
                charter = applied_manifest(unit, incident.system).spec.charter
                refs = [r for r in (charter.owner, *charter.kill_authority) if r]
                message = Message(
                    "notice",
                    incident.system,
                    f"Serious-incident report {stage.replace('-', ' ')}: #{incident_id}",
                    "critical",
                    f"The EU AI Act Art. 73 report for incident #{incident_id} "
                    f"is due {incident.report_due:%Y-%m-%d %H:%M} UTC.",
                    "",
                )
            self.courier.send(
                message,
                self.courier.people(refs),
                now=now,
                purpose="serious",
                incident_id=incident_id,
            )
            sent += 1
        return sent

    def _incident_for(self, unit: Unit, incident_id: int, actor: str) -> IncidentRow:
        incident = unit.incident(incident_id)
        if incident is None:
            raise ActionError("not_found", f"no incident #{incident_id}")
        manifest = applied_manifest(unit, incident.system)
        charter = manifest.spec.charter
        refs = [ref for level in manifest.spec.runbook.escalation.levels for ref in level.notify]
        refs += [
            h
            for role in (
                "owner",
                "quality_monitor",
                "retraining_decider",
                "data_liaison",
                "kill_authority",
            )
            for h in charter.holders(role)
        ]
        teams = {t.name: t.members for t in unit.teams()}
        allowed = {m for ref in refs for m in teams.get(ref, [ref])}
        person = unit.person(actor)
        if actor not in allowed and not (person and person.admin):
            raise ActionError(
                "forbidden",
                f"{actor} is not on the escalation path or charter of "
                f"{incident.system}, so may not act on incident #{incident_id}",
            )
        return incident

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
        if ends_at <= starts_at:
            raise ActionError("invalid", "a silence must end after it starts")
        if not reason.strip():
            raise ActionError("invalid", "a silence needs a reason")
        with self.store.write() as unit:
            if system is not None:
                applied_manifest(unit, system)
            row = SilenceRow(
                system=system,
                kind=kind,
                matchers=matchers,
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=actor,
                reason=reason,
            )
            unit.add(row)
            unit.audit(
                now=now,
                actor=actor,
                action=f"{kind}.created",
                target=f"{kind}/{row.id}",
                system=system,
                after={
                    "matchers": matchers,
                    "starts_at": starts_at.isoformat(),
                    "ends_at": ends_at.isoformat(),
                },
                reason=reason,
            )
            return row.id


def _dedup(incident: IncidentRow) -> str:
    return f"watchkeeper/{incident.system}/incident/{incident.id}"


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
