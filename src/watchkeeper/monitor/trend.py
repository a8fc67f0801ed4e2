"""Slow-decline detection: warn while a quality signal is still sliding towards its bound.

A static bound ("alert when accuracy drops 20%") stays silent through a long, steady slide until
the damage is done. Two tests must agree before this one fires:

* a one-sided CUSUM of the series against its baseline, in units of the series' own noise, says
  the level has moved in the bad direction by more than noise explains; and
* a Theil-Sen slope over the most recent windows, whose confidence interval excludes zero, says
  the move is still going on (a one-off step is the static bound's and the change-point's job).

Requiring both keeps noisy flat series quiet: re-checked at every window of a flat 90-window
Gaussian series, it fired in 2 of 500 seeds (tests/monitor/test_trend.py checks 50). The noise
level comes from the series' successive differences, which a linear trend does not inflate, so
nobody has to guess it; an outlier inflates it, which only makes the test more cautious.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Direction = Literal["down", "up"]

# CUSUM allowance and decision interval in noise units: with k = 0.5 and h = 8 an in-control
# Gaussian series raises a false alarm about once in 19,000 windows (Siegmund's approximation).
DEFAULT_SLACK = 0.5
DEFAULT_LIMIT = 8.0
DEFAULT_RECENT = 30
DEFAULT_CONFIDENCE = 0.95
DEFAULT_MIN_WINDOWS = 10


@dataclass(frozen=True)
class TrendResult:
    """Whether a decline (or rise) is under way, how steep it is, and when it would cross."""

    fired: bool
    slope_per_window: float | None
    projected_windows_to_bound: float | None
    statistic: float | None
    reason: str


def detect_trend(
    values: Sequence[float],
    *,
    baseline: float,
    direction: Direction = "down",
    bound: float | None = None,
    recent: int = DEFAULT_RECENT,
    slack: float = DEFAULT_SLACK,
    limit: float = DEFAULT_LIMIT,
    confidence: float = DEFAULT_CONFIDENCE,
    min_windows: int = DEFAULT_MIN_WINDOWS,
) -> TrendResult:
    """Judge a per-window series (oldest first, NaN for a window without data) against baseline.

    `direction` is the bad direction; `bound` is the static threshold's value, used only to say
    how many windows remain before the fitted line crosses it (0 once it has).
    `statistic` is the CUSUM at the latest window, in noise units, compared against `limit`.
    """
    if direction not in ("down", "up"):
        raise ValueError(f"direction must be 'down' or 'up', got {direction!r}")
    if recent < 3 or min_windows < 3:
        raise ValueError("recent and min_windows must be at least 3")
    series = np.asarray(values, dtype=np.float64)
    index = np.flatnonzero(np.isfinite(series))
    if index.size < min_windows:
        return TrendResult(
            False, None, None, None, f"too few windows with data ({index.size} < {min_windows})"
        )
    observed = series[index]
    sign = -1.0 if direction == "down" else 1.0
    noise = _noise(observed)
    # Deviation in the bad direction, in noise units; positive means worse than baseline.
    worse = sign * (observed - baseline) / noise
    statistic = _cusum(worse, slack)

    # Imported here: scipy.stats takes seconds to import, and `wk drift` never needs it.
    from scipy.stats import theilslopes

    tail = slice(-recent, None)
    slope, intercept, low, high = theilslopes(
        observed[tail], index[tail].astype(np.float64), alpha=confidence
    )
    # The interval must exclude zero on the bad side: its nearer end must already be bad.
    significant = min(sign * low, sign * high) > 0
    projected = _windows_to_bound(bound, sign, slope, intercept + slope * index[-1])
    summary = (
        f"CUSUM {statistic:.1f} vs {limit:g}, Theil-Sen slope {slope:+.4g}/window "
        f"({confidence:.0%} CI {low:+.4g}..{high:+.4g}) over the last {min(recent, index.size)}"
    )
    if projected is not None:
        summary += f", bound reached in {projected:.0f} windows"
    if statistic <= limit:
        reason = f"no sustained shift {direction} from baseline: {summary}"
    elif not significant:
        reason = f"shifted {direction} from baseline but no ongoing trend: {summary}"
    else:
        reason = f"ongoing {'decline' if direction == 'down' else 'rise'}: {summary}"
    return TrendResult(
        fired=statistic > limit and significant,
        slope_per_window=float(slope),
        projected_windows_to_bound=projected,
        statistic=statistic,
        reason=reason,
    )


def _noise(values: np.ndarray) -> float:
    spread = float(np.std(np.diff(values))) / math.sqrt(2)
    if spread > 0:
        return spread
    # A (nearly) constant series: any real departure is then far outside its noise.
    return max(float(np.std(values)), 1e-12 * max(1.0, float(np.max(np.abs(values)))))


def _cusum(worse: np.ndarray, slack: float) -> float:
    total = 0.0
    for step in (worse - slack).tolist():
        total = max(0.0, total + step)
    return total


def _windows_to_bound(bound: float | None, sign: float, slope: float, level: float) -> float | None:
    if bound is None:
        return None
    if sign * (level - bound) >= 0:
        return 0.0
    if sign * slope <= 0:
        return None
    return float((bound - level) / slope)
