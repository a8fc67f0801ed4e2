"""The ownership vacuum report (SPEC §6.2): for each system, is someone really looking after it?

Pure: the service gathers evidence (directory, acknowledgements, who acted, last review, ...) and
this module judges it at `now`. Evidence a deployment does not collect yet is None and its check is
left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchkeeper.access import Directory
from watchkeeper.charter._rubric import Check, score
from watchkeeper.charter.roles import ack_fix, assignments, vacancy, vacant_roles
from watchkeeper.durations import format_duration
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import AckRecord, DrillRecord, RehearsalRecord

BUS_FACTOR_WINDOW = timedelta(days=180)


@dataclass(frozen=True)
class Drills:
    """What a live system that asks for drills (spec.kill_switch.drill_every) has to show:
    its newest finished drill, and when its newest passed drill started."""

    every: timedelta
    last: DrillRecord | None = None
    last_passed: datetime | None = None


@dataclass(frozen=True)
class Rehearsals:
    """What a live system's quality-drop rehearsals show: its latest, its latest passed, the
    digest of the runbook it runs now, and how often it asks to be rehearsed (if it does)."""

    runbook_digest: str
    latest: RehearsalRecord | None = None
    latest_passed: RehearsalRecord | None = None
    every: timedelta | None = None


@dataclass(frozen=True)
class Evidence:
    """Facts about one system gathered from the store; None means not measured here."""

    acks: list[AckRecord] = field(default_factory=list)
    went_live: datetime | None = None
    last_review: datetime | None = None
    actors: set[str] | None = None
    overdue_evals: list[str] | None = None
    last_data: datetime | None = None
    silence_allowed: timedelta | None = None
    unacknowledged_critical: list[int] | None = None
    unspent_months: int | None = None
    stale_triage: int | None = None
    drills: Drills | None = None
    rehearsals: Rehearsals | None = None


@dataclass(frozen=True)
class SystemVacuum:
    system: str
    lifecycle: str
    owner: str | None
    score: int
    checks: list[Check]

    @property
    def gaps(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def critical(self) -> bool:
        return any(c.severity == "critical" for c in self.gaps)

    def to_dict(self) -> dict[str, object]:
        return {
            "system": self.system,
            "lifecycle": self.lifecycle,
            "owner": self.owner,
            "score": self.score,
            "critical": self.critical,
            "gaps": [c.to_dict() for c in self.gaps],
            "checks": [c.to_dict() for c in self.checks],
        }


def assess(
    system: SystemManifest, directory: Directory, evidence: Evidence, now: datetime
) -> SystemVacuum:
    charter = system.spec.charter
    owner = charter.owner
    name = system.name
    checks: list[Check] = []
    owner_ok = bool(owner) and directory.is_active(owner or "")
    checks.append(
        Check(
            "owner.active",
            "owner active",
            owner_ok,
            "A system whose owner left is nobody's job.",
            f"name a new owner in spec.charter.owner of {name} and apply it",
            _who(owner, directory) if owner else "no owner named",
            weight=3,
            severity="critical",
        )
    )
    vacant = vacant_roles(charter, directory)
    checks.append(
        Check(
            "roles.filled",
            "roles filled",
            not vacant,
            "Each of the four questions needs an answer by someone still here.",
            f"name active people for: {', '.join(vacant)}",
            (
                f"vacant: {', '.join(vacancy(charter, role, directory) for role in vacant)}"
                if vacant
                else "every role held by an active person"
            ),
            weight=3,
            severity="critical",
        )
    )
    states = [a for a in assignments(charter, directory, evidence.acks, now) if a.active]
    unacked = [a for a in states if a.ack != "acknowledged"]
    checks.append(
        Check(
            "acks.fresh",
            "acknowledgements fresh",
            not unacked,
            "People named for a role may not know it until they acknowledge, and re-attest "
            f"every {charter.attest_every.days}d.",
            ack_fix(name, (a.holder for a in unacked)),
            ", ".join(f"{a.role} {a.holder} {a.ack}" for a in unacked) or "all fresh",
            weight=2,
        )
    )
    if evidence.went_live is not None:
        since = evidence.last_review or evidence.went_live
        due = since + charter.review_every
        overdue = now - due
        checks.append(
            Check(
                "review.on_time",
                "monthly review on time",
                now < due,
                "The owner's review is where quiet degradation gets noticed.",
                f"the owner runs `wk review {name}`",
                (
                    f"last review {evidence.last_review.date()}"
                    if evidence.last_review
                    else "never reviewed"
                )
                + (f", overdue by {overdue.days}d" if now >= due else f", due {due.date()}"),
                weight=2,
            )
        )
    if evidence.actors is not None:
        people = sorted(a for a in evidence.actors if "@" in a)
        checks.append(
            Check(
                "bus_factor",
                "knowledge shared",
                len(people) >= 2,
                "If only one person ever acts on a system, its knowledge leaves with them.",
                "have a second person take part: acknowledge, review, run evals, write down "
                "decisions",
                f"{len(people)} person(s) acted in the last {BUS_FACTOR_WINDOW.days} days"
                + (f": {', '.join(people)}" if people else ""),
                weight=2,
            )
        )
    checks += _care_checks(name, evidence, now)
    return SystemVacuum(name, system.spec.lifecycle, owner, score(checks), checks)


def _care_checks(name: str, evidence: Evidence, now: datetime) -> list[Check]:
    """Checks whose evidence comes from monitoring, incidents, evals, care, drills and triage."""
    checks: list[Check] = []
    if evidence.overdue_evals is not None:
        checks.append(
            Check(
                "evals.on_time",
                "evals on schedule",
                not evidence.overdue_evals,
                "An eval that stopped running stopped catching regressions.",
                f"run `wk eval run {name}` and find out why the schedule lapsed",
                f"overdue: {', '.join(evidence.overdue_evals)}"
                if evidence.overdue_evals
                else "every scheduled suite ran on time",
                weight=2,
            )
        )
    if evidence.silence_allowed is not None:
        quiet = now - evidence.last_data if evidence.last_data else None
        receiving = quiet is not None and quiet < evidence.silence_allowed
        checks.append(
            Check(
                "monitors.receiving",
                "monitors receiving data",
                receiving,
                "Silence is not health: a monitor without data watches nothing.",
                "check that the serving code logs observations (SDK `log`, OTLP or ingest)",
                f"last data {evidence.last_data:%Y-%m-%d %H:%M}"
                if evidence.last_data
                else "no data ever received",
                weight=2,
                severity="critical",
            )
        )
    if evidence.unacknowledged_critical is not None:
        open_ids = evidence.unacknowledged_critical
        checks.append(
            Check(
                "incidents.acknowledged",
                "critical incidents acknowledged",
                not open_ids,
                "A critical incident nobody acknowledged is a page nobody answered.",
                "; ".join(f"`wk incident ack {i}`" for i in open_ids),
                f"unacknowledged: {', '.join(f'#{i}' for i in open_ids)}"
                if open_ids
                else "none open",
                weight=3,
                severity="critical",
            )
        )
    if evidence.unspent_months is not None:
        checks.append(
            Check(
                "care.budget_used",
                "care budget used",
                evidence.unspent_months < 2,
                "Care that is budgeted but never given is neglect with a line item.",
                f"log care given with `wk care log {name}` — or plan it",
                f"{evidence.unspent_months} month(s) running with the budget unspent"
                if evidence.unspent_months
                else "budget in use",
            )
        )
    if evidence.drills is not None and evidence.went_live is not None:
        checks.append(_drilled(name, evidence.drills, evidence.went_live, now))
    if evidence.rehearsals is not None and evidence.went_live is not None:
        rehearsed = _rehearsed(name, evidence.rehearsals, evidence.went_live, now)
        if rehearsed is not None:
            checks.append(rehearsed)
    if evidence.stale_triage is not None:
        checks.append(
            Check(
                "triage.current",
                "triage queue worked",
                not evidence.stale_triage,
                "Edge cases waiting past the deadline are problems nobody is looking at.",
                f"the quality monitor works the queue: `wk triage {name}`",
                f"{evidence.stale_triage} item(s) older than the triage deadline"
                if evidence.stale_triage
                else "nothing past the deadline",
            )
        )
    return checks


def _drilled(name: str, drills: Drills, went_live: datetime, now: datetime) -> Check:
    """A passed drill within `drills.every`, counted from going live (a system live for less
    than that is not overdue yet), and the newest drill not failed: a switch whose last drill
    found stragglers does not reach every serving process now, whatever an older drill said."""
    last = drills.last
    due = (drills.last_passed or went_live) + drills.every
    failed = last is not None and last.passed is False
    if failed:
        assert last is not None
        names = ", ".join(s["name"] for s in last.stragglers)
        detail = (
            f"last drill {last.started_at:%Y-%m-%d %H:%M} by {last.started_by} FAILED: "
            f"{last.summary}" + (f"; stragglers: {names}" if names else "")
        )
    elif drills.last_passed is not None:
        detail = f"last passed drill {drills.last_passed:%Y-%m-%d}"
    else:
        detail = f"never drilled since going live {went_live:%Y-%m-%d}"
    if not failed:
        detail += f", overdue by {(now - due).days}d" if now >= due else f", next due {due.date()}"
    return Check(
        "switch.drilled",
        "kill switch drilled",
        now < due and not failed,
        "A kill switch nobody has seen work is a hope: a drill shows every serving process "
        f"obeys it, every {format_duration(drills.every)} (spec.kill_switch.drill_every).",
        (
            "find out why the stragglers did not confirm (stopped, or cut off from the server), "
            f"then a kill authority runs `wk drill {name}`"
            if failed
            else f"a kill authority runs `wk drill {name}`"
        ),
        detail,
        weight=2,
    )


def _rehearsed(
    name: str, rehearsals: Rehearsals, went_live: datetime, now: datetime
) -> Check | None:
    """Judged once a live system has been rehearsed, or asks to be (rehearse_every): its newest
    quality-drop rehearsal passed, the runbook it passed on is the one in force, and (when asked)
    a passed one is recent enough, counted from going live. A system never rehearsed that does
    not ask is the gate's to catch, not a gap that appears the day it goes live."""
    latest, passed, every = rehearsals.latest, rehearsals.latest_passed, rehearsals.every
    if latest is None and every is None:
        return None
    if latest is not None and not latest.passed:
        verdict = latest.report.get("verdict", "")
        detail = f"last rehearsal {latest.rehearsed_at:%Y-%m-%d} FAILED: {verdict}"
        failing = True
    elif passed is not None:
        detail = f"last passed rehearsal {passed.rehearsed_at:%Y-%m-%d}"
        failing = passed.runbook_digest != rehearsals.runbook_digest
        if failing:
            detail = (
                "the runbook changed since its last successful rehearsal on "
                f"{passed.rehearsed_at:%Y-%m-%d}"
            )
    else:
        detail = f"never rehearsed since going live {went_live:%Y-%m-%d}"
        failing = False
    overdue = False
    if every is not None:
        due = (passed.rehearsed_at if passed else went_live) + every
        overdue = now >= due
        detail += f", overdue by {(now - due).days}d" if overdue else f", next due {due.date()}"
    asked = f" every {format_duration(every)} (spec.runbook.rehearse_every)" if every else ""
    return Check(
        "runbook.rehearsed",
        "runbook rehearsed",
        not failing and not overdue,
        "What the runbook does when quality drops 20% is known only by running it, and stays "
        f"known only while the runbook is the one rehearsed{asked}.",
        f"run `wk rehearse {name}` and mend what it reports",
        detail,
        weight=2,
    )


def unreadable_detail(reason: str) -> str:
    return f"the applied manifest no longer validates: {reason}; re-apply it"


def unreadable(name: str, lifecycle: str, owner: str | None, reason: str) -> SystemVacuum:
    """The line of a system whose stored manifest this code no longer validates (a rule
    tightened since it was applied): nothing about it can be judged, and nothing watches it
    until it is re-applied, so that is its one critical gap."""
    check = Check(
        "manifest.readable",
        "applied manifest readable",
        False,
        "A manifest the server cannot read is a system nothing watches: no monitoring, "
        "reminders, evals, triage or retention run for it.",
        f"fix the manifest of {name} and apply it again with `wk apply`",
        unreadable_detail(reason),
        weight=3,
        severity="critical",
    )
    return SystemVacuum(name, lifecycle, owner, score([check]), [check])


def portfolio_critical(reports: Iterable[SystemVacuum]) -> bool:
    """Whether any live system has a critical gap (drives the command's exit code)."""
    return any(r.critical and r.lifecycle == "live" for r in reports)


def _who(ref: str | None, directory: Directory) -> str:
    if not ref:
        return "nobody"
    state = "active" if directory.is_active(ref) else "inactive — left or unknown"
    return f"{directory.display(ref)} ({state})"
