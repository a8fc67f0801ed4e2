"""The alerting lifecycle as a pure function: each test states a system's alerts and incidents,
folds one evaluation in at one instant, and reads the transitions. The same rules applied to a
real store: test_lifecycle.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from watchkeeper.alerting.lifecycle import (
    AUTO_RESOLVED,
    NEW,
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
from watchkeeper.alerting.serious import classification, reminder_stage
from watchkeeper.durations import format_duration
from watchkeeper.errors import ActionError
from watchkeeper.monitor.engine import Evaluation
from watchkeeper.monitor.findings import Finding, Severity
from watchkeeper.testing import T0

S, M, H, DAY = (timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1),
                timedelta(days=1))  # fmt: skip
RULES = {"low": timedelta(0), "slow": 10 * M, "worse": timedelta(0)}
NOBODY = Standing([], [])
# The runbook of these tests, unlike the defaults (3, 7d), so nothing passes by leaning on them.
RESOLVE_AFTER, REOPEN_WITHIN = 2, DAY


def fp(rule: str) -> str:
    return f"bot/{rule}/quality"


def alert(
    rule: str, status: str, *, since: datetime = T0, cleared: int = 0, incident: int | None = None
) -> AlertState:
    return AlertState(fp(rule), rule, status, since, cleared, incident)


def found(rule: str, severity: Severity = "error", window_end: datetime = T0 + H) -> Finding:
    return Finding(
        "bot", "threshold", "quality", severity, f"{rule} quality", window_end - H, window_end, rule
    )


def fold_at(
    now: datetime,
    standing: Standing,
    *findings: Finding,
    silences: Sequence[Silence] = (),
    evaluated: frozenset[str] = frozenset(RULES),
    resolve_after: int = RESOLVE_AFTER,
    reopen_within: timedelta = REOPEN_WITHIN,
) -> list[Transition]:
    evaluation = Evaluation("bot", 1, list(findings), list(findings), evaluated)
    return fold(
        standing,
        evaluation,
        silences,
        RULES,
        now,
        resolve_after=resolve_after,
        reopen_within=reopen_within,
    )


def resolved_incident(
    incident: int = 3, at: datetime = T0 + H, severity: str = "error", by: str | None = None
) -> Standing:
    """Rule `low`'s alert resolved, and with it incident `incident` at `at`."""
    return Standing(
        [alert("low", "resolved", incident=incident)],
        [],
        {incident: IncidentState(incident, severity, at, by)},
    )


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


@pytest.mark.parametrize("resolve_after", [1, 4])
def test_an_alert_resolves_only_after_its_rule_ran_resolve_after_times_without_it(
    resolve_after: int,
) -> None:
    """The runbook's `resolve_after`, counted in evaluations of the rule in a row; its incident
    resolves with its last alert."""
    incident = [IncidentState(7, "error")]
    for clean in range(1, resolve_after + 1):
        standing = Standing([alert("low", "firing", cleared=clean - 1, incident=7)], incident)
        transitions = fold_at(T0 + clean * H, standing, resolve_after=resolve_after)
        resolved = [
            AlertCleared(fp("low"), clean, ""),
            AlertResolved(fp("low"), 7, clean, ""),
            IncidentAutoResolved(7, ""),
        ]
        last = clean == resolve_after
        assert without_reasons(transitions) == (resolved if last else resolved[:1]), clean
    assert transitions[0].reason == f"rule low was evaluated without it ({clean} of {clean})"
    assert transitions[-1].reason == AUTO_RESOLVED


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


# --- one cause, one alert ----------------------------------------------------------------------


def test_one_cause_found_several_times_in_one_evaluation_is_one_alert_at_its_gravest() -> None:
    """Windows caught up on in one evaluation each find it: still one alert, saying the worst
    (and of equally grave findings, the latest)."""
    findings = [
        found("low", "error", T0 + H),
        found("low", "critical", T0 + 2 * H),
        found("low", "warning", T0 + 3 * H),
    ]
    transitions = fold_at(T0 + 3 * H, NOBODY, *findings)
    assert kinds(transitions).count("AlertSeen") == 1
    assert kinds(transitions).count("IncidentOpened") == 1
    [seen] = [t for t in transitions if isinstance(t, AlertSeen)]
    assert seen.severity == "critical"
    later = replace(found("low", "error", T0 + 2 * H), summary="later")
    latest = fold_at(T0 + 3 * H, NOBODY, later, found("low"))
    assert [t.summary for t in latest if isinstance(t, AlertSeen)] == ["later"]


def test_a_firing_alert_found_again_is_not_news() -> None:
    firing = Standing([alert("low", "firing", cleared=1, incident=1)], [IncidentState(1, "error")])
    assert kinds(fold_at(T0 + 2 * H, firing, found("low"))) == ["AlertSeen"]


# --- flapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("resolve_after", [2, 4])
def test_a_condition_that_comes_back_before_resolve_after_keeps_its_alert_firing(
    resolve_after: int,
) -> None:
    """Short of `resolve_after` clean evaluations it has not recovered: seen again, its count
    starts over and nothing else happens (no page, no incident)."""
    incident = [IncidentState(1, "error")]
    almost = Standing([alert("low", "firing", cleared=resolve_after - 2, incident=1)], incident)
    assert kinds(fold_at(T0 + H, almost, resolve_after=resolve_after)) == ["AlertCleared"]
    cleared = Standing([alert("low", "firing", cleared=resolve_after - 1, incident=1)], incident)
    assert kinds(fold_at(T0 + 2 * H, cleared, found("low"), resolve_after=resolve_after)) == [
        "AlertSeen"
    ]


# --- re-opening --------------------------------------------------------------------------------


@pytest.mark.parametrize("reopen_within", [H, REOPEN_WITHIN, 7 * DAY])
@pytest.mark.parametrize("early", [True, False])
def test_the_same_alert_back_within_reopen_within_reopens_its_incident_after_it_a_new_one(
    reopen_within: timedelta, early: bool
) -> None:
    """Within the cool-down (to the second, inclusive) the same cause re-opens the incident it
    was in; a second later it is a new incident."""
    back = T0 + H + (reopen_within if early else reopen_within + S)
    transitions = fold_at(back, resolved_incident(), found("low"), reopen_within=reopen_within)
    window = format_duration(reopen_within)
    if early:
        assert without_reasons(transitions) == [
            AlertPending(fp("low"), ""),
            AlertFiring(fp("low"), ""),
            IncidentReopened(3, fp("low"), "triggered", reopen_within, ""),
            AlertAttached(fp("low"), 3, "low quality", ""),
        ]
        [reopened] = [t for t in transitions if isinstance(t, IncidentReopened)]
        assert reopened.reason == (
            f"#3 held this alert and resolved {window} ago, within {window}; nobody "
            "acknowledged it, so its escalation goes on where it stood"
        )
    else:
        assert without_reasons(transitions)[2:] == [
            IncidentOpened(fp("low"), "error", "low quality", ""),
            AlertAttached(fp("low"), NEW, "low quality", ""),
        ]
        [opened] = [t for t in transitions if isinstance(t, IncidentOpened)]
        assert f"longer than {window} (reopen_within)" in opened.reason


def test_a_reopened_incident_pages_nobody_anew() -> None:
    """Neither opened nor raised: the only transitions that page. The escalation clock stops
    for as long as the incident was resolved, so its path goes on where it stood."""
    transitions = fold_at(T0 + 3 * H, resolved_incident(at=T0 + H), found("low"))
    assert not [t for t in transitions if isinstance(t, IncidentOpened | IncidentRaised)]
    [reopened] = [t for t in transitions if isinstance(t, IncidentReopened)]
    assert (reopened.status, reopened.paused) == ("triggered", 2 * H)


def test_a_reopened_incident_that_was_acknowledged_stays_with_its_acknowledger() -> None:
    standing = resolved_incident(by="ana@corp.example")
    transitions = fold_at(T0 + 2 * H, standing, found("low"))
    [reopened] = [t for t in transitions if isinstance(t, IncidentReopened)]
    assert reopened.status == "acknowledged"
    assert reopened.reason.endswith("; it stays with ana@corp.example, who acknowledged it")
    assert not [t for t in transitions if isinstance(t, IncidentRaised)]


@pytest.mark.parametrize("acknowledged_by", [None, "ana@corp.example"])
def test_a_graver_alert_reopening_its_incident_raises_it_which_pages(
    acknowledged_by: str | None,
) -> None:
    """Graver than before is news, acknowledged or not."""
    standing = resolved_incident(severity="warning", by=acknowledged_by)
    transitions = fold_at(T0 + 2 * H, standing, found("low", "critical"))
    assert kinds(transitions)[-3:] == ["IncidentReopened", "IncidentRaised", "AlertAttached"]
    assert without_reasons(transitions)[-2:] == [
        IncidentRaised(3, "warning", "critical", "low quality", ""),
        AlertAttached(fp("low"), 3, "low quality", ""),
    ]


def test_an_alert_that_was_in_no_incident_opens_one() -> None:
    muted_before = Standing([alert("low", "resolved")], [], {3: IncidentState(3, "error", T0)})
    transitions = fold_at(T0 + H, muted_before, found("low"))
    [opened] = [t for t in transitions if isinstance(t, IncidentOpened)]
    assert "in no resolved one it could re-open" in opened.reason


def test_another_alert_within_the_window_opens_a_new_incident() -> None:
    transitions = fold_at(T0 + 2 * H, resolved_incident(), found("worse"))
    assert "IncidentOpened" in kinds(transitions)
    assert "IncidentReopened" not in kinds(transitions)


def test_an_alert_reopens_its_own_incident_though_another_resolved_since() -> None:
    """One cause, one incident: what resolved in between for another cause does not matter."""
    standing = Standing(
        [alert("low", "resolved", incident=3), alert("worse", "resolved", incident=4)],
        [],
        {3: IncidentState(3, "error", T0 + H), 4: IncidentState(4, "error", T0 + 2 * H)},
    )
    transitions = fold_at(T0 + 3 * H, standing, found("low"))
    assert [t.incident for t in transitions if isinstance(t, IncidentReopened)] == [3]


def test_while_an_incident_is_open_a_returning_alert_joins_it_instead_of_reopening() -> None:
    standing = Standing(
        [alert("low", "resolved", incident=3), alert("worse", "firing", incident=4)],
        [IncidentState(4, "error")],
        {3: IncidentState(3, "error", T0)},
    )
    transitions = fold_at(T0 + H, standing, found("low"), found("worse"))
    assert kinds(transitions)[-1:] == ["AlertAttached"]
    assert transitions[-1] == AlertAttached(fp("low"), 4, "low quality", transitions[-1].reason)


def test_two_alerts_back_at_once_gather_in_the_one_incident_the_first_reopens() -> None:
    standing = Standing(
        [alert("low", "resolved", incident=3), alert("worse", "resolved", incident=3)],
        [],
        {3: IncidentState(3, "error", T0)},
    )
    transitions = fold_at(T0 + H, standing, found("low"), found("worse"))
    assert kinds(transitions).count("IncidentReopened") == 1
    assert [t.incident for t in transitions if isinstance(t, AlertAttached)] == [3, 3]


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
    ("category", "death", "widespread", "days"),
    [
        ("d", False, False, 15),
        ("c", False, True, 2),
        ("b", False, False, 2),
        ("a", True, False, 10),
    ],
)
def test_the_report_is_due_after_its_kinds_days_from_awareness(
    category: str, death: bool, widespread: bool, days: int
) -> None:
    chosen = classification(category, death=death, widespread=widespread)
    assert chosen.basis.days == days


def test_an_unknown_category_of_serious_incident_is_refused() -> None:
    with pytest.raises(ActionError) as refused:
        classification("minor")
    assert refused.value.kind == "invalid" and "Art. 3(49)" in str(refused.value)


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
