"""Observation and feedback times outside a sane range are refused per item, with the reason:
older than the system's retention, or more than a little after the moment they arrived."""

from __future__ import annotations

from datetime import timedelta

from tests.server._world import SYSTEM, World
from watchkeeper.ingest.items import FUTURE_SKEW, validate_batch
from watchkeeper.testing import T0

RETENTION = timedelta(days=180)


def test_times_outside_the_sane_range_are_rejected_with_the_reason() -> None:
    items = [
        {"id": "old", "ts": "1970-01-01T00:00:00Z"},
        {"id": "kept", "ts": (T0 - RETENTION + timedelta(hours=1)).isoformat()},
        {"id": "skewed", "ts": (T0 + FUTURE_SKEW).isoformat()},
        {"id": "future", "ts": (T0 + FUTURE_SKEW + timedelta(seconds=1)).isoformat()},
        {"id": "epoch", "ts": 0},
    ]
    accepted, rejected = validate_batch(items, T0, retention=RETENTION)
    assert [a.id for a in accepted] == ["kept", "skewed"]
    assert [r.index for r in rejected] == [0, 3, 4]
    assert rejected[0].error.startswith("items[0].ts: 1970-01-01T00:00:00+00:00 is older than")
    assert "retention (180d)" in rejected[0].error
    assert rejected[1].error.startswith("items[3].ts: ")
    assert "after the time it arrived" in rejected[1].error and "5m" in rejected[1].error


def test_feedback_times_are_held_to_the_same_range() -> None:
    items = [
        {"observation_id": "a", "score": 1, "ts": "1971-01-01T00:00:00Z"},
        {"observation_id": "a", "score": 1, "ts": (T0 + timedelta(days=3)).isoformat()},
        {"observation_id": "a", "score": 1},
    ]
    accepted, rejected = validate_batch(items, T0, kind="feedback", retention=RETENTION)
    assert len(accepted) == 1 and [r.index for r in rejected] == [0, 1]
    assert all(r.error.startswith(f"items[{r.index}].ts: ") for r in rejected)


def test_the_service_dead_letters_them_against_the_systems_retention(world: World) -> None:
    app = world.app
    items = [
        {"id": "1970", "ts": "1970-01-01T00:00:00Z", "output": "x"},
        {"id": "now", "ts": T0.isoformat(), "output": "x"},
        {"id": "next-year", "ts": (T0 + timedelta(days=365)).isoformat(), "output": "x"},
    ]
    result = app.ingest.observations(SYSTEM, items, T0)
    assert result.accepted == 1 and [r.index for r in result.rejected] == [0, 2]
    feedback = app.ingest.feedback(
        SYSTEM, [{"observation_id": "now", "score": 1, "ts": "1970-01-01T00:00:00Z"}], T0
    )
    assert feedback.accepted == 0 and feedback.rejected[0].index == 0
    letters = app.ingest.dead_letters(SYSTEM)
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(reasons) == 3 and all(".ts: " in r for r in reasons)
    with app.store.read() as unit:
        assert unit.ingest.first_observation_at(SYSTEM) == T0
        assert unit.ingest.last_observation_at(SYSTEM) == T0
