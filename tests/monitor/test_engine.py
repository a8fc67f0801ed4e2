"""The monitor end to end on a real store: ingest days of data, tick, read the findings."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from watchkeeper.charter import CharterService
from watchkeeper.ingest.service import IngestService
from watchkeeper.manifest import load_text
from watchkeeper.monitor.embedder import load_embedder
from watchkeeper.monitor.embedding import Embedder
from watchkeeper.monitor.engine import MonitorService
from watchkeeper.store import Store
from watchkeeper.testing import T0

DAY = timedelta(days=1)
START = T0.replace(hour=0)

PEOPLE = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [
        {"email": "ana@corp.example"},
        {"email": "chen@corp.example"},
        {"email": "dana@corp.example"},
    ],
}


def system(runbook: dict[str, Any], upstream: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot"},
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": "ana@corp.example", "data_liaison": "chen@corp.example"},
            "upstream": upstream or [],
            "runbook": {"baseline": {"first": "14d"}, **runbook},
        },
    }


class World:
    def __init__(
        self,
        store: Store,
        manifest: dict[str, Any],
        embedder: Callable[[], Embedder | None] = load_embedder,
    ) -> None:
        self.charter = CharterService(store)
        self.ingest = IngestService(store)
        self.monitor = MonitorService(store, embedder)
        self.store = store
        text = "\n---\n".join(json.dumps(d) for d in (PEOPLE, manifest))
        self.charter.apply(load_text(text), "ops", START)

    def feed(self, days: range, per_day: int, make: Callable[[int, int], dict[str, Any]]) -> None:
        for day in days:
            items = []
            for i in range(per_day):
                item = make(day, i)
                items.append(
                    {
                        "id": f"{day}-{i}",
                        "ts": (START + day * DAY + i * DAY / per_day).isoformat(),
                        **item,
                    }
                )
            result = self.ingest.observations("bot", items, START + (day + 1) * DAY)
            assert not result.rejected

    def tick_days(self, days: range) -> list[Any]:
        found = []
        for day in days:
            found += self.monitor.evaluate("bot", START + (day + 1) * DAY).new
        return found


def feedback_rule(**rule: Any) -> dict[str, Any]:
    return system(
        {
            "healthy": {"quality": {"min": 0.5}},
            "signals": {
                "quality": {"from": "observation", "kind": "mean", "field": "metadata.score"}
            },
            "alerts": [
                {"name": "quality-alert", "signal": "quality", "severity": "critical", **rule}
            ],
        }
    )


def test_a_twenty_percent_drop_fires_once(store: Store) -> None:
    world = World(store, feedback_rule(drop="20%"))
    rng = np.random.default_rng(1)
    level = {d: 0.9 if d < 30 else 0.7 for d in range(40)}
    world.feed(
        range(40), 50, lambda d, i: {"metadata": {"score": float(level[d] + rng.normal(0, 0.02))}}
    )
    found = world.tick_days(range(40))
    drops = [f for f in found if f.check == "drop"]
    assert drops and drops[0].window_start == START + 30 * DAY
    assert drops[0].rule == "quality-alert" and drops[0].severity == "critical"
    assert world.monitor.evaluate("bot", START + 40 * DAY).new == []
    with store.read() as unit:
        stored = unit.monitoring.findings("bot", limit=1000)
    assert len([f for f in stored if f.check == "drop"]) == len(drops)


def test_slow_decline_caught_as_trend_before_the_bound(store: Store) -> None:
    world = World(store, feedback_rule(trend="down"))
    rng = np.random.default_rng(3)

    def level(day: int) -> float:
        return 0.9 if day < 14 else 0.9 * (1 - 0.15 * (day - 14) / 90)

    world.feed(
        range(104), 20, lambda d, i: {"metadata": {"score": float(level(d) + rng.normal(0, 0.01))}}
    )
    trends = [f for f in world.tick_days(range(104)) if f.check == "trend"]
    assert trends
    first = trends[0].window_start
    assert level((first - START).days) > 0.9 * 0.8
    assert "sliding down" in trends[0].summary


def test_renamed_upstream_field_reported_as_missing_plus_new_with_contact(store: Store) -> None:
    upstream = [
        {
            "name": "tickets",
            "team": "support-data",
            "contact": "dana@corp.example",
            "contract": {
                "ticket_text": {"type": "string", "required": True},
                "channel": {"type": "category", "values": ["email", "chat"]},
            },
        }
    ]
    world = World(
        store, system({"alerts": [{"name": "upstream", "contract": "tickets"}]}, upstream)
    )

    def item(day: int, i: int) -> dict[str, Any]:
        key = "ticket_text" if day < 20 else "ticket_body"
        return {"inputs": {key: f"text {i}", "channel": "chat" if i % 2 else "email"}}

    world.feed(range(25), 30, item)
    found = [f for f in world.tick_days(range(25)) if f.check == "contract"]
    by_subject: dict[str, Any] = {}
    for finding in found:
        by_subject.setdefault(finding.subject, finding)
    assert set(by_subject) == {"tickets.ticket_text", "tickets.ticket_body"}
    missing = by_subject["tickets.ticket_text"]
    assert missing.window_start == START + 20 * DAY
    assert missing.evidence["contact"] == "dana@corp.example"
    assert missing.evidence["data_liaison"] == "chen@corp.example"
    assert missing.evidence["kind"] == "vanished"
    assert by_subject["tickets.ticket_body"].evidence["example"] == "text 0"


def test_input_drift_found_against_the_baseline_profile(store: Store) -> None:
    upstream = [
        {
            "name": "tickets",
            "contact": "dana@corp.example",
            "contract": {"age": {"type": "number"}, "channel": {"type": "category"}},
        }
    ]
    world = World(
        store, system({"alerts": [{"name": "input-drift", "drift": ["age", "channel"]}]}, upstream)
    )
    rng = np.random.default_rng(5)

    def item(day: int, i: int) -> dict[str, Any]:
        shift = 15 if day >= 20 else 0
        return {
            "inputs": {"age": float(rng.normal(40 + shift, 10)), "channel": ["a", "b", "c"][i % 3]}
        }

    world.feed(range(24), 200, item)
    drift = [f for f in world.tick_days(range(24)) if f.check == "drift"]
    assert {f.subject for f in drift} == {"age"}
    assert min(f.window_start for f in drift) == START + 20 * DAY


def test_embedding_drift_without_a_model_is_a_finding_not_a_silent_pass(store: Store) -> None:
    world = World(
        store,
        system({"alerts": [{"name": "what-it-says", "drift": ["output_embedding"]}]}),
        embedder=lambda: None,
    )
    world.feed(range(16), 5, lambda d, i: {"output": f"reply {i}"})
    found = [f for f in world.tick_days(range(16)) if f.subject == "output_embedding"]
    assert found and {f.check for f in found} == {"drift"}
    assert all(f.rule is None and f.severity == "warning" for f in found)
    assert "watchkeeper[embeddings]" in found[0].summary
    assert min(f.window_start for f in found) == START + 14 * DAY


@pytest.mark.parametrize("per_day", [50])
def test_stopped_stream_is_silence(store: Store, per_day: int) -> None:
    world = World(store, system({"signals": {"n": {"from": "observation", "kind": "count"}}}))
    world.feed(range(5), per_day, lambda d, i: {"output": "ok"})
    assert not [f for f in world.tick_days(range(5)) if f.check == "silence"]
    quiet = [f for f in world.tick_days(range(5, 8)) if f.check == "silence"]
    assert len(quiet) == 1
    assert "quiet for" in quiet[0].summary


def test_stationary_inputs_raise_no_drift_and_daily_profiles_are_kept_a_month(
    store: Store,
) -> None:
    """Two inputs that never change, 40 rows a day for 60 days: no drift finding (the per-day
    p < 0.05 tests this replaced found some on about one day in four), and each watched column's
    daily profile is kept for the baseline and the last 31 days only."""
    upstream = [
        {
            "name": "tickets",
            "contract": {"age": {"type": "number"}, "channel": {"type": "category"}},
        }
    ]
    world = World(
        store, system({"alerts": [{"name": "input-drift", "drift": ["age", "channel"]}]}, upstream)
    )
    rng = np.random.default_rng(11)

    def item(day: int, i: int) -> dict[str, Any]:
        channel = str(rng.choice(["email", "chat", "phone"]))
        return {"inputs": {"age": float(rng.integers(1, 900)), "channel": channel}}

    world.feed(range(60), 40, item)
    found = world.tick_days(range(60))
    assert [f for f in found if f.check == "drift"] == []
    with store.read() as unit:
        kept = unit.monitoring.window_profiles("bot", START, START + 61 * DAY)
    days = sorted(start for start, _ in kept["age"])
    assert days[:14] == [START + d * DAY for d in range(14)]
    assert days[14] >= START + (60 - 31) * DAY
