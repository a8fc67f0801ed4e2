"""Partials: a window read as the merge of what each batch left equals the window read from its
rows — in the pure functions, in the engine's verdicts, and under concurrent ingest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.monitor.test_engine import DAY, START, World, system
from watchkeeper.ingest.service import COMPACT_AT
from watchkeeper.manifest import Signal
from watchkeeper.monitor.partials import (
    Profiling,
    build,
    column_state,
    merge_columns,
    merged,
    profiling_for,
)
from watchkeeper.monitor.profiles import EXACT_VALUES, NumericProfile, profile
from watchkeeper.monitor.signals import Observation, compute, signal_value
from watchkeeper.store import Store

SIGNALS: dict[str, dict[str, Any]] = {
    "latency": {"from": "observation", "kind": "mean", "field": "latency_ms"},
    "p90": {"from": "observation", "kind": "quantile", "q": 0.9, "field": "latency_ms"},
    "refusals": {"from": "output", "kind": "rate", "match": "(?i)sorry"},
    "volume": {"from": "observation", "kind": "count"},
    "long": {"from": "output", "kind": "expr", "expr": "output_length > 12"},
    "tier": {"from": "observation", "kind": "mean", "field": "inputs.tier"},
}
UPSTREAM = [
    {
        "name": "crm",
        "contact": "dana@corp.example",
        "contract": {
            "tier": {"type": "integer", "required": True},
            "region": {"type": "category", "values": ["eu", "us"]},
        },
    }
]
RUNBOOK = {
    "signals": SIGNALS,
    "healthy": {"latency": {"max": 160}, "refusals": {"max": 0.3}},
    "alerts": [
        {"name": "slow", "signal": "latency", "rise": "20%"},
        {"name": "p90-high", "signal": "p90", "above": 250},
        {"name": "inputs-moved", "drift": ["tier", "region", "latency_ms"]},
        {"name": "crm-broke", "contract": "crm"},
    ],
}


def item(day: int, i: int, rng: np.random.Generator) -> dict[str, Any]:
    """Stationary for three weeks; then latency rises, the tier mix moves and, from day 26,
    the upstream renames `region` and sends `tier` as text."""
    late = day >= 21
    tier: Any = int(rng.integers(1, 4 if not late else 6))
    inputs: dict[str, Any] = {"tier": tier, "region": ["eu", "us"][i % 2]}
    if day >= 26:
        inputs = {"tier": str(tier), "area": inputs["region"]}
    return {
        "inputs": inputs,
        "output": "sorry, no" if rng.random() < 0.1 else "here is a long answer" * (i % 3),
        "latency_ms": float(rng.gamma(4, 30 if not late else 60)),
    }


def feed(world: World, days: range, per_day: int, batches: int, seed: int) -> None:
    """Each day in `batches` batches, so windows are merged from several partials."""
    rng = np.random.default_rng(seed)
    for day in days:
        items = [
            {"id": f"{day}-{i}", "ts": (START + day * DAY + i * DAY / per_day).isoformat(),
             **item(day, i, rng)}
            for i in range(per_day)
        ]  # fmt: skip
        size = -(-per_day // batches)
        for start in range(0, per_day, size):
            result = world.ingest.observations(
                "bot", items[start : start + size], START + (day + 1) * DAY
            )
            assert not result.rejected


def outcome(world: World, days: range) -> tuple[list[Any], dict[str, list[Any]]]:
    findings = []
    for day in days:
        found = world.monitor.evaluate("bot", START + (day + 1) * DAY).findings
        findings += sorted(
            (f.check, f.fingerprint, f.window_start, f.summary, repr(sorted(f.evidence.items())))
            for f in found
        )
    with world.store.read() as unit:
        series = {name: unit.monitoring.signal_series("bot", name) for name in SIGNALS}
    return findings, series


def test_findings_from_partials_equal_findings_from_rows(store: Store, tmp_path: Path) -> None:
    manifest = system(RUNBOOK, UPSTREAM)
    profiled = World(store, manifest)
    feed(profiled, range(32), 90, batches=3, seed=7)
    with store.read() as unit:
        assert unit.ingest.partials("bot", ["day"], START, START + 32 * DAY)
    from_partials = outcome(profiled, range(32))

    rows_only = World(Store.open(f"sqlite:///{tmp_path / 'rows.db'}"), manifest)
    feed(rows_only, range(32), 90, batches=1, seed=7)
    with rows_only.store.write() as unit:
        unit.session.execute(text("DELETE FROM window_partials"))
    from_rows = outcome(rows_only, range(32))

    findings, series = from_partials
    assert {"contract", "drift", "rise", "threshold", "bounds"} <= {f[0] for f in findings}, {
        f[:4] for f in findings if f[0] in ("rise", "undecided", "baseline")
    }
    assert findings == from_rows[0]
    assert series == from_rows[1]
    assert any(v is not None for _, _, v, _ in series["p90"])


def test_a_window_read_again_is_one_merged_partial_with_the_same_verdicts(store: Store) -> None:
    world = World(store, system(RUNBOOK, UPSTREAM))
    feed(world, range(16), 60, batches=4, seed=3)
    before = world.monitor.check("bot", START + 16 * DAY)
    world.monitor.evaluate("bot", START + 16 * DAY)
    with store.read() as unit:
        parts = unit.ingest.partials("bot", ["day"], START, START + 16 * DAY)
    assert parts and all(len(p) == 1 and p[0][1] == 60 for p in parts.values())
    after = world.monitor.check("bot", START + 16 * DAY)
    assert [f.summary for f in after.findings] == [f.summary for f in before.findings]


@pytest.mark.parametrize("replay", [False, True])
def test_replicas_ingesting_at_once_lose_and_double_nothing(store: Store, replay: bool) -> None:
    """Several writers on one window (as several server replicas would), in batches small enough
    that they compact the window's partials as they go, racing each other: every row counts
    once, also when each of them takes the very same replayed batches."""
    world = World(store, system({"signals": SIGNALS}))
    rng = np.random.default_rng(5)
    items = [
        {"id": f"r-{i}", "ts": (START + i * DAY / 400).isoformat(), **item(0, i, rng)}
        for i in range(400)
    ]
    errors: list[BaseException] = []

    def writer(part: list[dict[str, Any]]) -> Callable[[], None]:
        def run() -> None:
            try:
                for start in range(0, len(part), 5):
                    world.ingest.observations("bot", part[start : start + 5], START + DAY)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        return run

    parts = [items] * 4 if replay else [items[k::4] for k in range(4)]
    threads = [threading.Thread(target=writer(part)) for part in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    profiling = profiling_for_bot(store)
    with store.read() as unit:
        stored = unit.ingest.observations("bot", START, START + DAY)
        assert len(stored) == 400
        for name, definition in SIGNALS.items():
            key = profiling.key("signal", name)
            found = unit.ingest.partials("bot", [key], START, START + DAY)
            assert len(found[key, START]) <= COMPACT_AT + len(threads), "compacted as it came"
            state = merged(key, [s for _, _, s in found[key, START]])
            signal = Signal.model_validate(definition)
            assert signal_value(signal, state) == compute(signal, stored), name  # type: ignore[arg-type]


def profiling_for_bot(store: Store) -> Profiling:
    from watchkeeper.store import applied_manifest

    with store.read() as unit:
        return profiling_for(applied_manifest(unit, "bot"))


observations = st.lists(
    st.builds(
        dict,
        latency=st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 900)),
        output=st.one_of(st.none(), st.sampled_from(["sorry", "ok", "Sorry!", "a long reply"])),
        tier=st.one_of(st.none(), st.integers(0, 5), st.booleans(), st.text(max_size=2)),
    ),
    max_size=60,
)


def as_observations(raw: list[dict[str, Any]]) -> list[Observation]:
    return [
        Observation(
            id=f"o{i}",
            ts=START + i * timedelta(minutes=7),
            inputs={"tier": r["tier"]},
            output=r["output"],
            latency_ms=r["latency"],
        )
        for i, r in enumerate(raw)
    ]


@settings(max_examples=60, deadline=None)
@given(observations, st.integers(1, 7))
def test_merged_chunks_give_each_signal_the_value_of_all_rows(
    raw: list[dict[str, Any]], chunks: int
) -> None:
    rows = as_observations(raw)
    profiling = profiling_for(_manifest())
    parts = [p for k in range(chunks) for p in build(profiling, rows[k::chunks])]
    for name, definition in SIGNALS.items():
        key = profiling.key("signal", name)
        signal = Signal.model_validate(definition)
        by_window: dict[Any, list[dict[str, Any]]] = {}
        for p in parts:
            if p.key == key:
                by_window.setdefault(p.window_start, []).append(p.state)
        for start, states in by_window.items():
            window = [o for o in rows if start <= o.ts < start + signal.window]
            got = signal_value(signal, merged(key, states))  # type: ignore[arg-type]
            assert got == compute(signal, window), name


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=300), st.integers(1, 5))
def test_numeric_columns_merge_to_the_profile_of_all_values(
    values: list[float], chunks: int
) -> None:
    edges = (-10.0, 0.0, 3.5, 100.0)
    whole = profile(np.asarray(values), kind="numeric", edges=edges)
    parts = [column_state(values[k::chunks], "numeric", None) for k in range(chunks)]
    joined = parts[0]
    for part in parts[1:]:
        joined = merge_columns(joined, part)
    assert isinstance(whole, NumericProfile)
    assert joined.on(edges) == whole  # type: ignore[union-attr]


def test_beyond_the_exact_limit_a_sketch_keeps_quantiles_and_bins_close() -> None:
    rng = np.random.default_rng(11)
    values = rng.lognormal(3, 1, 6 * EXACT_VALUES)
    parts = [column_state(list(chunk), "numeric", None) for chunk in np.array_split(values, 6)]
    joined = parts[0]
    for part in parts[1:]:
        joined = merge_columns(joined, part)
    assert joined.spread.sketch is not None  # type: ignore[union-attr]
    edges = tuple(np.quantile(values, np.linspace(0.05, 0.95, 19)))
    exact = profile(values, kind="numeric", edges=edges)
    assert isinstance(exact, NumericProfile)
    binned = joined.on(edges)  # type: ignore[union-attr]
    assert binned.count == exact.count and binned.sum == exact.sum
    shares = np.asarray(binned.bins) / len(values) - np.asarray(exact.bins) / len(values)
    assert np.abs(np.cumsum(shares)).max() < 0.01


def _manifest() -> Any:
    from watchkeeper.manifest import SystemManifest

    return SystemManifest.model_validate(system(RUNBOOK, UPSTREAM))
