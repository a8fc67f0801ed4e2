"""Operations on quality: observations in, the scheduler, findings, incidents, evals, reviews,
care, knowledge and triage — as plain dicts, for the CLI and the server alike.

Every change is made as `actor` and decided first by `access` (`_authorize`, see `Operations`):
the stage services below trust the person they are handed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from watchkeeper.access import TRUSTED_LOCALLY, Action
from watchkeeper.care import report as reports
from watchkeeper.errors import ActionError
from watchkeeper.ingest.items import FUTURE_SKEW

if TYPE_CHECKING:
    from watchkeeper.app._build import Watchkeeper


class QualityOperations:
    app: Watchkeeper
    actor: str
    now: datetime
    enforce: bool

    def _checked(self, action: Action) -> bool:
        """Whether `action` is decided for this face: always over the API and the dashboard;
        on the database directly (the local CLI), all but what TRUSTED_LOCALLY lists."""
        return self.enforce or action not in TRUSTED_LOCALLY

    def _authorize(
        self,
        action: Action,
        system: str | None = None,
        *,
        target: str | None = None,
        role: str | None = None,
        subject: str | None = None,
        assignee: str | None = None,
    ) -> None:
        """Ask `access`, which records a refusal in the audit trail before raising it."""
        if self._checked(action):
            self.app.access.authorize(
                self.actor,
                action,
                self.now,
                system=system,
                target=target,
                role=role,
                subject=subject,
                assignee=assignee,
            )

    def _may_read(self) -> None:
        self._authorize("read")

    # --- observations ----------------------------------------------------------------------

    def ingest(self, system: str, items: Sequence[Any], source: str = "api") -> dict[str, Any]:
        self._authorize("observations.write", system, target=f"{system}/observations")
        return self.app.ingest.observations(system, items, self.now, source=source).to_dict()

    def feedback(self, system: str, items: Sequence[Any], source: str = "api") -> dict[str, Any]:
        self._authorize("feedback.write", system, target=f"{system}/feedback")
        return self.app.ingest.feedback(system, items, self.now, source=source).to_dict()

    def profiling(self, system: str) -> dict[str, Any]:
        """The manifest and bin edges a profiler elsewhere makes this system's partials from."""
        self._authorize("observations.write", system, target=f"{system}/partials")
        _, edges = self.app.ingest.profiling(system)
        with self.app.store.read() as unit:
            record = unit.system(system)
        assert record is not None, "profiling found the system"
        return {"manifest": record.manifest, "edges": {c: list(e) for c, e in edges.items()}}

    def record_partials(self, system: str, items: Sequence[Any]) -> dict[str, Any]:
        self._authorize("observations.write", system, target=f"{system}/partials")
        return self.app.ingest.record_partials(system, items, self.now)

    def observations(
        self,
        system: str,
        *,
        since: datetime | None = None,
        where: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> dict[str, Any]:
        """What the system saw, newest first: any active person reads, as they read findings.
        `since` defaults to everything kept; items up to five minutes ahead of the clock, as
        ingest accepts them, are included."""
        self._may_read()
        start = since or datetime(1970, 1, 1, tzinfo=UTC)
        return self.app.ingest.explore(
            system, start, self.now + timedelta(minutes=5), where=where, limit=limit, after=after
        )

    def dead_letters(self, system: str, limit: int = 100) -> list[dict[str, Any]]:
        self._may_read()
        return self.app.ingest.dead_letters(system, limit)

    def flag(self, system: str, observation_id: str, reason: str) -> dict[str, Any]:
        self._authorize("flag.write", system, target=f"{system}/observation/{observation_id}")
        return self.app.triage.flag(system, observation_id, reason, self.actor, self.now)

    # --- the scheduler and what it finds ---------------------------------------------------

    def tick(self) -> dict[str, Any]:
        """Tick as of `now`, which may replay the past but not run ahead of the clock: windows
        not over yet would be marked evaluated. A `now` up to FUTURE_SKEW ahead (a client's
        clock drifts) ticks as of the clock."""
        self._authorize("scheduler.tick")
        real = self.app.clock.now()
        if self.now > real + FUTURE_SKEW:
            raise ActionError(
                "invalid",
                f"cannot tick as of {self.now.isoformat()}: that is in the future (the clock "
                f"says {real.isoformat()}); --now replays the past only",
            )
        return self.app.scheduler.tick(min(self.now, real)).to_dict()

    def signals(
        self, system: str, signal: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Each signal's newest windows: value, n, an estimated metric's interval and the
        metric realized on the labels that have come since."""
        self._may_read()
        return self.app.monitor.signal_windows(system, signal, limit)

    def check(self, system: str) -> dict[str, Any]:
        """What the checks conclude now, recording nothing: the scheduler's tick is the one
        writer of findings, so each reaches alerting."""
        self._may_read()
        evaluation = self.app.monitor.check(system, self.now)
        return {
            "system": system,
            "recorded": False,
            "note": "read-only: nothing was recorded; the scheduler's tick stores and alerts",
            "windows": evaluation.windows,
            "findings": [f.to_dict() for f in evaluation.findings],
            "alarm_budget": evaluation.alarm_budget,
            "calibration": [c.to_dict() for c in evaluation.calibration],
        }

    def findings(self, system: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        self._may_read()
        with self.app.store.read() as unit:
            return [f.to_dict() for f in unit.monitoring.findings(system, limit=limit)]

    # --- incidents ---------------------------------------------------------------------------

    def incidents(self, system: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
        self._may_read()
        return self.app.alerting.list_incidents(system, open_only=open_only)

    def incident(self, incident_id: int) -> dict[str, Any]:
        self._may_read()
        return self.app.alerting.incident_detail(incident_id)

    def incident_ack(self, incident_id: int, via: str | None = None) -> dict[str, Any]:
        """`via`: the tool the person acted in (Slack, PagerDuty), for the timeline."""
        self._on_incident("incident.ack", incident_id)
        return self.app.alerting.acknowledge(incident_id, self.actor, self.now, via)

    def incident_resolve(
        self, incident_id: int, reason: str, via: str | None = None
    ) -> dict[str, Any]:
        self._on_incident("incident.resolve", incident_id)
        return self.app.alerting.resolve(incident_id, self.actor, self.now, reason, via)

    def incident_serious(
        self,
        incident_id: int,
        category: str,
        death: bool = False,
        widespread: bool = False,
        aware_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Classify as a serious incident (EU AI Act Art. 3(49)); its Art. 73 deadline runs
        from `aware_at` (default now) and its evidence hold (Art. 73(6)) starts."""
        self._on_incident("incident.serious", incident_id)
        return self.app.alerting.classify_serious(
            incident_id,
            category,
            self.actor,
            self.now,
            aware_at,
            death=death,
            widespread=widespread,
        )

    def incident_report(self, incident_id: int, complete: bool = False) -> dict[str, Any]:
        """The draft of the Art. 73 report: whoever reads incidents may read it."""
        self._may_read()
        return self.app.alerting.serious_report(incident_id, complete, self.now)

    def incident_report_submitted(
        self, incident_id: int, complete: bool = False, reference: str | None = None
    ) -> dict[str, Any]:
        """Record a report sent to the authority: those who may classify the incident may."""
        self._on_incident("incident.serious", incident_id)
        return self.app.alerting.report_submitted(
            incident_id, complete, reference, self.actor, self.now
        )

    def incident_justify(self, incident_id: int, change: int, text: str) -> dict[str, Any]:
        """Justify a change made under the incident's evidence hold, as its classifiers may."""
        self._on_incident("incident.serious", incident_id)
        return self.app.alerting.justify_change(incident_id, change, text, self.actor, self.now)

    def _on_incident(self, action: Action, incident_id: int) -> None:
        """An incident is its system's: that system's manifest says who may act on it."""
        system = self.app.alerting.incident_detail(incident_id)["system"]
        self._authorize(action, system, target=f"incident/{incident_id}")

    def silence(
        self, system: str | None, matchers: dict[str, str], hours: float, reason: str, kind: str
    ) -> dict[str, Any]:
        """One system's silence: those who answer for it; every system's: admins only."""
        if system is None:
            self._authorize("portfolio.silence", target=kind)
        else:
            self._authorize("system.silence", system)
        if hours <= 0:
            raise ActionError("invalid", "a silence lasts a positive number of hours")
        silence_id = self.app.alerting.add_silence(
            system=system,
            matchers=matchers,
            starts_at=self.now,
            ends_at=self.now + timedelta(hours=hours),
            actor=self.actor,
            reason=reason,
            kind=kind,
            now=self.now,
        )
        return {"id": silence_id, "system": system, "kind": kind, "hours": hours}

    # --- care --------------------------------------------------------------------------------

    def eval_suites(self, system: str) -> list[dict[str, Any]]:
        self._may_read()
        return self.app.care.eval_suites(system)

    def eval_run(
        self,
        system: str,
        suite: str | None = None,
        base_dir: str | None = None,
        progress: Any = None,
    ) -> list[dict[str, Any]]:
        """Attended only in local mode, a person running their system's code on their own
        machine: a request over the API names code the server must not choose to run."""
        self._authorize("system.eval", system)
        outcomes = self.app.care.run_evals(
            system,
            self.now,
            self.actor,
            suite=suite,
            base_dir=base_dir,
            progress=progress,
            attended=not self.enforce,
        )
        return [o.to_dict() for o in outcomes]

    def eval_upload(self, system: str, suite: str, run: dict[str, Any]) -> dict[str, Any]:
        """A run made where the system's code lives; whoever may run evals may upload one."""
        self._authorize("system.eval", system)
        return self.app.care.record_upload(system, suite, run, self.actor, self.now).to_dict()

    def report(self, system: str, days: int = 30) -> dict[str, Any]:
        self._may_read()
        with self.app.store.read() as unit:
            if unit.system(system) is None:
                raise ActionError("not_found", f"no system {system!r}")
            return reports.build(unit, system, self.now - timedelta(days=days), self.now)

    def review(self, system: str, verdict: str, notes: str, days: int = 30) -> dict[str, Any]:
        self._authorize("review.sign", system, target=f"{system}/review")
        period = self.report(system, days)
        return self.app.care.review(system, verdict, notes, self.actor, self.now, period)

    def care_log(self, system: str, hours: float, kind: str, note: str) -> dict[str, Any]:
        self._authorize("care.log", system, target=f"{system}/care")
        return self.app.care.log_care(system, hours, kind, note, self.actor, self.now)

    def care_ledger(self, system: str) -> dict[str, Any]:
        self._may_read()
        return self.app.care.ledger(system, self.now)

    def record(
        self,
        kind: str,
        system: str,
        title: str,
        fields: dict[str, Any],
        incident_id: int | None = None,
        closes: int | None = None,
    ) -> dict[str, Any]:
        """A knowledge record; with `closes`, the pending decision numbered so is made."""
        if closes is not None:
            self._authorize(
                "decision.close",
                system,
                target=f"{system}/decision/{closes}",
                assignee=self._decision_assignee(system, closes),
            )
        else:
            action: Action = "postmortem.write" if kind == "postmortem" else "knowledge.record"
            self._authorize(action, system, target=f"{system}/{kind}")
        return self.app.care.record(
            kind,
            system,
            title,
            fields,
            self.actor,
            self.now,
            incident_id=incident_id,
            closes=closes,
        )

    def postmortem(self, incident_id: int, title: str, fields: dict[str, Any]) -> dict[str, Any]:
        detail = self.incident(incident_id)
        return self.record("postmortem", detail["system"], title, fields, incident_id=incident_id)

    def knowledge(self, system: str) -> list[dict[str, Any]]:
        self._may_read()
        return self.app.care.knowledge(system)

    def _decision_assignee(self, system: str, number: int) -> str | None:
        """Who a pending decision is for; None when nobody is, or when there is no such
        decision (the care service says so once the actor may close the system's decisions)."""
        pending = [
            k["assigned_to"]
            for k in self.app.care.knowledge(system)
            if (k["kind"], k["number"], k["status"]) == ("decision", number, "pending")
        ]
        return pending[0] if pending else None

    # --- triage ------------------------------------------------------------------------------

    def triage_queue(self, system: str, status: str | None = "open") -> list[dict[str, Any]]:
        self._may_read()
        return self.app.triage.queue(system, self.now, status=status)

    def triage_verdict(
        self,
        item_id: int,
        verdict: str,
        label: str | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        with self.app.store.read() as unit:
            item = unit.care.triage_item(item_id)
            if item is None:
                raise ActionError("not_found", f"no triage item #{item_id}")
            system, assignee = item.system, item.assignee
        self._authorize(
            "triage.verdict", system, target=f"{system}/triage/{item_id}", assignee=assignee
        )
        return self.app.triage.verdict(
            item_id, verdict, self.actor, self.now, label=label, tags=tags, note=note
        )
