"""Signal values per window, computed from observations and feedback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from watchkeeper.manifest._models import Signal
from watchkeeper.monitor.signals import Observation, complete_windows, compute, window_start
from watchkeeper.testing import T0


def obs(i: int, **kw: object) -> Observation:
    return Observation(id=str(i), ts=T0 + timedelta(minutes=i), **kw)  # type: ignore[arg-type]


def sig(**kw: object) -> Signal:
    return Signal.model_validate(kw)


def test_rate_of_output_pattern() -> None:
    outputs = ["Sure, here you go", "Sorry, I can't help with that", "I cannot help", "ok"]
    value = compute(
        sig(**{"from": "output", "kind": "rate", "match": "(?i)can.?t help"}),
        [obs(i, output=o) for i, o in enumerate(outputs)],
    )
    assert (value.value, value.n) == (0.25, 4)


def test_quantile_and_mean_of_observation_fields() -> None:
    data = [obs(i, latency_ms=float(i), inputs={"n": i * 2}) for i in range(1, 101)]
    p95 = compute(
        sig(**{"from": "observation", "kind": "quantile", "field": "latency_ms", "q": 0.95}), data
    )
    assert p95.value == pytest.approx(95.05)
    mean = compute(sig(**{"from": "observation", "kind": "mean", "field": "inputs.n"}), data)
    assert mean.value == pytest.approx(101.0) and mean.n == 100


def test_feedback_mean_counts_only_observations_with_feedback() -> None:
    data = [
        obs(0, feedback={"thumbs_up": True}),
        obs(1, feedback={"thumbs_up": False}),
        obs(2),
        obs(3, feedback={"thumbs_up": True}),
    ]
    value = compute(sig(**{"from": "feedback", "kind": "mean", "field": "thumbs_up"}), data)
    assert value.value == pytest.approx(2 / 3) and value.n == 3


def test_expression_signal_rate_and_mean() -> None:
    data = [
        obs(i, output={"label": "fraud" if i % 4 == 0 else "ok", "confidence": i / 10})
        for i in range(10)
    ]
    low = compute(
        sig(**{"from": "output", "kind": "expr", "expr": "output.confidence < 0.3"}), data
    )
    assert low.value == pytest.approx(0.3)
    doubled = compute(
        sig(**{"from": "output", "kind": "expr", "expr": "output.confidence * 2"}), data
    )
    assert doubled.value == pytest.approx(0.9)


def test_no_data_is_none_not_zero() -> None:
    assert compute(sig(**{"from": "output", "kind": "rate", "match": "x"}), []).value is None
    assert compute(sig(**{"from": "observation", "kind": "count"}), []).value == 0


def test_windows_are_epoch_aligned_and_complete() -> None:
    day = timedelta(days=1)
    assert window_start(T0, day) == T0.replace(hour=0)
    windows = list(complete_windows(T0, T0 + timedelta(days=3), day))
    assert [w[0].day for w in windows] == [6, 7]
    assert all(end - start == day for start, end in windows)


@pytest.mark.parametrize(
    "pattern", ["(?i)sorry", "^sorry", "sorry$", "(?s)a.sorry", r"\d+\.\d", "ü", "^[a-z]+$"]
)
def test_a_rate_matches_as_the_manifest_s_re2_pattern_does(pattern: str) -> None:
    """Rates match a batch in one pass with Arrow's RE2: the same hits as the pattern the
    manifest compiled, searched value by value (numbers and booleans as their text)."""
    from watchkeeper.expr import compile_regex
    from watchkeeper.monitor.signals import hits_of

    values = ["Sorry, no", "sorry", "ok", "SORRY!", "über sorry", "a\nsorry", 1.5, True, "42"]
    signal = sig(**{"from": "output", "kind": "rate", "match": pattern})
    compiled = compile_regex(pattern)
    assert hits_of(signal, values) == sum(bool(compiled.search(str(v))) for v in values)
