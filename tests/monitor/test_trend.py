import numpy as np
import pytest

from watchkeeper.monitor.trend import detect_trend

BASELINE = 0.90
BOUND = BASELINE * 0.80  # the static "quality drops 20%" alert
WINDOWS = 90
NOISE = 0.01
SEEDS = range(50)


def _first_firing(series: np.ndarray, **kwargs) -> int | None:
    """Re-check after every window, as the scheduler does; the window count when it first fires."""
    for end in range(1, series.size + 1):
        if detect_trend(series[:end], **kwargs).fired:
            return end
    return None


def test_noisy_flat_series_do_not_fire() -> None:
    """False-alarm rate: flat series at baseline with 1-point noise, re-checked at every one of
    90 windows, over 50 seeds. Measured 0/50 (0/500 beyond these seeds fired 2)."""
    alarms = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        series = BASELINE + rng.normal(0, NOISE, WINDOWS)
        alarms += _first_firing(series, baseline=BASELINE, bound=BOUND) is not None
    rate = alarms / len(SEEDS)
    print(f"trend false-alarm rate over {len(SEEDS)} flat series: {rate:.0%}")
    assert rate <= 0.04


def test_slow_decline_fires_before_the_static_bound_is_crossed() -> None:
    """A 15% decline over 90 daily windows (never reaching the 20% bound): fires in every seed,
    typically within 2-3 weeks."""
    firsts = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        decline = BASELINE * (1 - 0.15 * np.arange(1, WINDOWS + 1) / WINDOWS)
        series = decline + rng.normal(0, NOISE, WINDOWS)
        first = _first_firing(series, baseline=BASELINE, bound=BOUND)
        crossed = np.flatnonzero(series <= BOUND)
        assert first is not None, seed
        assert crossed.size == 0 or first <= crossed[0], seed
        firsts.append(first)
    print(f"first firing window: median {np.median(firsts)}, max {max(firsts)}")
    assert max(firsts) < WINDOWS


def test_result_explains_slope_projection_and_statistic() -> None:
    rng = np.random.default_rng(1)
    series = BASELINE - 0.002 * np.arange(40) + rng.normal(0, 0.005, 40)
    result = detect_trend(series, baseline=BASELINE, bound=BOUND)
    assert result.fired
    assert result.slope_per_window == pytest.approx(-0.002, rel=0.25)
    level = BASELINE - 0.002 * 39
    assert result.projected_windows_to_bound == pytest.approx((level - BOUND) / 0.002, rel=0.25)
    assert result.statistic is not None and result.statistic > 8
    assert result.reason.startswith("ongoing decline")


def test_rises_are_watched_when_up_is_bad() -> None:
    rng = np.random.default_rng(2)
    latency = 200 + 1.5 * np.arange(60) + rng.normal(0, 5, 60)
    assert detect_trend(latency, baseline=200, direction="up", bound=300).fired
    assert not detect_trend(latency, baseline=200, direction="down").fired


def test_a_one_off_step_is_not_an_ongoing_trend() -> None:
    rng = np.random.default_rng(3)
    series = np.concatenate([np.full(20, BASELINE), np.full(40, BASELINE - 0.05)])
    series = series + rng.normal(0, NOISE, 60)
    result = detect_trend(series, baseline=BASELINE, bound=BOUND)
    assert not result.fired
    assert result.reason.startswith("shifted down from baseline but no ongoing trend")


def test_projection_is_zero_once_the_bound_is_crossed() -> None:
    series = BASELINE - 0.01 * np.arange(30)
    result = detect_trend(series, baseline=BASELINE, bound=0.7)
    assert result.projected_windows_to_bound == 0.0


def test_missing_windows_are_skipped_and_short_series_wait() -> None:
    short = detect_trend([0.9, 0.8, float("nan"), 0.7], baseline=BASELINE)
    assert not short.fired and short.reason == "too few windows with data (3 < 10)"
    assert short.slope_per_window is None
    rng = np.random.default_rng(4)
    series = BASELINE - 0.003 * np.arange(50) + rng.normal(0, 0.004, 50)
    series[::7] = np.nan
    assert detect_trend(series, baseline=BASELINE).fired


def test_constant_series_at_baseline_is_quiet() -> None:
    result = detect_trend([BASELINE] * 30, baseline=BASELINE)
    assert not result.fired and result.statistic == 0.0


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="direction"):
        detect_trend([1.0] * 20, baseline=1.0, direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 3"):
        detect_trend([1.0] * 20, baseline=1.0, recent=2)
