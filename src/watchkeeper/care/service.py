"""The care shell: eval runs on demand, on schedule and uploaded, owner reviews and their
reminders, the care ledger, and knowledge records — each stored with an audit entry, so the bus
factor (who acted on a system) is read from one place.

An eval run here is attended only when a person asked for it on their own machine (local mode);
the server's route and the scheduler run only what the operator's `EvalPolicy` allows, and
otherwise evals run where the system's code lives and arrive as uploads (`record_upload`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.alerting.courier import Courier
from watchkeeper.alerting.notifiers import Message
from watchkeeper.care import knowledge
from watchkeeper.charter.ledger import CareEntry, by_month, unspent_streak
from watchkeeper.errors import ActionError
from watchkeeper.evals import (
    EvalPolicy,
    EvalRun,
    choose_suites,
    received,
    regression_diff,
    run_spec,
)
from watchkeeper.store import KnowledgeRecord, Store, Unit, applied_manifest

VERDICTS = ("healthy", "concerns", "action-needed")
CARE_KINDS = ("maintenance", "eval", "review", "retraining", "triage")
REVIEW_ESCALATE_AFTER = timedelta(days=7)
EVAL_CARE_HOURS = 0.25
REVIEW_CARE_HOURS = 1.0


@dataclass(frozen=True)
class EvalOutcome:
    system: str
    suite: str
    run: EvalRun
    diff: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        summary = self.run.summary
        return {
            "system": self.system,
            "suite": self.suite,
            "started_at": self.run.started_at.isoformat(),
            "pass_rate": summary.pass_rate,
            "mean_score": summary.mean_score,
            "count": summary.count,
            "diff": self.diff,
            "run": self.run.to_dict(),
        }


@dataclass(frozen=True)
class ScheduledEvals:
    """What the scheduler's eval job did: the runs it made, and the due suites the operator's
    policy kept it from running (they stay due, so the overdue check keeps saying so)."""

    outcomes: list[EvalOutcome]
    refused: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {"ran": len(self.outcomes), "refused": self.refused}

    @staticmethod
    def combine(runs: Iterable[ScheduledEvals]) -> ScheduledEvals:
        """Each system's scheduled evals as one report."""
        done = list(runs)
        return ScheduledEvals(
            [o for run in done for o in run.outcomes], [r for run in done for r in run.refused]
        )


class CareService:
    def __init__(
        self, store: Store, courier: Courier | None = None, policy: EvalPolicy = EvalPolicy()
    ) -> None:
        self.store = store
        self.courier = courier
        self.policy = policy

    # --- evals -----------------------------------------------------------------------------

    def eval_suites(self, system: str) -> list[dict[str, Any]]:
        """The applied manifest's suites, for a client that runs them where the code lives."""
        with self.store.read() as unit:
            manifest = applied_manifest(unit, system)
        return [spec.model_dump(mode="json") for spec in manifest.spec.evals]

    def run_evals(
        self,
        system: str,
        now: datetime,
        actor: str,
        *,
        suite: str | None = None,
        trigger: str = "manual",
        base_dir: str | None = None,
        progress: Callable[..., None] | None = None,
        attended: bool = False,
    ) -> list[EvalOutcome]:
        """Run and record the system's suites. `attended` is a person running their system's
        code on their own machine; anything else runs only what the policy allows, and nothing
        at all when one suite is refused."""
        with self.store.read() as unit:
            manifest = applied_manifest(unit, system)
        suites = choose_suites(system, manifest.spec.evals, suite)
        base = base_dir or os.getcwd()
        policy = None if attended else self.policy
        if policy is not None:
            reasons = [
                f"suite {spec.suite}: {reason}"
                for spec in suites
                for reason in policy.refusals(spec, base)
            ]
            if reasons:
                raise ActionError("forbidden", _refused(system, reasons))
        return [
            self._record_run(
                system,
                spec.suite,
                run_spec(spec, base, now, policy=policy, progress=progress),
                actor,
                trigger,
                now,
            )
            for spec in suites
        ]

    def record_upload(
        self, system: str, suite: str, data: dict[str, Any], actor: str, now: datetime
    ) -> EvalOutcome:
        """A run made where the system's code lives, stored as a run made here would be:
        diffed against the previous run, logged as care, audited."""
        with self.store.read() as unit:
            manifest = applied_manifest(unit, system)
        choose_suites(system, manifest.spec.evals, suite)
        return self._record_run(system, suite, received(data, now), actor, "upload", now)

    def _record_run(
        self, system: str, suite: str, run: EvalRun, actor: str, trigger: str, now: datetime
    ) -> EvalOutcome:
        with self.store.write() as unit:
            previous = next(iter(unit.care.eval_runs(system, suite, limit=1)), None)
            diff = regression_diff(previous.run, run).to_dict() if previous else None
            unit.care.add_eval_run(
                system,
                suite,
                started_at=run.started_at,
                actor=actor,
                trigger=trigger,
                model_version=run.model_version,
                dataset_sha256=run.dataset_sha256,
                pass_rate=run.summary.pass_rate,
                mean_score=run.summary.mean_score,
                run=run.to_dict(),
            )
            note = f"eval {suite}: pass rate {run.summary.pass_rate:.1%}"
            _log_care(unit, system, EVAL_CARE_HOURS, "eval", note, actor, now)
            unit.audit(
                now=now,
                actor=actor,
                action="eval.run",
                target=f"{system}/eval/{suite}",
                system=system,
                after={
                    "pass_rate": run.summary.pass_rate,
                    "trigger": trigger,
                    "regressions": len(diff["regressions"]) if diff else 0,
                },
            )
        return EvalOutcome(system, suite, run, diff)

    def scheduled_evals(self, now: datetime, base_dir: str | None = None) -> ScheduledEvals:
        """`system_evals` for every applied system, raising on the first that fails (the
        scheduler calls `system_evals` system by system, so one never stops the others)."""
        with self.store.read() as unit:
            names = [record.name for record in unit.systems()]
        return ScheduledEvals.combine(self.system_evals(now, name, base_dir) for name in names)

    def system_evals(
        self, now: datetime, system: str, base_dir: str | None = None
    ) -> ScheduledEvals:
        """Run each suite of a live system whose `every` has passed since its last run (or since
        go-live) and that the policy allows; a refused suite is reported, never imported, and
        stays due."""
        base = base_dir or os.getcwd()
        due: list[str] = []
        refused: list[dict[str, str]] = []
        with self.store.read() as unit:
            manifest = applied_manifest(unit, system)
            record = unit.system(system)
            assert record is not None
            if manifest.spec.lifecycle != "live":
                return ScheduledEvals([], [])
            for spec in manifest.spec.evals:
                if spec.every is None:
                    continue
                last = next(iter(unit.care.eval_runs(system, spec.suite, limit=1)), None)
                since = last.started_at if last else (record.live_since or record.applied_at)
                if last is not None and now < since + spec.every:
                    continue
                reasons = self.policy.refusals(spec, base)
                if reasons:
                    refused.append(
                        {"system": system, "suite": spec.suite, "reason": _refused(system, reasons)}
                    )
                else:
                    due.append(spec.suite)
        outcomes = []
        for suite in due:
            try:
                outcomes += self.run_evals(
                    system, now, "watchkeeper", suite=suite, trigger="schedule", base_dir=base
                )
            except ActionError as exc:
                with self.store.write() as unit:
                    unit.audit(
                        now=now,
                        actor="watchkeeper",
                        action="eval.failed",
                        target=f"{system}/eval/{suite}",
                        system=system,
                        reason=exc.message,
                    )
        return ScheduledEvals(outcomes, refused)

    # --- reviews ---------------------------------------------------------------------------

    def review(
        self,
        system: str,
        verdict: str,
        notes: str,
        actor: str,
        now: datetime,
        report: dict[str, Any],
    ) -> dict[str, Any]:
        """Record the owner's review; who may sign it off is decided before this is called
        (`access.may`, action `review.sign`)."""
        if verdict not in VERDICTS:
            raise ActionError("invalid", f"verdict must be one of {', '.join(VERDICTS)}")
        with self.store.write() as unit:
            applied_manifest(unit, system)
            unit.care.add_review(
                system, verdict=verdict, notes=notes, report=report, by=actor, now=now
            )
            note = f"owner review: {verdict}"
            _log_care(unit, system, REVIEW_CARE_HOURS, "review", note, actor, now)
            unit.audit(
                now=now,
                actor=actor,
                action="review.recorded",
                target=f"{system}/review",
                system=system,
                after={"verdict": verdict},
                reason=notes or None,
            )
        return {
            "system": system,
            "verdict": verdict,
            "reviewed_at": now.isoformat(),
            "reviewer": actor,
        }

    def last_review(self, unit: Unit, system: str) -> datetime | None:
        reviews = unit.care.reviews(system)
        return reviews[-1].reviewed_at if reviews else None

    def review_reminders(self, now: datetime) -> int:
        """`remind_review` for every applied system, raising on the first that fails (the
        scheduler calls `remind_review` system by system, so one never stops the others)."""
        with self.store.read() as unit:
            names = [record.name for record in unit.systems()]
        return sum(self.remind_review(now, name) for name in names)

    def remind_review(self, now: datetime, system: str) -> int:
        """Overdue review of a live system -> remind the owner; 7 days later -> tell the
        escalation's next level. Each reminder is sent once per due date (recorded in the
        audit log)."""
        sends: list[tuple[Message, list[str]]] = []
        with self.store.write() as unit:
            manifest = applied_manifest(unit, system)
            record = unit.system(system)
            assert record is not None
            if manifest.spec.lifecycle != "live" or record.live_since is None:
                return 0
            charter = manifest.spec.charter
            due = (self.last_review(unit, system) or record.live_since) + charter.review_every
            stages = []
            if now >= due:
                stages.append(("owner", [charter.owner] if charter.owner else []))
            if now >= due + REVIEW_ESCALATE_AFTER:
                levels = manifest.spec.runbook.escalation.levels
                stages.append(
                    (
                        "escalated",
                        list(levels[1].notify if len(levels) > 1 else charter.kill_authority),
                    )
                )
            done = {
                e.target for e in unit.audit_entries(system=system) if e.action == "review.reminded"
            }
            for stage, refs in stages:
                target = f"{system}/review/{due:%Y-%m-%d}/{stage}"
                if target in done:
                    continue
                unit.audit(
                    now=now,
                    actor="watchkeeper",
                    action="review.reminded",
                    target=target,
                    system=system,
                    after={"recipients": refs},
                )
                late = (now - due).days
                sends.append(
                    (
                        Message(
                            "notice",
                            system,
                            f"Monthly review of {system} overdue by {late}d"
                            + (" (escalated)" if stage == "escalated" else ""),
                            "warning",
                            f"The owner's review of {system} was due {due:%Y-%m-%d}. "
                            f"Owner: {charter.owner or 'vacant'}. Record it with:\n"
                            f'  wk review {system} --verdict healthy --notes "what you saw"\n'
                            "(or --verdict concerns, or action-needed)",
                            "",
                        ),
                        refs,
                    )
                )
        if self.courier is not None:
            for message, refs in sends:
                self.courier.send(message, self.courier.people(refs), now=now, purpose="review")
        return len(sends)

    # --- care ledger -----------------------------------------------------------------------

    def log_care(
        self, system: str, hours: float, kind: str, note: str, actor: str, now: datetime
    ) -> dict[str, Any]:
        if kind not in CARE_KINDS:
            raise ActionError("invalid", f"kind must be one of {', '.join(CARE_KINDS)}")
        if not 0 < hours <= 744:
            raise ActionError("invalid", "hours must be more than 0 and at most 744 (a month)")
        with self.store.write() as unit:
            applied_manifest(unit, system)
            _log_care(unit, system, hours, kind, note, actor, now)
            unit.audit(
                now=now,
                actor=actor,
                action="care.logged",
                target=f"{system}/care",
                system=system,
                after={"hours": hours, "kind": kind},
                reason=note or None,
            )
        return {"system": system, "hours": hours, "kind": kind, "at": now.isoformat()}

    def ledger(self, system: str, now: datetime) -> dict[str, Any]:
        with self.store.read() as unit:
            manifest = applied_manifest(unit, system)
            record = unit.system(system)
            assert record is not None
            entries = [
                CareEntry(e.at, e.hours, e.kind, e.by, e.note)
                for e in unit.care.care_entries(system)
            ]
        budget = manifest.spec.care.hours_per_month if manifest.spec.care else 0.0
        start = record.live_since or record.applied_at
        months = by_month(entries, budget, start, now)
        streak = unspent_streak(months, complete_before=f"{now.year:04d}-{now.month:02d}")
        return {
            "system": system,
            "budget": budget,
            "months": [m.to_dict() for m in months],
            "unspent_streak": streak,
        }

    # --- knowledge -------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        system: str,
        title: str,
        fields: dict[str, Any],
        actor: str,
        now: datetime,
        *,
        incident_id: int | None = None,
        closes: int | None = None,
    ) -> dict[str, Any]:
        with self.store.write() as unit:
            applied_manifest(unit, system)
            if closes is not None:
                return self._close_decision(unit, system, closes, title, fields, actor, now)
            clean = knowledge.validate(kind, title, fields)
            added = unit.care.add_knowledge(
                system,
                kind,
                title=title,
                fields=clean,
                status=clean.get("status", "accepted") if kind == "decision" else "recorded",
                by=actor,
                now=now,
                incident_id=incident_id,
            )
            unit.audit(
                now=now,
                actor=actor,
                action="knowledge.recorded",
                target=f"{system}/{kind}/{added.number}",
                system=system,
                after={"title": title},
            )
            return _knowledge_dict(added)

    def _close_decision(
        self,
        unit: Unit,
        system: str,
        number: int,
        title: str,
        fields: dict[str, Any],
        actor: str,
        now: datetime,
    ) -> dict[str, Any]:
        """Who may close it is decided before this is called (`access.may`, action
        `decision.close`), from whom it is `assigned_to`."""
        pending = unit.care.knowledge_record(system, "decision", number)
        if pending is None or pending.status != "pending":
            raise ActionError("not_found", f"{system} has no pending decision {number}")
        merged = {**pending.fields, **fields, "decided_by": actor, "status": "decided"}
        closed = unit.care.close_decision(
            system,
            number,
            title=title or pending.title,
            fields=knowledge.validate("decision", title or pending.title, merged),
            by=actor,
            now=now,
        )
        unit.audit(
            now=now,
            actor=actor,
            action="decision.closed",
            target=f"{system}/decision/{number}",
            system=system,
            after={"decision": fields.get("decision")},
        )
        return _knowledge_dict(closed)

    def knowledge(self, system: str) -> list[dict[str, Any]]:
        with self.store.read() as unit:
            applied_manifest(unit, system)
            return [_knowledge_dict(k) for k in unit.care.knowledge(system)]

    def export(self, system: str, directory: str) -> list[str]:
        """Markdown for every record, and an index, in `directory` (made if missing)."""
        return knowledge.write_export(system, self.knowledge(system), directory)


def _refused(system: str, reasons: list[str]) -> str:
    """Says where the evals run instead, and why not here — in names only: a refusal never
    tells whether a file exists."""
    return (
        f"{system}'s evals run where the system's code lives: run `wk eval run {system}` there "
        "(with WATCHKEEPER_URL set it uploads the result). This process runs evals only from "
        "modules under WATCHKEEPER_EVAL_MODULES with golden sets under WATCHKEEPER_EVAL_DATA, "
        "as its operator set them; refused: " + "; ".join(reasons)
    )


def _log_care(
    unit: Unit, system: str, hours: float, kind: str, note: str, actor: str, now: datetime
) -> None:
    """One ledger line; evals and reviews log theirs automatically, so care is never unrecorded."""
    unit.care.add_care_entry(system, hours=hours, kind=kind, note=note, by=actor, now=now)


def _knowledge_dict(record: KnowledgeRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "system": record.system,
        "kind": record.kind,
        "number": record.number,
        "title": record.title,
        "status": record.status,
        "fields": record.fields,
        "created_at": record.created_at.isoformat(),
        "created_by": record.created_by,
        "assigned_to": record.assigned_to,
        "incident_id": record.incident_id,
        "closed_by": record.closed_by,
    }
