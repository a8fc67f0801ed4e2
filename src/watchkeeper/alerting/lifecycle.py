"""The alerting lifecycle, decided: what one evaluation does to a system's alerts and incidents.

Pure: a function of plain records, the runbook's settings and `now` returning transitions, each
saying why it happens (as Alertmanager says why it notifies), for the shell to apply to the store
in one unit of work.

An alert is keyed by fingerprint (system/rule/subject), so one cause stays one alert however often
it is found. It is pending from its first finding and fires once its rule's `for:` has held, at
once without one (as in Prometheus). It resolves after its rule was evaluated `resolve_after`
times in a row without it, so a condition that comes and goes keeps one firing alert and one
incident rather than paging and resolving each time. An unmuted alert that starts firing joins
the system's open incident, raising it when graver; without one, it re-opens the incident it last
belonged to if that resolved within `reopen_within`, else it opens one. A re-opened incident is
not news, so nobody is paged anew: it stays with whoever acknowledged it, or its escalation goes
on where it stood. Only an alert graver than the incident raises it, and that pages. An incident
resolves by itself when all its alerts have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from watchkeeper.alerting.mute import Muted, Silence, muted
from watchkeeper.durations import format_duration
from watchkeeper.monitor.engine import Evaluation
from watchkeeper.monitor.findings import Finding

RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
AUTO_RESOLVED = "every finding cleared"

NEW: Literal["new"] = "new"
IncidentRef = int | Literal["new"]
"""An incident's id, or NEW: the incident this evaluation opens, whose id the store gives when the
transition is applied. There is one at most: once it is open, later alerts join it."""


@dataclass(frozen=True)
class AlertState:
    """What the lifecycle needs to know of a stored alert."""

    fingerprint: str
    rule: str
    status: str  # pending | firing | resolved
    first_seen: datetime
    cleared: int
    incident: int | None


@dataclass(frozen=True)
class IncidentState:
    id: int
    severity: str
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class Standing:
    """A system's alerts and incidents as an evaluation finds them."""

    alerts: Sequence[AlertState]  # every alert of the system, in the order they were stored
    open_incidents: Sequence[IncidentState]  # newest first
    # Resolved incidents by id: those the alerts found again last belonged to, which they may
    # re-open (an incident the shell leaves out is not re-opened).
    resolved: Mapping[int, IncidentState] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertPending:
    """The alert starts, or starts over after it resolved: pending from now."""

    fingerprint: str
    reason: str


@dataclass(frozen=True)
class AlertFiring:
    fingerprint: str
    reason: str


@dataclass(frozen=True)
class AlertSeen:
    """A current finding: its alert takes the finding's details, and its count of clean
    evaluations starts over."""

    fingerprint: str
    rule: str
    severity: str
    summary: str
    evidence: Mapping[str, Any]
    muted_by: str | None
    reason: str


@dataclass(frozen=True)
class AlertCleared:
    """Its rule was evaluated without it; `clean` evaluations in a row now."""

    fingerprint: str
    clean: int
    reason: str


@dataclass(frozen=True)
class AlertResolved:
    fingerprint: str
    incident: int | None
    after: int
    reason: str


@dataclass(frozen=True)
class AlertMuted:
    """It started firing under a silence or maintenance window: recorded, and nobody paged."""

    fingerprint: str
    reason: str


@dataclass(frozen=True)
class IncidentOpened:
    fingerprint: str
    severity: str
    title: str
    reason: str


@dataclass(frozen=True)
class IncidentReopened:
    """The same cause is back within the cool-down: old news, told to those who already know
    rather than paged anew. Acknowledged before, it is `acknowledged` again and stays with that
    person; if nobody had, it is `triggered` and its escalation goes on where it stood, its
    clock stopped for the `paused` time it spent resolved, so no level is paged twice and none
    is skipped."""

    incident: int
    fingerprint: str
    status: Literal["triggered", "acknowledged"]
    paused: timedelta
    reason: str


@dataclass(frozen=True)
class IncidentRaised:
    """It takes the graver alert's severity and title and walks its escalation path again, even
    if a lesser page was acknowledged: what people agreed to handle has changed."""

    incident: IncidentRef
    was: str
    severity: str
    title: str
    reason: str


@dataclass(frozen=True)
class AlertAttached:
    """The alert belongs to the incident from now on (its playbook runs on it)."""

    fingerprint: str
    incident: IncidentRef
    summary: str
    reason: str


@dataclass(frozen=True)
class IncidentAutoResolved:
    incident: int
    reason: str


Transition = (
    AlertPending
    | AlertFiring
    | AlertSeen
    | AlertCleared
    | AlertResolved
    | AlertMuted
    | IncidentOpened
    | IncidentReopened
    | IncidentRaised
    | AlertAttached
    | IncidentAutoResolved
)


@dataclass(frozen=True)
class _Started:
    """An alert that started firing in this evaluation."""

    fingerprint: str
    severity: str
    summary: str
    muted: Muted | None


def fold(
    standing: Standing,
    evaluation: Evaluation,
    silences: Sequence[Silence],
    rules: Mapping[str, timedelta],
    now: datetime,
    *,
    resolve_after: int,
    reopen_within: timedelta,
) -> list[Transition]:
    """The transitions one evaluation makes, in the order they are applied. `rules` are the
    runbook's alert rules by name, each with its `for:` (zero when it has none); findings of any
    other rule are not alerts. `resolve_after` and `reopen_within` are the runbook's."""
    current = _current(evaluation.findings, rules)
    known = {a.fingerprint: a for a in standing.alerts}
    status = {a.fingerprint: a.status for a in standing.alerts}
    belongs: dict[str, IncidentRef | None] = {a.fingerprint: a.incident for a in standing.alerts}
    transitions: list[Transition] = []
    started: list[_Started] = []
    for fingerprint, finding in current.items():
        steps, status[fingerprint], hit = _seen(
            evaluation.system, finding, known.get(fingerprint), rules, silences, now
        )
        transitions += steps
        if any(isinstance(step, AlertFiring) for step in steps):
            started.append(_Started(fingerprint, finding.severity, finding.summary, hit))
    for alert in [
        *(a for a in standing.alerts if a.status == "firing"),
        *(a for a in standing.alerts if a.status == "pending"),
    ]:
        if alert.fingerprint in current or alert.rule not in evaluation.evaluated_rules:
            continue  # a rule not evaluated this time says nothing of its alerts
        clean = alert.cleared + 1
        transitions.append(
            AlertCleared(
                alert.fingerprint,
                clean,
                f"rule {alert.rule} was evaluated without it ({clean} of {resolve_after})",
            )
        )
        if clean >= resolve_after:
            status[alert.fingerprint] = "resolved"
            transitions.append(
                AlertResolved(
                    alert.fingerprint,
                    alert.incident,
                    clean,
                    f"rule {alert.rule} was evaluated {clean} times in a row without it "
                    f"(resolve_after: {resolve_after})",
                )
            )
    unmuted = [s for s in started if s.muted is None]
    transitions += _attach(standing, unmuted, belongs, now, reopen_within)
    transitions += [AlertMuted(s.fingerprint, s.muted.reason) for s in started if s.muted]
    for incident in standing.open_incidents:
        # Only an incident open before this evaluation can have lost its last firing alert.
        alerts = [fp for fp, ref in belongs.items() if ref == incident.id]
        if alerts and all(status.get(fp) == "resolved" for fp in alerts):
            transitions.append(IncidentAutoResolved(incident.id, AUTO_RESOLVED))
    return transitions


def _current(findings: Iterable[Finding], rules: Mapping[str, timedelta]) -> dict[str, Finding]:
    """Each alert's one finding in this evaluation, in the order the alerts were first found.
    One cause may be found several times (windows caught up on, several checks of one rule):
    the gravest counts, and of those the latest, so the alert says the worst that happened."""
    current: dict[str, Finding] = {}
    for finding in findings:
        if finding.rule not in rules:
            continue
        held = current.get(finding.fingerprint)
        if held is None or (RANK[finding.severity], finding.window_end) >= (
            RANK[held.severity],
            held.window_end,
        ):
            current[finding.fingerprint] = finding
    return current


def _seen(
    system: str,
    finding: Finding,
    alert: AlertState | None,
    rules: Mapping[str, timedelta],
    silences: Sequence[Silence],
    now: datetime,
) -> tuple[list[Transition], str, Muted | None]:
    """A current finding's transitions, its alert's status after them, and what mutes it."""
    rule = finding.rule or ""
    hold = rules[rule]
    steps: list[Transition] = []
    status, since = (alert.status, alert.first_seen) if alert else ("resolved", now)
    if status == "resolved":
        # It keeps its last incident, which `_attach` re-opens if that resolved lately.
        status, since = "pending", now
        start = "back after it resolved" if alert else "first seen"
        wait = f"; fires once it has held for {format_duration(hold)} (for:)" if hold else ""
        steps.append(AlertPending(finding.fingerprint, start + wait))
    if status == "pending" and now - since >= hold:
        status = "firing"
        steps.append(
            AlertFiring(
                finding.fingerprint,
                f"held for {format_duration(now - since)}, its for: {format_duration(hold)}"
                if hold
                else f"rule {rule} has no for:, so it fires at once",
            )
        )
    labels = {
        "system": system,
        "rule": rule,
        "severity": finding.severity,
        "subject": finding.subject,
    }
    hit = muted(labels, silences, now)
    steps.append(
        AlertSeen(
            finding.fingerprint,
            rule,
            finding.severity,
            finding.summary,
            finding.evidence,
            hit.reason if hit else None,
            f"found by the {finding.check} check",
        )
    )
    return steps, status, hit


def _attach(
    standing: Standing,
    started: Sequence[_Started],
    belongs: dict[str, IncidentRef | None],
    now: datetime,
    reopen_within: timedelta,
) -> list[Transition]:
    """Every unmuted alert that started firing gathers in the system's one open incident: the
    open one, else the one it re-opens, else a new one; and raises it when graver."""
    newest = next(iter(standing.open_incidents), None)
    joins: tuple[IncidentRef, str] | None = (newest.id, newest.severity) if newest else None
    transitions: list[Transition] = []
    for alert in started:
        if joins is None:
            step = _reopen_or_open(
                standing.resolved, alert, belongs.get(alert.fingerprint), now, reopen_within
            )
            transitions.append(step)
            joins = (
                (step.incident, standing.resolved[step.incident].severity)
                if isinstance(step, IncidentReopened)
                else (NEW, alert.severity)
            )
        if RANK[alert.severity] > RANK[joins[1]]:
            transitions.append(
                IncidentRaised(
                    joins[0],
                    joins[1],
                    alert.severity,
                    alert.summary,
                    f"{alert.fingerprint} is {alert.severity}, graver than the incident's "
                    f"{joins[1]}",
                )
            )
            joins = (joins[0], alert.severity)
        belongs[alert.fingerprint] = joins[0]
        transitions.append(
            AlertAttached(
                alert.fingerprint,
                joins[0],
                alert.summary,
                "a firing alert joins its system's one open incident",
            )
        )
    return transitions


def _reopen_or_open(
    resolved: Mapping[int, IncidentState],
    alert: _Started,
    belonged: IncidentRef | None,
    now: datetime,
    reopen_within: timedelta,
) -> IncidentReopened | IncidentOpened:
    """With no incident open, an alert re-opens the one it last belonged to if that resolved
    within `reopen_within`, and opens a new one otherwise; either says why."""
    window = format_duration(reopen_within)
    last = resolved.get(belonged) if isinstance(belonged, int) else None
    if last is None or last.resolved_at is None:
        why = "no incident is open, and this alert is in no resolved one it could re-open"
        return IncidentOpened(alert.fingerprint, alert.severity, alert.summary, why)
    ago = now - last.resolved_at
    if ago > reopen_within:
        why = (
            f"no incident is open; #{last.id}, which held this alert, resolved "
            f"{format_duration(ago)} ago, longer than {window} (reopen_within)"
        )
        return IncidentOpened(alert.fingerprint, alert.severity, alert.summary, why)
    back = f"#{last.id} held this alert and resolved {format_duration(ago)} ago, within {window}"
    if last.acknowledged_by:
        why = f"{back}; it stays with {last.acknowledged_by}, who acknowledged it"
        return IncidentReopened(last.id, alert.fingerprint, "acknowledged", ago, why)
    why = f"{back}; nobody acknowledged it, so its escalation goes on where it stood"
    return IncidentReopened(last.id, alert.fingerprint, "triggered", ago, why)
