"""Calibration on known truths: data with no shift must stay within the alarm budget, and a shift
that matters must still be caught."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from watchkeeper.manifest import Runbook
from watchkeeper.monitor.calibration import (
    Noise,
    calibrate_drift,
    cusum_limit,
    cusum_run_length,
    detectable,
    drift_path,
    judge,
    measure_noise,
    rows_needed,
)
from watchkeeper.monitor.explain import drift_entry, signal_entries
from watchkeeper.monitor.profiles import Profile, profile, reference_edges

BUDGET = Runbook().alarm_budget  # the default: 1 per 90d
COLUMNS = 7
ALPHA = BUDGET.per_window(timedelta(days=1), COLUMNS)
SHARES = np.array([0.35, 0.19, 0.20, 0.16, 0.10])
VALUES = np.array(["a", "b", "c", "d", "e"])


def categorical_days(
    rng: np.random.Generator, shares: np.ndarray, rows: int, days: int
) -> list[Profile]:
    return [
        profile(list(rng.choice(VALUES, rows, p=shares)), kind="categorical") for _ in range(days)
    ]


def numeric_days(
    rng: np.random.Generator, edges: Any, rows: int, days: int, shift: float = 0.0
) -> list[Profile]:
    return [
        profile(rng.lognormal(shift, 1.0, rows), kind="numeric", edges=edges) for _ in range(days)
    ]


def first_alarm(path: list[Any]) -> int | None:
    return next((day + 1 for day, d in enumerate(path) if d.alarm), None)


def test_no_shift_stays_within_the_budget_across_seeds() -> None:
    """Seven stationary inputs (four categorical, three skewed numeric) at 200 rows a day, 90
    live days, over 12 seeds: the system's false-alarm days must average at most the budget's
    one per 90 days. Today's per-column p < 0.05 tests raise one on about a day in four."""
    alarm_days = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        for column in range(COLUMNS):
            if column < 4:
                baseline = categorical_days(rng, SHARES, 200, 14)
                live = categorical_days(rng, SHARES, 200, 90)
            else:
                edges = reference_edges(rng.lognormal(0, 1, 2800))
                baseline = numeric_days(rng, edges, 200, 14)
                live = numeric_days(rng, edges, 200, 90)
            calibration = calibrate_drift(f"c{column}", baseline, ALPHA)
            alarm_days += sum(d.alarm for d in drift_path(calibration, baseline[-6:] + live)[6:])
    assert alarm_days / 12 <= 1.0


def test_a_clear_shift_is_caught_within_two_windows() -> None:
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        baseline = categorical_days(rng, SHARES, 200, 14)
        calibration = calibrate_drift("channel", baseline, ALPHA)
        shifted = SHARES.copy()
        shifted[1], shifted[0] = 0.35, 0.19
        path = drift_path(calibration, baseline[-6:] + categorical_days(rng, shifted, 200, 5))
        caught = first_alarm(path[6:])
        assert caught is not None and caught <= 2
        edges = reference_edges(rng.lognormal(0, 1, 2800))
        numeric = calibrate_drift("amount", numeric_days(rng, edges, 200, 14), ALPHA)
        path = drift_path(numeric, numeric_days(rng, edges, 200, 5, shift=0.5))
        caught = first_alarm(path)
        assert caught is not None and caught <= 2


def test_a_subtle_lasting_shift_is_caught_within_a_week_by_accumulating_windows() -> None:
    """A category's share moving 19% -> 25% at 200 rows a day: too small for one day's test at
    the budget's threshold, found by pooling the days since it began."""
    delays = []
    for seed in range(15):
        rng = np.random.default_rng(200 + seed)
        baseline = categorical_days(rng, SHARES, 200, 14)
        calibration = calibrate_drift("channel", baseline, ALPHA)
        shifted = SHARES.copy()
        shifted[1], shifted[0] = 0.25, 0.29
        path = drift_path(calibration, baseline[-6:] + categorical_days(rng, shifted, 200, 20))
        single_day = [d.score.cells[0] for d in path[6:8] if d.score]
        assert all(c.windows == 1 for c in single_day)
        delays.append(first_alarm(path[6:]) or 99)
    assert float(np.median(delays)) <= 7


def test_baseline_days_that_vary_more_than_sampling_widen_the_check() -> None:
    """Real days differ (weekdays and weekends); the check measures it on the baseline rather
    than paging on it."""
    rng = np.random.default_rng(7)
    weekday, weekend = SHARES, np.array([0.20, 0.30, 0.20, 0.16, 0.14])
    days = [categorical_days(rng, weekend if d % 7 in (5, 6) else weekday, 400, 1)[0]
            for d in range(14)]  # fmt: skip
    calibration = calibrate_drift("channel", days, ALPHA)
    assert calibration.dispersion > 2
    live = [categorical_days(rng, weekend if d % 7 in (5, 6) else weekday, 400, 1)[0]
            for d in range(14, 104)]  # fmt: skip
    assert sum(d.alarm for d in drift_path(calibration, days[-6:] + live)[6:]) <= 1


def test_a_rate_beyond_its_bound_on_a_few_rows_is_too_few_to_tell() -> None:
    noise = Noise(rate=True)
    small = judge(3 / 40, 40, 0.05, "above", noise, ALPHA)
    assert small.unsure and not small.breach
    large = judge(0.075, 4000, 0.05, "above", noise, ALPHA)
    assert large.breach and not large.unsure
    inside = judge(0.04, 40, 0.05, "above", noise, ALPHA)
    assert not inside.breach and not inside.unsure


def test_noise_is_measured_on_the_baseline_windows() -> None:
    rng = np.random.default_rng(3)
    steady = [(rng.binomial(200, 0.1) / 200, 200) for _ in range(14)]
    wobbly = [(rng.binomial(200, p) / 200, 200) for p in rng.uniform(0.02, 0.18, 14)]
    assert measure_noise(steady, rate=True).dispersion < 2
    assert measure_noise(wobbly, rate=True).dispersion > 3
    means = measure_noise([(float(v), 50) for v in rng.normal(10, 2, 14)], rate=False)
    assert means.spread == pytest.approx(2, rel=0.5)
    assert means.error(10, 200) == pytest.approx(means.spread / 2)
    assert measure_noise([(0.5, 10)] * 3, rate=False).error(0.5, 10) is None


def test_the_budget_is_shared_and_checks_that_cannot_meet_it_say_what_would() -> None:
    runbook = Runbook.model_validate({"alarm_budget": "2 per 30d"})
    assert runbook.alarm_budget.per_window(timedelta(days=1), 4) == pytest.approx(2 / 30 / 4)
    noise = Noise(rate=True, window_rows=40, windows=14, baseline_rows=560)
    alpha = BUDGET.per_window(timedelta(days=1), 5)
    seen = detectable(0.05, "above", noise, alpha, 40)
    assert seen is not None and seen > 0.1
    needed = rows_needed(0.05, "above", noise, alpha, 0.03)
    assert needed is not None and needed > 400
    assert detectable(0.05, "above", noise, alpha, needed) <= 0.08  # type: ignore[operator]
    from watchkeeper.manifest import Bound

    [entry] = signal_entries(
        "refusal_rate", Bound(max=0.05), [], (0.02, noise), noise, alpha, 8.0, BUDGET
    )
    assert not entry.meets_budget
    assert entry.needs is not None and f"{needed} rows per window" in entry.needs


def test_a_drift_entry_states_its_threshold_and_reach() -> None:
    rng = np.random.default_rng(1)
    calibration = calibrate_drift("channel", categorical_days(rng, SHARES, 200, 14), ALPHA)
    entry = drift_entry("input-drift", calibration, BUDGET)
    assert entry.meets_budget and entry.subject == "channel"
    assert f"{calibration.critical:.2f}" in entry.threshold
    assert "'a'" in entry.detects and "within a week" in entry.detects


def test_the_cusum_limit_meets_its_run_length() -> None:
    limit = cusum_limit(1 / 630, 0.5)
    assert cusum_run_length(0.5, limit) == pytest.approx(2 * 630, rel=1e-6)
