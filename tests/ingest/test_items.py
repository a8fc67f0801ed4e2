"""Batch validation: per-item errors naming index and field; nothing dropped silently."""

from __future__ import annotations

from watchkeeper.ingest.items import validate_batch
from watchkeeper.testing import T0


def test_valid_and_invalid_items_are_told_apart_by_index_and_field() -> None:
    items = [
        {"id": "a", "inputs": {"q": 1}, "output": "hi", "latency_ms": 12},
        {"id": "b", "latency_ms": "fast"},
        "not an object",
        {"id": "c", "ts": "yesterday"},
        {"id": "d", "colour": "red"},
        {"id": "e", "inputs": [1, 2]},
        {"ts": 1767600000, "output": {"label": "ok"}},
        {"id": "f", "latency_ms": -1},
    ]
    accepted, rejected = validate_batch(items, T0)
    assert accepted[0].id == "a" and len(accepted) == 2
    assert accepted[1].ts.isoformat() == "2026-01-05T08:00:00+00:00"
    assert [(r.index, r.error) for r in rejected] == [
        (1, "items[1].latency_ms: must be a finite number"),
        (2, "items[2]: must be a JSON object"),
        (3, "items[3].ts: 'yesterday' is not an ISO 8601 time"),
        (
            4,
            "items[4].colour: unknown field; allowed: id, inputs, latency_ms, metadata, "
            "model_version, output, ts",
        ),
        (5, "items[5].inputs: must be a JSON object"),
        (7, "items[7].latency_ms: must be at least 0"),
    ]
    assert rejected[1].raw == "not an object"
    assert accepted[0].ts == T0


def test_feedback_needs_an_observation_and_a_value() -> None:
    accepted, rejected = validate_batch(
        [
            {"observation_id": "a", "thumbs_up": False},
            {"observation_id": "a"},
            {"thumbs_up": True},
            {"observation_id": "a", "thumbs_up": "no"},
        ],
        T0,
        kind="feedback",
    )
    assert len(accepted) == 1 and accepted[0].thumbs_up is False
    assert [r.error for r in rejected] == [
        "items[1].label: give at least one of label, score or thumbs_up",
        "items[2].observation_id: is required",
        "items[3].thumbs_up: must be true or false",
    ]
