"""An incident's life through the real alerting service on both stores: `for:` holding an alert
pending, an incident re-opening within its window, a graver alert raising it, who may act on it,
and the Art. 73 report's deadlines and reminders. Findings are handed in as the monitor would
hand them. The same rules without a store: test_lifecycle_pure.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.manifest import load_text
from watchkeeper.monitor.engine import Evaluation
from watchkeeper.monitor.findings import Finding, Severity
from watchkeeper.store import IncidentRecord
from watchkeeper.testing import T0

M, H, DAY, S = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1), timedelta(seconds=1)
ANA, KIM = "ana@corp.example", "kim@corp.example"
RULES = ("low", "slow", "worse")
# The desk's runbook, unlike the defaults (3, 7d): a test passes only if the service reads them.
RESOLVE_AFTER, REOPEN_WITHIN = 2, DAY


@pytest.fixture
def flapping() -> dict[str, object]:
    """The runbook's `resolve_after` and `reopen_within` (a test parametrizes it to change them)."""
    return {"resolve_after": RESOLVE_AFTER, "reopen_within": "1d"}


@pytest.fixture
def desk(app: Watchkeeper, flapping: dict[str, object]) -> Watchkeeper:
    people = {"apiVersion": "watchkeeper/v1", "kind": "People",
              "people": [{"email": ANA}, {"email": KIM}]}  # fmt: skip
    alert = {"signal": "quality", "below": 0.5, "playbook": "look"}
    system = {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot"},
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": ANA, "kill_authority": [KIM]},
            "runbook": {
                "signals": {
                    "quality": {"from": "observation", "field": "metadata.score", "window": "1h"}
                },
                "alerts": [
                    {"name": "low", **alert},
                    {"name": "slow", "for": "10m", **alert},
                    {"name": "worse", **alert},
                ],
                "escalation": {
                    "levels": [{"notify": [ANA]}, {"after": "30m", "notify": [KIM]}],
                },
                "playbooks": {"look": {"steps": ["look"]}},
                **flapping,
            },
        },
    }
    text = "\n---\n".join(json.dumps(d) for d in (people, system))
    app.charter.apply(load_text(text), "ops", T0 - DAY)
    return app


def seen(desk: Watchkeeper, now: datetime, *found: tuple[str, Severity]) -> list[int]:
    """One evaluation of every rule at `now` that found `(rule, severity)` for each given."""
    findings = [
        Finding("bot", "threshold", "quality", severity, f"{rule} quality", now - H, now, rule)
        for rule, severity in found
    ]
    evaluation = Evaluation("bot", 1, findings, findings, frozenset(RULES))
    return desk.alerting.process(evaluation, now)


def status(desk: Watchkeeper, rule: str) -> str:
    with desk.store.read() as unit:
        [alert] = [a for a in unit.alerting.alerts("bot") if a.rule == rule]
        return alert.status


def incident(desk: Watchkeeper, incident_id: int) -> IncidentRecord:
    with desk.store.read() as unit:
        found = unit.alerting.incident(incident_id)
    assert found is not None
    return found


def events(desk: Watchkeeper, incident_id: int) -> list[str]:
    with desk.store.read() as unit:
        return [e.kind for e in unit.alerting.incident_events(incident_id)]


def resolved_at(desk: Watchkeeper, at: datetime) -> int:
    """An incident from rule `low` that opened at `at`, paged both levels (the second at
    `at + 1h`) and resolved by itself at `at + 2h`."""
    [opened] = seen(desk, at, ("low", "error"))
    assert desk.alerting.escalate(at, "bot") == 1
    seen(desk, at + H)
    assert desk.alerting.escalate(at + H, "bot") == 1
    seen(desk, at + 2 * H)
    assert incident(desk, opened).resolved_at == at + 2 * H
    return opened


def told(desk: Watchkeeper, incident_id: int) -> list[tuple[str, str]]:
    """(purpose, recipient) of every message about the incident, in the order they went."""
    with desk.store.read() as unit:
        return [(d.purpose, d.recipient) for d in unit.alerting.deliveries(incident_id=incident_id)]


# --- for: --------------------------------------------------------------------------------------


def test_an_alert_with_for_is_pending_until_it_persisted(desk: Watchkeeper) -> None:
    assert seen(desk, T0, ("slow", "error")) == []
    assert status(desk, "slow") == "pending"
    assert seen(desk, T0 + 10 * M - S, ("slow", "error")) == []
    assert status(desk, "slow") == "pending"
    [opened] = seen(desk, T0 + 10 * M, ("slow", "error"))
    assert status(desk, "slow") == "firing"
    assert incident(desk, opened).opened_at == T0 + 10 * M


def test_an_alert_without_for_fires_at_once(desk: Watchkeeper) -> None:
    assert len(seen(desk, T0, ("low", "error"))) == 1
    assert status(desk, "low") == "firing"


def test_a_pending_alert_that_stops_clears_without_an_incident_and_starts_over(
    desk: Watchkeeper,
) -> None:
    seen(desk, T0, ("slow", "error"))
    seen(desk, T0 + 5 * M)
    assert status(desk, "slow") == "pending"  # one clean evaluation is not yet a recovery
    seen(desk, T0 + 6 * M)
    assert status(desk, "slow") == "resolved"
    assert seen(desk, T0 + 11 * M, ("slow", "error")) == []
    assert status(desk, "slow") == "pending", "its 10 minutes count again from the return"
    assert seen(desk, T0 + 20 * M, ("slow", "error")) == []
    assert len(seen(desk, T0 + 21 * M, ("slow", "error"))) == 1
    with desk.store.read() as unit:
        assert len(unit.alerting.incidents("bot")) == 1


# --- re-opening --------------------------------------------------------------------------------


@pytest.mark.parametrize("after", [H, REOPEN_WITHIN])
def test_the_same_alert_within_the_window_reopens_the_resolved_incident_without_a_page(
    desk: Watchkeeper, after: timedelta
) -> None:
    """Both levels were paged before it resolved: nobody is paged again, and both hear it is
    back. Its escalation clock stood still while it was resolved."""
    first = resolved_at(desk, T0)
    back = T0 + 2 * H + after
    assert seen(desk, back, ("low", "error")) == []
    again = incident(desk, first)
    assert (again.status, again.reopened, again.resolved_at) == ("triggered", 1, None)
    assert again.escalation_from == T0 + after
    assert events(desk, first).count("reopened") == 1
    assert desk.alerting.escalate(back + H, "bot") == 0
    assert told(desk, first) == [
        *[("page", ANA), ("page", KIM)],
        *[("resolve", ANA), ("resolve", KIM)],
        *[("reopen", ANA), ("reopen", KIM)],
    ]


def test_after_the_window_the_same_alert_opens_a_new_incident_and_is_still_one_alert(
    desk: Watchkeeper,
) -> None:
    first = resolved_at(desk, T0)
    [second] = seen(desk, T0 + 2 * H + REOPEN_WITHIN + S, ("low", "error"))
    assert second != first
    assert incident(desk, first).status == "resolved"
    assert incident(desk, second).reopened == 0
    with desk.store.read() as unit:
        [alert] = unit.alerting.alerts("bot")
    assert alert.incident_id == second


def test_another_alert_within_the_window_opens_a_new_incident(desk: Watchkeeper) -> None:
    first = resolved_at(desk, T0)
    [second] = seen(desk, T0 + 3 * H, ("worse", "error"))
    assert second != first and incident(desk, first).status == "resolved"


def test_an_alert_reopens_its_own_incident_though_another_resolved_since(
    desk: Watchkeeper,
) -> None:
    first = resolved_at(desk, T0)
    [other] = seen(desk, T0 + 3 * H, ("worse", "error"))
    seen(desk, T0 + 4 * H)
    seen(desk, T0 + 5 * H)
    assert incident(desk, other).status == "resolved"
    assert seen(desk, T0 + 6 * H, ("low", "error")) == []
    assert (incident(desk, first).status, incident(desk, other).status) == ("triggered", "resolved")


def test_a_reopened_incident_that_was_acknowledged_stays_with_its_acknowledger(
    desk: Watchkeeper,
) -> None:
    [opened] = seen(desk, T0, ("low", "error"))
    desk.alerting.escalate(T0, "bot")
    desk.alerting.acknowledge(opened, KIM, T0 + M)
    seen(desk, T0 + H)
    seen(desk, T0 + 2 * H)
    assert seen(desk, T0 + 3 * H, ("low", "error")) == []
    again = incident(desk, opened)
    assert (again.status, again.acknowledged_by, again.reopened) == ("acknowledged", KIM, 1)
    assert desk.alerting.escalate(T0 + 5 * H, "bot") == 0
    assert [who for why, who in told(desk, opened) if why == "reopen"] == [ANA, KIM]
    with desk.store.read() as unit:
        notices = [d for d in unit.alerting.deliveries(incident_id=opened) if d.purpose == "reopen"]
    assert {(d.event, d.title) for d in notices} == {("notice", "Re-opened: low quality")}


@pytest.mark.parametrize("acknowledged", [False, True])
def test_a_graver_alert_reopening_its_incident_raises_it_and_pages(
    desk: Watchkeeper, acknowledged: bool
) -> None:
    [opened] = seen(desk, T0, ("low", "warning"))
    desk.alerting.escalate(T0, "bot")
    if acknowledged:
        desk.alerting.acknowledge(opened, ANA, T0 + M)
    seen(desk, T0 + H)
    seen(desk, T0 + 2 * H)
    assert seen(desk, T0 + 3 * H, ("low", "critical")) == [opened]
    raised = incident(desk, opened)
    assert (raised.status, raised.severity, raised.reopened) == ("triggered", "critical", 1)
    assert desk.alerting.escalate(T0 + 3 * H, "bot") == 1, "level 1 is paged anew"
    assert [who for why, who in told(desk, opened) if why == "page"] == [ANA, ANA]


# --- flapping ----------------------------------------------------------------------------------


def test_a_condition_alternating_every_window_keeps_one_incident_open(desk: Watchkeeper) -> None:
    opened = [seen(desk, T0 + k * H, *([("low", "error")] if k % 2 == 0 else [])) for k in range(8)]
    assert opened[0] and not any(opened[1:]), "one incident, opened once"
    assert incident(desk, opened[0][0]).status == "triggered"
    assert "resolved" not in events(desk, opened[0][0])
    assert status(desk, "low") == "firing"


def test_a_condition_back_after_two_clean_windows_reopens_its_incident_each_time(
    desk: Watchkeeper,
) -> None:
    present = {0, 3, 6}
    opened = [
        seen(desk, T0 + k * H, *([("low", "error")] if k in present else [])) for k in range(7)
    ]
    assert opened[0] and not any(opened[1:])
    again = incident(desk, opened[0][0])
    assert (again.status, again.reopened) == ("triggered", 2)
    assert events(desk, again.id).count("resolved") == 2
    with desk.store.read() as unit:
        assert len(unit.alerting.incidents("bot")) == 1


@pytest.mark.parametrize(
    "flapping",
    [{"resolve_after": 1}, {"resolve_after": 3}],
    ids=["resolving-each-time", "never-resolving"],
)
def test_a_flapping_rule_makes_one_incident_and_one_page(desk: Watchkeeper) -> None:
    """Ten evaluations alternating found / not found, escalation ticking at each. Whether each
    clean one resolves the incident (resolve_after: 1) or none does (3), it is one incident,
    paged once, acknowledged once, and it stays with the one who acknowledged it."""
    for k in range(10):
        now = T0 + k * H
        seen(desk, now, *([("low", "error")] if k % 2 == 0 else []))
        desk.alerting.escalate(now, "bot")
        if k == 0:
            [only] = desk.alerting.list_incidents("bot", open_only=True)
            desk.alerting.acknowledge(only["id"], ANA, now + M)
    with desk.store.read() as unit:
        [flapped] = unit.alerting.incidents("bot")
        assert len(unit.alerting.alerts("bot")) == 1
    assert flapped.acknowledged_by == ANA
    assert [who for why, who in told(desk, flapped.id) if why == "page"] == [ANA]


@pytest.mark.parametrize("flapping", [{"resolve_after": 1}])
def test_an_unacknowledged_flapping_incident_escalates_on_open_time_alone(
    desk: Watchkeeper,
) -> None:
    """Found every other 10 minutes, resolving in between: level 1 is paged once, and level 2
    (30m) once the incident has been open 30 minutes in all, at 60m. Restarting the path at
    each re-open would page level 1 five times; counting the resolved time would page level 2
    at 40m."""
    for k in range(10):
        now = T0 + k * 10 * M
        seen(desk, now, *([("low", "error")] if k % 2 == 0 else []))
        desk.alerting.escalate(now, "bot")
    with desk.store.read() as unit:
        [flapped] = unit.alerting.incidents("bot")
        paged = [
            (d.at, d.recipient)
            for d in unit.alerting.deliveries(incident_id=flapped.id)
            if d.purpose == "page"
        ]
    assert flapped.reopened == 4
    assert paged == [(T0, ANA), (T0 + 60 * M, KIM)]
    assert [who for why, who in told(desk, flapped.id) if why == "reopen"] == [ANA] * 3 + [ANA, KIM]


# --- a graver alert ----------------------------------------------------------------------------


def test_a_graver_alert_raises_the_open_incident_and_restarts_its_escalation(
    desk: Watchkeeper,
) -> None:
    [opened] = seen(desk, T0, ("low", "warning"))
    assert desk.alerting.escalate(T0 + 2 * H, "bot") == 1, "a warning tells level 1 only"
    desk.alerting.acknowledge(opened, ANA, T0 + 2 * H)
    raised_at = T0 + 3 * H
    assert seen(desk, raised_at, ("low", "warning"), ("worse", "error")) == [opened]
    raised = incident(desk, opened)
    assert (raised.severity, raised.status, raised.title) == ("error", "triggered", "worse quality")
    assert (raised.acknowledged_at, raised.escalation_from) == (None, raised_at)
    assert "raised" in events(desk, opened)
    assert desk.alerting.escalate(raised_at, "bot") == 1
    assert desk.alerting.escalate(raised_at + 30 * M, "bot") == 1, "an error walks the path"


def test_an_alert_as_grave_as_the_incident_joins_it_without_raising(desk: Watchkeeper) -> None:
    [opened] = seen(desk, T0, ("low", "error"))
    desk.alerting.acknowledge(opened, ANA, T0 + M)
    assert seen(desk, T0 + H, ("low", "error"), ("worse", "error")) == []
    joined = incident(desk, opened)
    assert (joined.status, joined.acknowledged_by) == ("acknowledged", ANA)
    assert "raised" not in events(desk, opened)


# --- who may act ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["ack", "resolve", "serious"])
def test_only_people_on_the_path_or_the_charter_act_on_an_incident(
    desk: Watchkeeper, action: str
) -> None:
    """Decided by the one authority function, which Operations consults on every face."""
    [opened] = seen(desk, T0, ("low", "error"))
    stranger = Operations(desk, "stranger@corp.example", T0 + H, enforce=False)
    act = {
        "ack": lambda: stranger.incident_ack(opened),
        "resolve": lambda: stranger.incident_resolve(opened, "not mine"),
        "serious": lambda: stranger.incident_serious(opened, "d"),
    }[action]
    with pytest.raises(ActionError) as refused:
        act()
    assert refused.value.kind == "forbidden"
    still = incident(desk, opened)
    assert (still.status, still.serious) == ("triggered", False)


def test_acting_on_an_unknown_incident_is_not_found(desk: Watchkeeper) -> None:
    with pytest.raises(ActionError) as refused:
        desk.alerting.acknowledge(404, ANA, T0)
    assert refused.value.kind == "not_found"


# --- Art. 73 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "death", "widespread", "days"),
    [
        ("d", False, False, 15),
        ("c", False, True, 2),
        ("b", False, False, 2),
        ("a", True, False, 10),
    ],
)
def test_the_art_73_report_is_due_after_its_kinds_days_from_awareness(
    desk: Watchkeeper, category: str, death: bool, widespread: bool, days: int
) -> None:
    [opened] = seen(desk, T0, ("low", "error"))
    aware = T0 - 6 * H
    classified = desk.alerting.classify_serious(
        opened, category, ANA, T0 + H, aware, death=death, widespread=widespread
    )
    assert classified["report_due"] == (aware + days * DAY).isoformat()
    assert incident(desk, opened).report_due == aware + days * DAY


@pytest.mark.parametrize(("category", "death", "days"), [("d", False, 15), ("a", True, 10)])
def test_reminders_at_four_fifths_of_the_window_and_when_overdue_once_each(
    desk: Watchkeeper, category: str, death: bool, days: int
) -> None:
    [opened] = seen(desk, T0, ("low", "error"))
    desk.alerting.classify_serious(opened, category, ANA, T0, death=death)
    due, soon = T0 + days * DAY, T0 + days * DAY * 4 / 5
    assert desk.alerting.remind_serious(soon - S, "bot") == 0
    assert desk.alerting.remind_serious(soon, "bot") == 1
    assert desk.alerting.remind_serious(due - S, "bot") == 0, "due soon is said once"
    assert desk.alerting.remind_serious(due, "bot") == 1
    assert desk.alerting.remind_serious(due + DAY, "bot") == 0, "overdue is said once"
    with desk.store.read() as unit:
        stages = [e.detail["stage"] for e in unit.alerting.incident_events(opened)
                  if e.kind == "serious.reminder"]  # fmt: skip
    assert stages == ["due-soon", "overdue"]
