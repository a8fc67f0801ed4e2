"""The go-live readiness gate (SPEC §6.1): a pure rubric over a manifest, the people directory
and the acknowledgements recorded so far. Every failed check says why it matters and the fix.

Acknowledgements live in the store, not in the repo: a gate that reads no store (`wk gate
--offline`, for CI) reports their check as not checked — neither passed nor failed — and judges
the rest by the people and teams the files declare."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.access import Directory
from watchkeeper.charter._digest import manifest_digest
from watchkeeper.charter._rubric import Check, score
from watchkeeper.charter.roles import ROLE_TITLES, Assignment, ack_fix, assignments
from watchkeeper.durations import format_duration
from watchkeeper.manifest import Loaded, SystemManifest
from watchkeeper.store import AckRecord, RehearsalRecord

CHECK_IDS = (
    "charter.owner",
    "charter.quality_monitor",
    "charter.retraining_decider",
    "charter.data_liaison",
    "charter.kill_authority",
    "charter.two_kill_authorities",
    "charter.acknowledged",
    "runbook.healthy",
    "runbook.drop_alert",
    "runbook.escalation",
    "runbook.playbooks",
    "runbook.rehearsed",
    "upstream.contracts",
    "evals.scheduled",
    "care.budget",
    "kill_switch.defined",
    "retention.six_months",
)
SIX_MONTHS = timedelta(days=183)
"""The shortest `spec.retention.keep` the gate accepts of a high-risk system: "at least six
months" (EU AI Act Art. 19(1), 26(6)), which retention enforces by the calendar."""

_WHY = {
    "charter.owner": "A named product owner for the system is the person who reviews quality "
    "monthly and makes the retraining call; without one, nobody's job includes it.",
    "charter.quality_monitor": "Uptime is not quality: someone must watch what the system says.",
    "charter.retraining_decider": "Without a named decider, retraining waits until someone "
    "complains loudly enough.",
    "charter.data_liaison": "Upstream schema changes break AI systems silently; someone must "
    "own the relationship with the data team.",
    "charter.kill_authority": "When outputs turn harmful, someone must be allowed to take the "
    "system offline without asking around at 2 AM.",
    "charter.two_kill_authorities": "A high-risk system must be stoppable when one person is "
    "asleep or away.",
    "charter.acknowledged": "Named is not the same as knowing: each holder must accept the role.",
    "runbook.healthy": "Nobody can notice degradation without a written definition of healthy.",
    "runbook.drop_alert": "The runbook must say what happens if quality drops 20%.",
    "runbook.escalation": "A page that reaches only the owner dies when the owner is away.",
    "runbook.playbooks": "An alert without a playbook wakes someone who does not know what to do.",
    "runbook.rehearsed": "The runbook's answer to 'what happens if quality drops 20%?' is known "
    "only by running it: a signal that never fills or a level nobody can be reached by shows up "
    "in a rehearsal, not on the night.",
    "upstream.contracts": "A contract and a contact turn a silent upstream break into a named "
    "finding sent to the right team.",
    "evals.scheduled": "Periodic evals catch regressions that live metrics miss.",
    "care.budget": "AI systems need tending; unbudgeted care does not happen.",
    "kill_switch.defined": "Serving code must know whether to fail open or closed, and what to "
    "do instead, before the switch is ever pulled.",
    "retention.six_months": "The EU AI Act has the logs of a high-risk AI system kept at least "
    "six months (Art. 19(1) for its provider, Art. 26(6) for its deployer): they are what an "
    "authority reads after a serious incident.",
}


@dataclass(frozen=True)
class GateReport:
    system: str
    ready: bool
    score: int
    checks: list[Check]

    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.failed]

    def not_checked(self) -> list[Check]:
        return [c for c in self.checks if not c.checked]

    def to_dict(self) -> dict[str, object]:
        return {
            "system": self.system,
            "ready": self.ready,
            "score": self.score,
            "not_checked": [c.id for c in self.not_checked()],
            "checks": [c.to_dict() for c in self.checks],
        }


def evaluate_all(
    loaded: Loaded,
    directory: Directory,
    acks: Mapping[str, Iterable[AckRecord]] | None,
    now: datetime,
    rehearsals: Mapping[str, Sequence[RehearsalRecord]] | None = None,
) -> list[GateReport]:
    """A report for each system of `loaded`, with the acknowledgements and quality-drop
    rehearsals recorded for it (none for a system missing from the mappings), or with those
    checks not checked when the mapping is None (a gate that read no store)."""
    return [
        evaluate(
            system,
            directory,
            None if acks is None else acks.get(system.name, ()),
            now,
            None if rehearsals is None else rehearsals.get(system.name, ()),
        )
        for system in loaded.systems
    ]


def evaluate(
    system: SystemManifest,
    directory: Directory,
    acks: Iterable[AckRecord] | None,
    now: datetime,
    rehearsals: Sequence[RehearsalRecord] | None = None,
) -> GateReport:
    """One system's report; `acks` or `rehearsals` (its quality-drop rehearsals, newest first)
    None when they could not be read: their check is then not checked."""
    spec = system.spec
    charter = spec.charter
    runbook = spec.runbook
    name = system.name
    checks: list[Check] = []

    def add(
        check_id: str,
        passed: bool,
        fix: str,
        detail: str = "",
        weight: int = 1,
        checked: bool = True,
    ) -> None:
        title = check_id.split(".", 1)[1].replace("_", " ")
        checks.append(
            Check(check_id, title, passed, _WHY[check_id], fix, detail, weight, "critical", checked)
        )

    owner = charter.owner
    owner_ok = owner is not None and owner in directory.people and directory.is_active(owner)
    add(
        "charter.owner",
        owner_ok,
        "set spec.charter.owner to the email of an active person (a person, not a team)",
        _holders_detail([owner] if owner else [], directory),
        weight=3,
    )
    for role in ("quality_monitor", "retraining_decider", "data_liaison", "kill_authority"):
        holders = charter.holders(role)
        ok = any(directory.is_active(h) for h in holders)
        add(
            f"charter.{role}",
            ok,
            f"name the {ROLE_TITLES[role]} in spec.charter.{role}: an active person or a team "
            "with an active member",
            _holders_detail(holders, directory),
            weight=2,
        )
    authorities = {member for h in charter.kill_authority for member in directory.members(h)}
    high = system.metadata.tier in ("high", "critical")
    add(
        "charter.two_kill_authorities",
        not high or len(authorities) >= 2,
        f"tier {system.metadata.tier}: list at least two active people in "
        "spec.charter.kill_authority",
        f"{len(authorities)} active kill authorit{'y' if len(authorities) == 1 else 'ies'}"
        + ("" if high else f" (tier {system.metadata.tier}: one is enough)"),
        weight=2,
    )
    if acks is None:
        add(
            "charter.acknowledged",
            False,
            "",
            "acknowledgements are recorded in the store, which this gate did not read (`wk gate` "
            "without --offline checks them)",
            weight=2,
            checked=False,
        )
    else:
        states = assignments(charter, directory, acks, now)
        missing = [a for a in states if a.ack != "acknowledged"]
        add(
            "charter.acknowledged",
            bool(states) and not missing,
            ack_fix(name, (a.holder for a in missing)) or "name the role holders first",
            _ack_detail(missing, len(states)),
            weight=2,
        )
    add(
        "runbook.healthy",
        bool(runbook.healthy),
        "describe healthy output under spec.runbook.healthy: a signal and its min/max bound",
        f"{len(runbook.healthy)} bound(s)",
        weight=2,
    )
    drops = [a for a in runbook.alerts if a.drop is not None and a.playbook]
    add(
        "runbook.drop_alert",
        bool(drops),
        "add an alert such as {name: quality-drop, signal: ..., drop: 20%, playbook: ...}",
        ", ".join(a.name for a in drops) or "no relative-drop alert with a playbook",
        weight=2,
    )
    levels = runbook.escalation.levels
    reached = {m for lvl in levels for ref in lvl.notify for m in directory.members(ref)}
    beyond_owner = reached - {owner}
    add(
        "runbook.escalation",
        len(levels) >= 2 and bool(beyond_owner),
        "give spec.runbook.escalation at least two levels, the later ones reaching someone "
        "besides the owner",
        f"{len(levels)} level(s), reaching {', '.join(sorted(reached)) or 'nobody'}",
        weight=2,
    )
    orphans = [a.name for a in runbook.alerts if not a.playbook]
    add(
        "runbook.playbooks",
        bool(runbook.alerts) and not orphans,
        "give every alert a playbook (spec.runbook.playbooks) saying what to do"
        if runbook.alerts
        else "add alerts under spec.runbook.alerts, each with a playbook",
        f"without a playbook: {', '.join(orphans)}" if orphans else f"{len(runbook.alerts)} alerts",
    )
    if rehearsals is None:
        add(
            "runbook.rehearsed",
            False,
            "",
            "rehearsals are recorded in the store, which this gate did not read",
            weight=2,
            checked=False,
        )
    else:
        passed, detail = rehearsed(system, rehearsals, now)
        add(
            "runbook.rehearsed",
            passed,
            f"run `wk rehearse {name}` (before apply: `wk rehearse {name} people.yaml "
            "MANIFEST.yaml`) and mend what it reports",
            detail,
            weight=2,
        )
    bad_upstreams = [u.name for u in spec.upstream if not u.contact or not u.contract]
    add(
        "upstream.contracts",
        not bad_upstreams,
        "give each upstream a contact (email) and a contract (its fields and types)",
        f"incomplete: {', '.join(bad_upstreams)}"
        if bad_upstreams
        else f"{len(spec.upstream)} upstream(s) with contact and contract",
    )
    scheduled = [e.suite for e in spec.evals if e.every]
    add(
        "evals.scheduled",
        bool(scheduled),
        "add an eval suite with a schedule: spec.evals: [{suite, dataset, target, every: 7d}]",
        ", ".join(scheduled) or "no scheduled eval",
    )
    add(
        "care.budget",
        bool(spec.care and spec.care.hours_per_month > 0),
        "set spec.care.hours_per_month: the monthly hours budgeted for monitoring, evals and "
        "maintenance",
        f"{spec.care.hours_per_month:g} h/month" if spec.care else "no budget",
    )
    switch = spec.kill_switch
    add(
        "kill_switch.defined",
        bool(switch.fail_mode and switch.fallback),
        "set spec.kill_switch.fail_mode (open or closed) and spec.kill_switch.fallback",
        f"fail_mode={switch.fail_mode or '-'}, fallback={'set' if switch.fallback else '-'}",
        weight=2,
    )
    keep = spec.retention.keep
    marked = system.metadata.eu_ai_act
    add(
        "retention.six_months",
        marked != "high-risk" or keep >= SIX_MONTHS,
        f"set spec.retention.keep to at least {SIX_MONTHS.days}d (six months; EU AI Act Art. "
        "19(1), 26(6))",
        f"keeps {format_duration(keep)}; "
        + ("high-risk under the EU AI Act" if marked == "high-risk" else
           f"metadata.eu_ai_act: {marked or 'not marked'} (no minimum)"),
    )  # fmt: skip
    return GateReport(name, not any(c.failed for c in checks), score(checks), checks)


def rehearsed(
    system: SystemManifest, rehearsals: Sequence[RehearsalRecord], now: datetime
) -> tuple[bool, str]:
    """A passed quality-drop rehearsal of this very manifest, or of any version of it within
    spec.runbook.rehearse_every; and what was found, in words."""
    digest = manifest_digest(system)
    every = system.spec.runbook.rehearse_every
    for record in rehearsals:
        if not record.passed:
            continue
        when = f"{record.rehearsed_at:%Y-%m-%d} by {record.rehearsed_by}"
        if record.time_to_page_s is not None:
            when += f" (first page after {round(record.time_to_page_s / 60)} min)"
        if record.digest == digest:
            return True, f"passed for this manifest on {when}"
        if every is not None and now - record.rehearsed_at <= every:
            return True, f"passed within rehearse_every on {when}"
    if not rehearsals:
        return False, "never rehearsed"
    last = rehearsals[0]
    if not last.passed:
        return False, (
            f"last rehearsal {last.rehearsed_at:%Y-%m-%d} FAILED: {last.report.get('verdict', '')}"
        )
    return False, f"rehearsed for another version of the manifest on {last.rehearsed_at:%Y-%m-%d}"


def _holders_detail(holders: list[str], directory: Directory) -> str:
    if not holders:
        return "nobody named"
    return ", ".join(f"{h}{'' if directory.is_active(h) else ' (inactive)'}" for h in holders)


def _by_holder(missing: list[Assignment]) -> dict[str, list[Assignment]]:
    grouped: dict[str, list[Assignment]] = {}
    for a in missing:
        grouped.setdefault(a.holder, []).append(a)
    return grouped


def _ack_detail(missing: list[Assignment], total: int) -> str:
    if not missing:
        return f"all {total} acknowledged"
    return f"{len(missing)} of {total} not acknowledged: " + "; ".join(
        f"{holder} ({', '.join(f'{a.role} {a.ack}' for a in items)})"
        for holder, items in _by_holder(missing).items()
    )
