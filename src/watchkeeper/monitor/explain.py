"""What each statistical check was calibrated to, in words an owner can weigh (`wk check
--explain`, the system's page, `--json`): its threshold, its share of the alarm budget, the
smallest shift it sees at the usual window size, and whether the budget can be met at the
system's traffic, with the window that would meet it when it cannot.

A check "meets" its budget when, at the usual rows per window, it sees a breach as large as the
distance from the baseline's level to its limit (the headroom the owner left) within one window;
a drop or rise rule, a change twice the rule's. Any threshold keeps the false alarms within the
budget; one so high that it sees nothing the owner cares about has not met it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from watchkeeper.durations import format_duration
from watchkeeper.manifest import AlarmBudget, AlertRule, Bound
from watchkeeper.monitor.calibration import (
    ALARM_WINDOWS,
    MIN_BASELINE_WINDOWS,
    DriftCalibration,
    Noise,
    Side,
    cusum_run_length,
    detectable,
    one_sided_z,
    rows_needed,
    smallest_shift,
)
from watchkeeper.monitor.trend import DEFAULT_SLACK

DAY = timedelta(days=1)


def _share(alpha: float, window: timedelta, budget: AlarmBudget) -> str:
    return f"{alpha * (budget.per / window):.2g} per {format_duration(budget.per)}"


@dataclass(frozen=True)
class Explained:
    """One check's calibration, as `--explain` shows it."""

    check: str
    rule: str | None
    subject: str
    threshold: str
    false_alarms: str
    detects: str
    rows_per_window: float
    meets_budget: bool = True
    needs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def drift_entry(rule: str, calibration: DriftCalibration, budget: AlarmBudget) -> Explained:
    scales = ", ".join(str(s) for s in calibration.scales)
    rows = calibration.window_rows
    week = max(calibration.scales)
    needs = None
    if len(calibration.buckets) < 2:
        needs = "cannot be met at any traffic: the baseline saw a single value"
    elif rows * week < calibration.min_rows:
        needs = _needs(math.ceil(calibration.min_rows / week), rows, DAY)
    return Explained(
        check="drift",
        rule=rule,
        subject=calibration.column,
        threshold=f"|z| > {calibration.critical:.2f} over {scales} windows pooled "
        f"({len(calibration.buckets)} buckets; the baseline's days vary "
        f"{calibration.dispersion:.2f}x what sampling explains)",
        false_alarms=_share(calibration.alpha, DAY, budget),
        detects=smallest_shift(calibration),
        rows_per_window=rows,
        meets_budget=needs is None,
        needs=needs,
    )


def _needs(rows: int | None, usual: float, window: timedelta) -> str:
    if rows is None:
        return "cannot be met at any traffic: the baseline has a single value"
    if usual <= 0:
        return f"needs about {rows} rows per window"
    wider = window * math.ceil(rows / usual)
    return (
        f"needs about {rows} rows per window: a window of {format_duration(wider)} "
        "at today's traffic"
    )


def signal_entries(
    name: str,
    bound: Bound | None,
    rules: Sequence[AlertRule],
    level: tuple[float, Noise] | None,
    noise: Noise,
    alpha: float,
    trend_limit: float,
    budget: AlarmBudget,
    window: timedelta = DAY,
) -> list[Explained]:
    """The entries of one signal's checks: its healthy bounds and each rule's conditions."""
    baseline = level[0] if level else None
    limits: list[tuple[str, str | None, float, Side, float | None]] = []
    if bound is not None:
        if bound.min is not None:
            limits.append(("bounds", None, bound.min, "below", _gap(baseline, bound.min)))
        if bound.max is not None:
            limits.append(("bounds", None, bound.max, "above", _gap(baseline, bound.max)))
    for rule in rules:
        if rule.below is not None:
            limits.append(("threshold", rule.name, rule.below, "below", _gap(baseline, rule.below)))
        if rule.above is not None:
            limits.append(("threshold", rule.name, rule.above, "above", _gap(baseline, rule.above)))
        if baseline is not None and baseline != 0:
            scale = abs(baseline)
            if rule.drop is not None:
                limits.append(("drop", rule.name, baseline - rule.drop * scale, "below",
                               rule.drop * scale))  # fmt: skip
            if rule.rise is not None:
                limits.append(("rise", rule.name, baseline + rule.rise * scale, "above",
                               rule.rise * scale))  # fmt: skip
    entries = [
        _limit_entry(kind, rule_name, name, limit, side, headroom, noise, alpha, budget, window)
        for kind, rule_name, limit, side, headroom in limits
    ]
    for rule in rules:
        if rule.trend:
            run = cusum_run_length(DEFAULT_SLACK, trend_limit) / ALARM_WINDOWS
            entries.append(
                Explained(
                    check="trend",
                    rule=rule.name,
                    subject=name,
                    threshold=f"CUSUM over {trend_limit:.1f} noise units and a significant "
                    f"slope {rule.trend}",
                    false_alarms=f"at most {budget.per / window / run:.2g} per "
                    f"{format_duration(budget.per)}",
                    detects="a lasting move of one noise unit within about "
                    f"{trend_limit / DEFAULT_SLACK:.0f} windows",
                    rows_per_window=noise.window_rows,
                )
            )
    return entries


def _gap(baseline: float | None, limit: float) -> float | None:
    return abs(limit - baseline) if baseline is not None and baseline != limit else None


def _limit_entry(
    kind: str, rule: str | None, subject: str, limit: float, side: Side, headroom: float | None,
    noise: Noise, alpha: float, budget: AlarmBudget, window: timedelta,
) -> Explained:  # fmt: skip
    rows = noise.window_rows
    word = "above" if side == "above" else "below"
    seen = detectable(limit, side, noise, alpha, rows) if rows else None
    if seen is None:
        return Explained(
            check=kind,
            rule=rule,
            subject=subject,
            threshold=f"{word} {limit:.4g}, judged on the value alone (the baseline holds "
            f"fewer than {MIN_BASELINE_WINDOWS} windows of it to measure its noise on)",
            false_alarms="not calibrated",
            detects=f"any value {word} {limit:.4g}",
            rows_per_window=rows,
        )
    largest = headroom if headroom is not None else abs(limit) / 2 or 1.0
    meets = abs(seen - limit) <= largest
    return Explained(
        check=kind,
        rule=rule,
        subject=subject,
        threshold=f"interval (z {one_sided_z(alpha):.2f}) wholly {word} {limit:.4g}",
        false_alarms=_share(alpha, window, budget),
        detects=f"a true value {word} {seen:.4g} in one window of {rows:.0f} rows"
        if math.isfinite(seen)
        else f"nothing: no rate {word} {limit:.4g} can show beyond doubt in {rows:.0f} rows",
        rows_per_window=rows,
        meets_budget=meets,
        needs=None
        if meets
        else _needs(rows_needed(limit, side, noise, alpha, largest), rows, window),
    )
