"""Operations on quality: observations in, the scheduler, findings, incidents, evals, reviews,
care, knowledge and triage — as plain dicts, for the CLI and the server alike.

Every change is made as `actor`; services apply their own rules (only the owner signs a review,
only people on the path acknowledge an incident, ...). With `enforce` the acting person must also
be an active person, so a token alone is never enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watchkeeper.care import report as reports
from watchkeeper.errors import ActionError
from watchkeeper.ingest.items import FUTURE_SKEW

if TYPE_CHECKING:
    from watchkeeper.app import Watchkeeper


class QualityOperations:
    app: Watchkeeper
    actor: str
    now: datetime
    enforce: bool

    def _may_read(self) -> None:
        if self.enforce:
            self.app.access.authorize(self.actor, "read", self.now)

    def _may_evaluate(self, system: str) -> None:
        if self.enforce:
            self.app.access.authorize(
                self.actor, "system.eval", self.now, system=system, target=system
            )

    # --- observations ----------------------------------------------------------------------

    def ingest(self, system: str, items: Sequence[Any], source: str = "api") -> dict[str, Any]:
        self._may_read()
        return self.app.ingest.observations(system, items, self.now, source=source).to_dict()

    def feedback(self, system: str, items: Sequence[Any]) -> dict[str, Any]:
        self._may_read()
        return self.app.ingest.feedback(system, items, self.now).to_dict()

    def dead_letters(self, system: str, limit: int = 100) -> list[dict[str, Any]]:
        self._may_read()
        return self.app.ingest.dead_letters(system, limit)

    def flag(self, system: str, observation_id: str, reason: str) -> dict[str, Any]:
        self._may_read()
        return self.app.triage.flag(system, observation_id, reason, self.actor, self.now)

    # --- the scheduler and what it finds ---------------------------------------------------

    def tick(self) -> dict[str, Any]:
        """Tick as of `now`, which may replay the past but not run ahead of the clock: windows
        not over yet would be marked evaluated. A `now` up to FUTURE_SKEW ahead (a client's
        clock drifts) ticks as of the clock."""
        if self.enforce:
            self.app.access.authorize(self.actor, "scheduler.tick", self.now)
        real = self.app.clock.now()
        if self.now > real + FUTURE_SKEW:
            raise ActionError(
                "invalid",
                f"cannot tick as of {self.now.isoformat()}: that is in the future (the clock "
                f"says {real.isoformat()}); --now replays the past only",
            )
        return self.app.scheduler.tick(min(self.now, real)).to_dict()

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
        }

    def findings(self, system: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        self._may_read()
        with self.app.store.read() as unit:
            return unit.findings(system, limit=limit)

    # --- incidents ---------------------------------------------------------------------------

    def incidents(self, system: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
        self._may_read()
        return self.app.alerting.list_incidents(system, open_only=open_only)

    def incident(self, incident_id: int) -> dict[str, Any]:
        self._may_read()
        return self.app.alerting.incident_detail(incident_id)

    def incident_ack(self, incident_id: int) -> dict[str, Any]:
        return self.app.alerting.acknowledge(incident_id, self.actor, self.now)

    def incident_resolve(self, incident_id: int, reason: str) -> dict[str, Any]:
        return self.app.alerting.resolve(incident_id, self.actor, self.now, reason)

    def incident_serious(self, incident_id: int, kind: str) -> dict[str, Any]:
        return self.app.alerting.classify_serious(incident_id, kind, self.actor, self.now, None)

    def silence(
        self, system: str | None, matchers: dict[str, str], hours: float, reason: str, kind: str
    ) -> dict[str, Any]:
        """One system's silence: those who answer for it; every system's: admins only."""
        if self.enforce:
            if system is None:
                self.app.access.authorize(self.actor, "portfolio.silence", self.now, target=kind)
            else:
                self.app.access.authorize(
                    self.actor, "system.silence", self.now, system=system, target=system
                )
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
        self._may_evaluate(system)
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
        self._may_evaluate(system)
        return self.app.care.record_upload(system, suite, run, self.actor, self.now).to_dict()

    def report(self, system: str, days: int = 30) -> dict[str, Any]:
        self._may_read()
        with self.app.store.read() as unit:
            if unit.system(system) is None:
                raise ActionError("not_found", f"no system {system!r}")
            return reports.build(unit, system, self.now - timedelta(days=days), self.now)

    def review(self, system: str, verdict: str, notes: str, days: int = 30) -> dict[str, Any]:
        period = self.report(system, days)
        return self.app.care.review(system, verdict, notes, self.actor, self.now, period)

    def care_log(self, system: str, hours: float, kind: str, note: str) -> dict[str, Any]:
        self._may_read()
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
        self._may_read()
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
        self._may_read()
        return self.app.triage.verdict(
            item_id, verdict, self.actor, self.now, label=label, tags=tags, note=note
        )
