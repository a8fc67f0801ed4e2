"""Retention on a timeline, through the scheduler's own tick: what is older than a system's
`spec.retention` goes (observations, their feedback, dead letters), what is newer stays, the
baseline every later window is measured against stays, and the work is done once a day."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from tests.conftest import retention_systems
from watchkeeper.app import Watchkeeper
from watchkeeper.manifest import load_text
from watchkeeper.store import Store
from watchkeeper.store._ingest import FeedbackRow
from watchkeeper.store._monitoring import SignalValueRow
from watchkeeper.testing import T0

DAY = timedelta(days=1)
START = T0.replace(hour=0)  # the first observation; the baseline is its first 14 days
EVER = (START - 1000 * DAY, START + 1000 * DAY)


def at(day: float) -> datetime:
    return START + day * DAY


def apply(app: Watchkeeper, retention: dict[str, str]) -> None:
    """One system per entry, named by it, keeping observations as long as its value says."""
    app.charter.apply(load_text(retention_systems(retention)), "ops", START - DAY)


def observe(app: Watchkeeper, system: str, *days: float) -> None:
    """Each observation arrives when it happened, as it would from the SDK."""
    for day in days:
        item = {"id": f"{system}-{day}", "ts": at(day).isoformat(), "inputs": {"q": "hi"}}
        result = app.ingest.observations(system, [item], at(day) + timedelta(minutes=1))
        assert result.accepted == 1, result.rejected


def feedback(app: Watchkeeper, system: str, observation_id: str, day: float) -> None:
    item = {"observation_id": observation_id, "ts": at(day).isoformat(), "label": "ok"}
    assert app.ingest.feedback(system, [item], at(day) + timedelta(minutes=1)).accepted == 1


def dead_letter(app: Watchkeeper, system: str, day: float) -> None:
    """A rejected item (no time), kept as a dead letter received that day."""
    result = app.ingest.observations(system, [{"id": "x", "ts": "never"}], at(day))
    assert len(result.rejected) == 1


def observation_ids(store: Store, system: str) -> set[str]:
    with store.read() as unit:
        return {o.id for o in unit.ingest.observations(system, *EVER)}


def feedback_for(store: Store, system: str) -> set[str]:
    with store.read() as unit:
        return set(
            unit.session.scalars(
                select(FeedbackRow.observation_id).where(FeedbackRow.system == system)
            )
        )


def dead_letter_days(store: Store, system: str) -> set[float]:
    with store.read() as unit:
        return {(d.received_at - START) / DAY for d in unit.ingest.dead_letters(system)}


def tick(app: Watchkeeper, day: float) -> dict[str, Any]:
    """The scheduler's tick at that moment (the clock is there too: a tick is not replayed)."""
    app.clock.set(at(day))  # type: ignore[attr-defined]
    report = app.scheduler.tick(at(day))
    assert report.ran
    return report.other["retention"]


def test_a_tick_removes_what_is_older_than_retention_and_keeps_the_rest(
    app: Watchkeeper, store: Store
) -> None:
    apply(app, {"bot": "30d", "slow": "90d"})
    observe(app, "bot", 0, 1, 2, 20, 40, 70)
    observe(app, "slow", 0, 20, 40, 70)
    feedback(app, "bot", "bot-1", 1.5)  # on a baseline observation
    feedback(app, "bot", "bot-20", 21)  # on an observation past retention
    feedback(app, "bot", "bot-70", 71)
    feedback(app, "bot", "never-came", 25)  # its observation never arrived
    feedback(app, "bot", "still-coming", 72)
    dead_letter(app, "bot", 20)
    dead_letter(app, "bot", 70)
    app.ingest.reject("not-applied", "otlp", [({"span": 1}, "no such system")], at(20))
    app.triage.flag("bot", "bot-20", "looks wrong", "a@x.io", at(21))

    report = tick(app, 75)  # bot keeps from day 45, slow from day -15

    assert report["observations"] == 2 and report["partials"] == 2 and report["finished"]
    assert observation_ids(store, "bot") == {"bot-0", "bot-1", "bot-2", "bot-70"}, (
        "days 20 and 40 gone; the baseline (days 0-14) and day 70 kept"
    )
    assert observation_ids(store, "slow") == {"slow-0", "slow-20", "slow-40", "slow-70"}
    assert feedback_for(store, "bot") == {"bot-1", "bot-70", "still-coming"}
    assert dead_letter_days(store, "bot") == {70}
    assert dead_letter_days(store, "not-applied") == {20}, "180 days for names never applied"
    with store.read() as unit:
        (item,) = unit.care.triage_items("bot")
    assert item.observation_id == "bot-20" and item.snapshot["inputs"] == {"q": "hi"}, (
        "a triage item is a person's record, with its own snapshot: kept"
    )

    tick(app, 201)
    assert dead_letter_days(store, "not-applied") == set()
    assert observation_ids(store, "slow") == {"slow-0"}, "slow's baseline stays"


def test_a_second_tick_the_same_day_does_no_work(app: Watchkeeper, store: Store) -> None:
    apply(app, {"bot": "30d"})
    observe(app, "bot", 0, 40)
    assert tick(app, 75)["observations"] == 1

    observe(app, "bot", 41)  # arrives late, already past retention
    assert tick(app, 75.5) == {"due": False}
    assert "bot-41" in observation_ids(store, "bot"), "not looked at again until tomorrow"

    assert tick(app, 76)["observations"] == 1
    assert observation_ids(store, "bot") == {"bot-0"}


def test_a_backlog_goes_in_bounded_batches_over_several_runs(
    app: Watchkeeper, store: Store
) -> None:
    apply(app, {"bot": "30d"})
    observe(app, "bot", 0, *range(20, 27))  # seven past retention at day 75
    runs = []
    while not runs or not runs[-1]["finished"]:
        runs.append(app.ingest.purge(at(75), batch=2, budget=4))
        assert len(runs) < 10, "the backlog never ends"
    assert [(run["observations"], run["partials"], run["finished"]) for run in runs] == [
        (4, 0, False),
        (3, 2, False),
        (0, 4, False),
        (0, 1, True),
    ], "batches of 2, about 4 rows a run (each day's partial too); empty steps cost nothing"
    assert observation_ids(store, "bot") == {"bot-0"}
    assert app.ingest.purge(at(75), batch=2, budget=4) == {"due": False}, "then done for the day"


def test_raw_rows_thin_to_the_sample_after_a_week_and_their_windows_stay_profiled(
    app: Watchkeeper, store: Store
) -> None:
    """`raw_sample: 10%`: a week on, nine rows in ten go, except what triage queued and the
    baseline's; the day is still read whole from its partials."""
    people = {"apiVersion": "watchkeeper/v1", "kind": "People", "people": [{"email": "a@x.io"}]}
    bot = {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot"},
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": "a@x.io"},
            "runbook": {
                "baseline": {"first": "2d"},
                "signals": {"volume": {"from": "observation", "kind": "count"}},
            },
            "retention": {"keep": "90d", "raw_sample": "10%"},
        },
    }
    app.charter.apply(load_text("\n---\n".join(json.dumps(d) for d in (people, bot))), "ops", at(0))
    for day in (0, 5, 9):
        items = [
            {"id": f"d{day}-{i}", "ts": at(day + i / 2000).isoformat(), "inputs": {"q": "hi"}}
            for i in range(1000)
        ]
        assert app.ingest.observations("bot", items, at(day + 1)).accepted == 1000
    app.triage.flag("bot", "d5-7", "looks wrong", "a@x.io", at(6))

    report = tick(app, 14)

    kept = observation_ids(store, "bot")
    day5 = {i for i in kept if i.startswith("d5-")}
    assert report["thinned"] == 1000 - len(day5) and report["finished"]
    assert 60 <= len(day5) <= 140 and "d5-7" in day5, "about a tenth, and the flagged one"
    assert {f"d0-{i}" for i in range(1000)} <= kept, "the baseline period stays whole"
    assert {f"d9-{i}" for i in range(1000)} <= kept, "a week has not passed for day 9"
    assert tick(app, 15)["thinned"] == 0, "a thinned day is not walked again"
    with store.write() as unit:
        unit.session.execute(delete(SignalValueRow).where(SignalValueRow.signal == "volume"))
    app.monitor.evaluate("bot", at(15))
    with store.read() as unit:
        series = {s: (v, n) for s, _, v, n in unit.monitoring.signal_series("bot", "volume")}
    assert series[at(5)] == (1000.0, 1000), "read from the day's partials, not its sample"
