"""The alerting lifecycle, decided: what one evaluation does to a system's alerts and incidents.

Pure: a function of plain records and `now` returning transitions, each saying why it happens (as
Alertmanager says why it notifies), for the shell to apply to the store in one unit of work.

An alert is keyed by fingerprint (system/rule/subject), so an ongoing problem stays one alert. It
is pending from its first finding and fires once its rule's `for:` has held, at once without one
(as in Prometheus). It resolves after its rule was evaluated `RESOLVE_AFTER` times in a row
without it, so a condition that comes and goes every window keeps one firing alert and one
incident rather than paging and resolving each time. An unmuted alert that starts firing joins the
system's open incident, raising it when graver; without one, it re-opens the incident it last
belonged to if that resolved within `REOPEN_WITHIN`, else it opens one. An incident resolves by
itself when all its alerts have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from watchkeeper.alerting.mute import Muted, Silence, muted
from watchkeeper.durations import format_duration
from watchkeeper.monitor.engine import Evaluation
from watchkeeper.monitor.findings import Finding

RESOLVE_AFTER = 2
REOPEN_WITHIN = timedelta(hours=24)
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


@dataclass(frozen=True)
class Standing:
    """A system's alerts and incidents as an evaluation finds them."""

    alerts: Sequence[AlertState]  # every alert of the system, in the order they were stored
    open_incidents: Sequence[IncidentState]  # newest first
    last_resolved: IncidentState | None = None


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
    """It walks its escalation path again from the start."""

    incident: int
    fingerprint: str
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
) -> list[Transition]:
    """The transitions one evaluation makes, in the order they are applied. `rules` are the
    runbook's alert rules by name, each with its `for:` (zero when it has none); findings of any
    other rule are not alerts."""
    current = {f.fingerprint: f for f in evaluation.findings if f.rule in rules}
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
                f"rule {alert.rule} was evaluated without it ({clean} of {RESOLVE_AFTER})",
            )
        )
        if clean >= RESOLVE_AFTER:
            status[alert.fingerprint] = "resolved"
            transitions.append(
                AlertResolved(
                    alert.fingerprint,
                    alert.incident,
                    clean,
                    f"rule {alert.rule} was evaluated {clean} times in a row without it",
                )
            )
    transitions += _attach(standing, [s for s in started if s.muted is None], belongs, now)
    transitions += [AlertMuted(s.fingerprint, s.muted.reason) for s in started if s.muted]
    for incident in standing.open_incidents:
        # Only an incident open before this evaluation can have lost its last firing alert.
        alerts = [fp for fp, ref in belongs.items() if ref == incident.id]
        if alerts and all(status.get(fp) == "resolved" for fp in alerts):
            transitions.append(IncidentAutoResolved(incident.id, AUTO_RESOLVED))
    return transitions


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
) -> list[Transition]:
    """Every unmuted alert that started firing gathers in the system's one open incident."""
    newest = next(iter(standing.open_incidents), None)
    joins: tuple[IncidentRef, str] | None = (newest.id, newest.severity) if newest else None
    transitions: list[Transition] = []
    for alert in started:
        if joins is not None and RANK[alert.severity] > RANK[joins[1]]:
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
        if joins is None:
            last, why = _reopens(standing.last_resolved, belongs.get(alert.fingerprint), now)
            if last is not None:
                transitions.append(IncidentReopened(last.id, alert.fingerprint, why))
                joins = (last.id, last.severity)
            else:
                transitions.append(
                    IncidentOpened(alert.fingerprint, alert.severity, alert.summary, why)
                )
                joins = (NEW, alert.severity)
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


def _reopens(
    last: IncidentState | None, belonged: IncidentRef | None, now: datetime
) -> tuple[IncidentState | None, str]:
    """The incident an alert re-opens (the one that resolved last, if the alert belonged to it
    and it resolved within REOPEN_WITHIN), and why it does or does not."""
    window = format_duration(REOPEN_WITHIN)
    if last is None or last.resolved_at is None:
        return None, "no incident is open, and none has resolved"
    ago = now - last.resolved_at
    if ago > REOPEN_WITHIN:
        return None, f"no incident is open; #{last.id} resolved more than {window} ago"
    if belonged != last.id:
        return None, f"no incident is open; #{last.id}, resolved lately, never held this alert"
    return last, f"#{last.id} resolved {format_duration(ago)} ago, within {window}, and held it"
