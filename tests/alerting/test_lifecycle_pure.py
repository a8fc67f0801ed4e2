"""The alerting lifecycle as a pure function: each test states a system's alerts and incidents,
folds one evaluation in at one instant, and reads the transitions. The same rules applied to a
real store: test_lifecycle.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from watchkeeper.alerting.incidents import reminder_stage, report_due
from watchkeeper.alerting.lifecycle import (
    AUTO_RESOLVED,
    NEW,
    REOPEN_WITHIN,
    RESOLVE_AFTER,
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
    IncidentReopened,
    IncidentState,
    Standing,
    Transition,
    fold,
)
from watchkeeper.alerting.mute import Silence
from watchkeeper.errors import ActionError
from watchkeeper.monitor.engine import Evaluation
from watchkeeper.monitor.findings import Finding, Severity
from watchkeeper.testing import T0

S, M, H, DAY = (timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1),
                timedelta(days=1))  # fmt: skip
RULES = {"low": timedelta(0), "slow": 10 * M, "worse": timedelta(0)}
NOBODY = Standing([], [])


def fp(rule: str) -> str:
    return f"bot/{rule}/quality"


def alert(
    rule: str, status: str, *, since: datetime = T0, cleared: int = 0, incident: int | None = None
) -> AlertState:
    return AlertState(fp(rule), rule, status, since, cleared, incident)


def found(rule: str, severity: Severity = "error") -> Finding:
    return Finding("bot", "threshold", "quality", severity, f"{rule} quality", T0, T0 + H, rule)


def fold_at(
    now: datetime,
    standing: Standing,
    *findings: Finding,
    silences: Sequence[Silence] = (),
    evaluated: frozenset[str] = frozenset(RULES),
) -> list[Transition]:
    evaluation = Evaluation("bot", 1, list(findings), list(findings), evaluated)
    return fold(standing, evaluation, silences, RULES, now)


def kinds(transitions: Sequence[Transition]) -> list[str]:
    return [type(t).__name__ for t in transitions]


def without_reasons(transitions: Sequence[Transition]) -> list[Transition]:
    return [replace(t, reason="") for t in transitions if not isinstance(t, AlertSeen)]


# --- firing and for: ---------------------------------------------------------------------------


def test_a_first_finding_fires_at_once_and_opens_an_incident() -> None:
    transitions = fold_at(T0, NOBODY, found("low"))
    assert without_reasons(transitions) == [
        AlertPending(fp("low"), ""),
        AlertFiring(fp("low"), ""),
        IncidentOpened(fp("low"), "error", "low quality", ""),
        AlertAttached(fp("low"), NEW, "low quality", ""),
    ]
    [seen] = [t for t in transitions if isinstance(t, AlertSeen)]
    assert (seen.rule, seen.severity, seen.summary, seen.muted_by) == (
        "low",
        "error",
        "low quality",
        None,
    )
    assert all(t.reason for t in transitions), "every transition says why"


def test_with_for_an_alert_is_pending_until_the_duration_has_held() -> None:
    assert kinds(fold_at(T0, NOBODY, found("slow"))) == ["AlertPending", "AlertSeen"]
    pending = Standing([alert("slow", "pending", since=T0)], [])
    assert kinds(fold_at(T0 + 10 * M - S, pending, found("slow"))) == ["AlertSeen"]
    held = fold_at(T0 + 10 * M, pending, found("slow"))
    assert kinds(held) == [
        "AlertFiring",
        "AlertSeen",
        "IncidentOpened",
        "AlertAttached",
    ]
    assert held[0].reason == "held for 10m, its for: 10m"


def test_a_pending_alert_that_clears_resolves_without_paging() -> None:
    pending = Standing([alert("slow", "pending", since=T0)], [])
    once = fold_at(T0 + 5 * M, pending)
    assert without_reasons(once) == [AlertCleared(fp("slow"), 1, "")]
    cleared = Standing([alert("slow", "pending", since=T0, cleared=1)], [])
    assert without_reasons(fold_at(T0 + 6 * M, cleared)) == [
        AlertCleared(fp("slow"), 2, ""),
        AlertResolved(fp("slow"), None, 2, ""),
    ]


def test_a_resolved_alert_that_returns_is_pending_again_and_its_for_starts_over() -> None:
    resolved = Standing([alert("slow", "resolved", since=T0 - DAY)], [])
    back = fold_at(T0, resolved, found("slow"))
    assert kinds(back) == ["AlertPending", "AlertSeen"]
    assert back[0].reason.startswith("back after it resolved")


def test_findings_of_rules_the_runbook_does_not_name_are_no_alerts() -> None:
    other = Finding("bot", "silence", "quality", "error", "no data", T0, T0 + H)
    assert fold_at(T0, NOBODY, other) == []


# --- resolving ---------------------------------------------------------------------------------


def test_an_alert_resolves_after_its_rule_ran_twice_without_it_and_its_incident_with_it() -> None:
    firing = Standing([alert("low", "firing", incident=7)], [IncidentState(7, "error")])
    assert without_reasons(fold_at(T0 + H, firing)) == [AlertCleared(fp("low"), 1, "")]
    once = Standing([alert("low", "firing", cleared=1, incident=7)], [IncidentState(7, "error")])
    assert without_reasons(fold_at(T0 + 2 * H, once)) == [
        AlertCleared(fp("low"), RESOLVE_AFTER, ""),
        AlertResolved(fp("low"), 7, RESOLVE_AFTER, ""),
        IncidentAutoResolved(7, ""),
    ]
    assert fold_at(T0 + 2 * H, once)[-1].reason == AUTO_RESOLVED


def test_an_incident_stays_open_while_one_of_its_alerts_fires() -> None:
    standing = Standing(
        [alert("low", "firing", cleared=1, incident=7), alert("worse", "firing", incident=7)],
        [IncidentState(7, "error")],
    )
    assert kinds(fold_at(T0 + 2 * H, standing, found("worse"))) == [
        "AlertSeen",
        "AlertCleared",
        "AlertResolved",
    ]


def test_a_rule_not_evaluated_this_time_leaves_its_alerts_alone() -> None:
    firing = Standing([alert("low", "firing", cleared=1, incident=7)], [IncidentState(7, "error")])
    assert fold_at(T0 + H, firing, evaluated=frozenset({"worse"})) == []


# --- flapping ----------------------------------------------------------------------------------


def test_a_condition_that_alternates_every_window_keeps_one_open_incident() -> None:
    """Today's rule (issue 15 may change it): one clean evaluation is not a recovery, and a
    firing alert seen again is not news. So from firing, a window without the finding and a
    window with it bring it back to where it was, never paging nor resolving."""
    incident = [IncidentState(1, "error")]
    firing = Standing([alert("low", "firing", incident=1)], incident)
    assert without_reasons(fold_at(T0 + H, firing)) == [AlertCleared(fp("low"), 1, "")]
    once_clean = Standing([alert("low", "firing", cleared=1, incident=1)], incident)
    assert kinds(fold_at(T0 + 2 * H, once_clean, found("low"))) == ["AlertSeen"]


def test_a_condition_that_returns_after_two_clean_windows_reopens_its_incident() -> None:
    """Alternating every two windows resolves the incident each time, and each return within
    REOPEN_WITHIN re-opens that same incident rather than opening another."""
    resolved = Standing(
        [alert("low", "resolved", cleared=2, incident=1)], [], IncidentState(1, "error", T0)
    )
    assert without_reasons(fold_at(T0 + H, resolved, found("low"))) == [
        AlertPending(fp("low"), ""),
        AlertFiring(fp("low"), ""),
        IncidentReopened(1, fp("low"), ""),
        AlertAttached(fp("low"), 1, "low quality", ""),
    ]


# --- re-opening --------------------------------------------------------------------------------


@pytest.mark.parametrize("after", [S, REOPEN_WITHIN])
def test_the_same_alert_within_the_window_reopens_the_incident_it_belonged_to(
    after: timedelta,
) -> None:
    resolved = Standing(
        [alert("low", "resolved", incident=3)], [], IncidentState(3, "error", T0 + H)
    )
    transitions = fold_at(T0 + H + after, resolved, found("low"))
    [reopened] = [t for t in transitions if isinstance(t, IncidentReopened)]
    assert (reopened.incident, reopened.fingerprint) == (3, fp("low"))
    assert "#3 resolved" in reopened.reason and "within 1d" in reopened.reason
    assert not [t for t in transitions if isinstance(t, IncidentOpened)]


def test_after_the_window_the_same_alert_opens_a_new_incident() -> None:
    resolved = Standing(
        [alert("low", "resolved", incident=3)], [], IncidentState(3, "error", T0 + H)
    )
    transitions = fold_at(T0 + H + REOPEN_WITHIN + S, resolved, found("low"))
    [opened] = [t for t in transitions if isinstance(t, IncidentOpened)]
    assert opened.reason == "no incident is open; #3 resolved more than 1d ago"
    assert AlertAttached(fp("low"), NEW, "low quality", "") in without_reasons(transitions)


def test_another_alert_within_the_window_opens_a_new_incident() -> None:
    resolved = Standing(
        [alert("low", "resolved", incident=3)], [], IncidentState(3, "error", T0 + H)
    )
    transitions = fold_at(T0 + 2 * H, resolved, found("worse"))
    [opened] = [t for t in transitions if isinstance(t, IncidentOpened)]
    assert "never held this alert" in opened.reason


def test_while_an_incident_is_open_a_returning_alert_joins_it_instead_of_reopening() -> None:
    standing = Standing(
        [alert("low", "resolved", incident=3), alert("worse", "firing", incident=4)],
        [IncidentState(4, "error")],
        IncidentState(3, "error", T0),
    )
    transitions = fold_at(T0 + H, standing, found("low"), found("worse"))
    assert kinds(transitions)[-1:] == ["AlertAttached"]
    assert transitions[-1] == AlertAttached(fp("low"), 4, "low quality", transitions[-1].reason)


# --- a graver alert ----------------------------------------------------------------------------


def test_a_graver_alert_raises_the_open_incident() -> None:
    standing = Standing([alert("low", "firing", incident=5)], [IncidentState(5, "warning")])
    transitions = fold_at(T0 + H, standing, found("low", "warning"), found("worse", "error"))
    assert without_reasons(transitions)[-2:] == [
        IncidentRaised(5, "warning", "error", "worse quality", ""),
        AlertAttached(fp("worse"), 5, "worse quality", ""),
    ]


@pytest.mark.parametrize("severity", ["warning", "error"])
def test_an_alert_no_graver_than_the_incident_joins_it_without_raising(
    severity: Severity,
) -> None:
    standing = Standing([], [IncidentState(5, "error")])
    assert kinds(fold_at(T0, standing, found("worse", severity)))[-1:] == ["AlertAttached"]
    assert "IncidentRaised" not in kinds(fold_at(T0, standing, found("worse", severity)))


def test_a_raised_incident_is_as_grave_as_its_gravest_alert_from_then_on() -> None:
    standing = Standing([], [IncidentState(5, "warning")])
    transitions = fold_at(T0, standing, found("worse", "critical"), found("low", "error"))
    assert [(t.was, t.severity) for t in transitions if isinstance(t, IncidentRaised)] == [
        ("warning", "critical")
    ]


def test_each_graver_alert_raises_in_turn_even_the_incident_just_opened() -> None:
    transitions = fold_at(T0, NOBODY, found("low", "warning"), found("worse", "critical"))
    assert without_reasons(transitions)[-4:] == [
        IncidentOpened(fp("low"), "warning", "low quality", ""),
        AlertAttached(fp("low"), NEW, "low quality", ""),
        IncidentRaised(NEW, "warning", "critical", "worse quality", ""),
        AlertAttached(fp("worse"), NEW, "worse quality", ""),
    ]


# --- silences ----------------------------------------------------------------------------------


def silence(matchers: dict[str, str], ends_at: datetime) -> Silence:
    return Silence(9, matchers, T0 - H, ends_at, "ana@corp.example", "retraining", "bot")


def test_a_silenced_alert_fires_muted_and_pages_nobody() -> None:
    transitions = fold_at(T0, NOBODY, found("low"), silences=[silence({"rule": "l*"}, T0 + H)])
    assert kinds(transitions) == ["AlertPending", "AlertFiring", "AlertSeen", "AlertMuted"]
    seen, muted = transitions[2], transitions[3]
    assert isinstance(seen, AlertSeen) and isinstance(muted, AlertMuted)
    assert seen.muted_by == muted.reason
    assert (
        muted.reason.startswith("silence #9 by ana@corp.example") and "retraining" in muted.reason
    )


def test_a_silence_mutes_only_what_it_matches_and_only_while_it_lasts() -> None:
    only_low = [silence({"rule": "low"}, T0 + H)]
    transitions = fold_at(T0, NOBODY, found("low"), found("worse"), silences=only_low)
    assert [t.fingerprint for t in transitions if isinstance(t, AlertMuted)] == [fp("low")]
    assert [t.fingerprint for t in transitions if isinstance(t, AlertAttached)] == [fp("worse")]
    ended = fold_at(T0 + H, NOBODY, found("low"), silences=only_low)
    assert "AlertMuted" not in kinds(ended) and "IncidentOpened" in kinds(ended)


# --- the Art. 73 report ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "days"),
    [("default", 15), ("widespread", 2), ("critical-infrastructure", 2), ("death", 10)],
)
def test_the_report_is_due_after_its_kinds_days_from_awareness(kind: str, days: int) -> None:
    assert report_due(kind, T0) == T0 + days * DAY


def test_an_unknown_kind_of_serious_incident_is_refused() -> None:
    with pytest.raises(ActionError) as refused:
        report_due("minor", T0)
    assert refused.value.kind == "invalid" and "default" in str(refused.value)


def test_reminders_come_in_the_last_fifth_of_the_window_and_when_overdue_once_each() -> None:
    due = T0 + 15 * DAY
    soon = due - 3 * DAY
    assert reminder_stage(due, T0, soon - S, set()) is None
    assert reminder_stage(due, T0, soon, set()) == "due-soon"
    assert reminder_stage(due, T0, due - S, {"due-soon"}) is None
    assert reminder_stage(due, T0, due, {"due-soon"}) == "overdue"
    assert reminder_stage(due, T0, due + DAY, {"due-soon", "overdue"}) is None


def test_an_incident_without_alerts_is_not_resolved_by_itself() -> None:
    assert fold_at(T0, Standing([], [IncidentState(7, "error")])) == []
