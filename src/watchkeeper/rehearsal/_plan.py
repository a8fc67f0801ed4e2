"""What a rehearsal will do, decided before any data is made: which rule the scenario aims at,
how far its signal falls, how long the simulated period runs, and who each escalation level can
reach. Pure: a manifest and a directory in, plain facts out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.access import Directory
from watchkeeper.durations import format_duration
from watchkeeper.manifest import AlertRule, Escalation, EscalationLevel, Signal, SystemManifest
from watchkeeper.monitor.signals import window_start
from watchkeeper.store import PersonRecord

SCENARIOS = ("quality-drop", "drift", "upstream-break", "silence", "harmful-output")
MARGIN = 0.10
"""The drop injected is the rule's threshold plus this share: exactly the threshold would test
the statistics' edge, not the runbook."""
SPAN = timedelta(days=14)
"""How long the scenario runs once it begins: two weeks of a quality drop going unpaged is a
failed runbook whatever the reason."""
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Missed:
    """Something the runbook promised that did not (or cannot) happen; `fails` when it breaks
    the answer to "who is paged, and when"."""

    check: str
    text: str
    fails: bool = True

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "text": self.text}


@dataclass(frozen=True)
class Target:
    """What the scenario aims at: an alert rule, or for a harmful output the triage queue (no
    rule: a person's verdict tells the kill authorities)."""

    scenario: str
    rule: AlertRule | None
    signal_name: str | None = None
    signal: Signal | None = None
    factor: float = 1.0
    columns: tuple[str, ...] = ()

    @property
    def rule_name(self) -> str | None:
        return self.rule.name if self.rule else None

    def describe(self) -> str:
        if self.scenario == "quality-drop" and self.rule and self.rule.drop is not None:
            share = 1 - self.factor
            return (
                f"{self.signal_name} falls {share:.0%} below its baseline "
                f"(rule {self.rule.name}: drop {self.rule.drop:.0%}, plus a {MARGIN:.0%} margin)"
            )
        if self.scenario == "drift":
            return f"inputs {', '.join(self.columns)} shift away from the baseline"
        if self.scenario == "upstream-break" and self.rule:
            return f"the upstream {self.rule.contract} renames {self.columns[0]}"
        if self.scenario == "harmful-output":
            return "the system gives one harmful answer, which its user flags"
        return "observations stop arriving"


def target(manifest: SystemManifest, scenario: str) -> Target | Missed:
    """The rule `scenario` aims at, or why the manifest cannot express it."""
    runbook = manifest.spec.runbook
    rules = runbook.alerts
    if scenario == "quality-drop":
        rule = next((r for r in rules if r.drop is not None), None)
        if rule is None or rule.signal is None or rule.drop is None:
            return Missed(
                "scenario.inexpressible",
                "the runbook has no `drop:` rule, so nothing says what happens if quality drops "
                "20%: add one under spec.runbook.alerts, e.g. {name: quality-drop, signal: ..., "
                "drop: 20%, severity: critical, playbook: ...}",
            )
        signal = runbook.signals.get(rule.signal)
        if signal is None:
            return Missed("scenario.inexpressible", f"rule {rule.name} names no known signal")
        why = _inexpressible(signal)
        if why:
            return Missed("scenario.inexpressible", f"signal {rule.signal}: {why}")
        factor = max(0.0, 1 - rule.drop - MARGIN)
        return Target(scenario, rule, rule.signal, signal, factor)
    if scenario == "drift":
        rule = next((r for r in rules if r.drift), None)
        if rule is None or not rule.drift:
            return Missed("scenario.inexpressible", "the runbook has no `drift:` rule")
        return Target(scenario, rule, columns=tuple(rule.drift))
    if scenario == "upstream-break":
        rule = next((r for r in rules if r.contract), None)
        upstream = next(
            (u for u in manifest.spec.upstream if rule and u.name == rule.contract), None
        )
        if rule is None or upstream is None or not upstream.contract:
            return Missed(
                "scenario.inexpressible", "the runbook has no `contract:` rule on an upstream"
            )
        fields = upstream.contract
        chosen = next((n for n, f in fields.items() if f.required), next(iter(fields)))
        return Target(scenario, rule, columns=(chosen,))
    if scenario == "silence":
        rule = next((r for r in rules if r.absent is not None), None)
        if rule is None:
            return Missed(
                "scenario.inexpressible",
                "the runbook has no `absent:` rule: silence is only noticed as a warning with "
                "no rule, playbook or page",
            )
        return Target(scenario, rule)
    if scenario == "harmful-output":
        if not runbook.triage.rules:
            return Missed(
                "scenario.inexpressible",
                "the runbook has no triage rules: a harmful output reaches nobody's queue (add "
                "spec.runbook.triage.rules, e.g. {name: flagged, negative_feedback: true})",
            )
        return Target(scenario, None)
    raise ValueError(f"unknown scenario {scenario!r}")


def paged_for(manifest: SystemManifest, aim: Target) -> Escalation:
    """Who the scenario should reach: the escalation levels, or for a harmful output the kill
    authorities, told at once by the verdict."""
    if aim.scenario == "harmful-output":
        authorities = manifest.spec.charter.kill_authority
        levels = [EscalationLevel(after=timedelta(0), notify=authorities)] if authorities else []
        return Escalation(levels=levels)
    return manifest.spec.runbook.escalation


def _inexpressible(signal: Signal) -> str | None:
    """Why a rehearsal cannot move this signal by a known share, if it cannot."""
    if signal.source == "triage":
        return "a triage signal is people's verdicts, which a rehearsal cannot make up"
    if signal.kind == "expr" or signal.expr:
        return "an expression signal cannot be moved by a known share"
    if signal.kind == "estimated":
        return "an estimated metric moves with the model's scores, which a rehearsal does not make"
    if signal.kind == "rate" and signal.source == "output" and not signal.match:
        return "an output rate without `match:` has nothing to move"
    return None


@dataclass(frozen=True)
class Span:
    """The simulated period: the baseline from `start`, the scenario from `began` to `end`."""

    start: datetime
    began: datetime
    end: datetime


def span(manifest: SystemManifest, aim: Target, today: datetime) -> Span:
    """Baseline first (the manifest's dates, else its length ending 30 days before `today`),
    then the scenario from the first window of its signal that starts once the baseline ends,
    so its windows are whole."""
    baseline = manifest.spec.runbook.baseline
    if baseline.from_ and baseline.to:
        start = datetime.combine(baseline.from_, datetime.min.time(), today.tzinfo)
        length = datetime.combine(baseline.to, datetime.min.time(), today.tzinfo) - start
    else:
        length = baseline.first or timedelta(days=14)
        start = today.replace(hour=0, minute=0, second=0, microsecond=0) - length - SPAN - SPAN
    size = aim.signal.window if aim.signal and aim.signal.source != "eval" else DAY
    began = window_start(start + length, size)
    if began < start + length:
        began += size
    return Span(start, began, began + SPAN)


@dataclass(frozen=True)
class Level:
    """One escalation level and who on it a page can reach (with their first channel)."""

    number: int
    after: timedelta
    reached: tuple[tuple[str, str], ...]
    unreached: tuple[tuple[str, str], ...]


def channels(person: PersonRecord, smtp: bool) -> list[str]:
    """The channel types a page to `person` can use: theirs, else email (as the courier does);
    email only where this Watchkeeper has an SMTP server to send it through."""
    kinds = [str(c.get("type", "email")) for c in person.channels] or ["email"]
    return [k for k in kinds if k != "email" or smtp]


def reach(escalation: Escalation, directory: Directory, smtp: bool) -> list[Level]:
    """Each level's named people and teams, split into those a page reaches (active, with a
    channel it can use) and those it cannot, with why."""
    levels = []
    for number, level in enumerate(escalation.levels, 1):
        reached: list[tuple[str, str]] = []
        unreached: list[tuple[str, str]] = []
        for ref in level.notify:
            team = directory.teams.get(ref)
            emails = list(team.members) if team else [ref]
            if team is not None and not emails:
                unreached.append((ref, "the team has no members"))
            for email in emails:
                person = directory.people.get(email)
                if person is None:
                    unreached.append((email, "is not in the people directory"))
                elif not person.active:
                    unreached.append((email, "is no longer active"))
                elif not channels(person, smtp):
                    unreached.append((email, _no_channel(person)))
                elif all(email != r for r, _ in reached):
                    reached.append((email, channels(person, smtp)[0]))
        levels.append(Level(number, level.after, tuple(reached), tuple(unreached)))
    return levels


def _no_channel(person: PersonRecord) -> str:
    given = "has only email channels" if person.channels else "has no channel (so: email)"
    return f"{given}, and this Watchkeeper has no SMTP server (WATCHKEEPER_SMTP)"


def unreachable(levels: list[Level]) -> list[Missed]:
    """A level nobody on it can be reached by fails the rehearsal; someone on a level that
    reaches others is told, as a note."""
    if not levels:
        return [
            Missed("level.unreachable", "the runbook has no escalation levels: no one is paged")
        ]
    missed = []
    for level in levels:
        why = "; ".join(f"{who} {reason}" for who, reason in level.unreached)
        when = f"level {level.number} (after {format_duration(level.after)})"
        if not level.reached:
            missed.append(Missed("level.unreachable", f"{when} reaches nobody: {why}"))
        elif level.unreached:
            missed.append(Missed("person.unreachable", f"{when}: {why}", fails=False))
    return missed
