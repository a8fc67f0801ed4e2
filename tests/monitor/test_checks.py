"""The checks on known truths: the article's 20% drop, a slow decline, silence, overdue evals."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from watchkeeper.manifest._models import AlertRule, Bound
from watchkeeper.monitor import checks
from watchkeeper.monitor.calibration import Noise
from watchkeeper.testing import T0

DAY = timedelta(days=1)
WINDOW = checks.Window("bot", T0, T0 + DAY)


def rule(**kw: object) -> AlertRule:
    return AlertRule.model_validate({"name": "r", "signal": "acc", "severity": "critical", **kw})


def test_healthy_bounds() -> None:
    assert checks.bounds(WINDOW, "acc", Bound(min=0.85), 0.9) == []
    [finding] = checks.bounds(WINDOW, "acc", Bound(min=0.85), 0.8)
    assert finding.check == "bounds" and "below its healthy min 0.85" in finding.summary
    assert checks.bounds(WINDOW, "acc", Bound(min=0.85), None) == []


def test_twenty_percent_drop_fires_the_drop_alert() -> None:
    drop = rule(drop="20%")
    assert checks.relative_change(WINDOW, drop, 0.9, 0.73) == []
    [finding] = checks.relative_change(WINDOW, drop, 0.9, 0.72)
    assert finding.rule == "r" and finding.severity == "critical" and finding.check == "drop"
    assert finding.evidence["change"] == -0.2 or abs(finding.evidence["change"] + 0.2) < 1e-9
    assert finding.fingerprint == "bot/r/acc"


def test_rise_and_threshold() -> None:
    [rise] = checks.relative_change(WINDOW, rule(rise="30%"), 0.1, 0.14)
    assert rise.check == "rise"
    [low] = checks.threshold(WINDOW, rule(below=0.5), 0.4)
    assert "below 0.5" in low.summary
    assert checks.threshold(WINDOW, rule(below=0.5), 0.6) == []


def test_slow_decline_is_flagged_before_it_crosses_a_twenty_percent_bound() -> None:
    """A 15% decline spread over 90 days: the trend check fires while a 20% drop rule is quiet."""
    rng = np.random.default_rng(7)
    baseline = 0.9
    days = 90
    series = baseline * (1 - 0.15 * np.arange(days) / (days - 1)) + rng.normal(0, 0.01, days)
    bound = baseline * 0.8
    trend_rule = rule(trend="down")
    first_fired = None
    for day in range(10, days):
        if checks.trend(WINDOW, trend_rule, series[: day + 1], baseline, bound):
            first_fired = day
            break
    assert first_fired is not None
    assert all(series[: first_fired + 1] > bound)
    assert not checks.relative_change(WINDOW, rule(drop="20%"), baseline, series[-1])


def test_flat_noisy_series_does_not_trend() -> None:
    fired = 0
    for seed in range(50):
        series = 0.9 + np.random.default_rng(seed).normal(0, 0.01, 60)
        fired += bool(checks.trend(WINDOW, rule(trend="down"), series, 0.9, 0.72))
    assert fired == 0


def test_stopped_stream_is_reported_as_silence() -> None:
    last = T0
    assert (
        checks.silence("bot", "observations", last, T0, T0 + timedelta(hours=5), timedelta(hours=6))
        == []
    )
    [quiet] = checks.silence(
        "bot", "observations", last, T0, T0 + timedelta(hours=7), timedelta(hours=6)
    )
    assert quiet.check == "silence" and "quiet for 7h" in quiet.summary
    [never] = checks.silence("bot", "observations", None, T0, T0 + 2 * DAY, timedelta(hours=6))
    assert "no data ever received" in never.summary


def test_eval_overdue() -> None:
    week = timedelta(days=7)
    assert checks.eval_overdue("bot", "golden", T0, T0, week, T0 + 6 * DAY) == []
    [late] = checks.eval_overdue("bot", "golden", T0, T0, week, T0 + 9 * DAY)
    assert "overdue by 2d" in late.summary
    [never] = checks.eval_overdue("bot", "golden", None, T0, week, T0 + 8 * DAY)
    assert "never run" in never.summary


def test_a_rate_past_its_bound_on_few_rows_is_recorded_as_too_few_to_tell() -> None:
    """Three refusals in 40 replies is past a 5% bound, but not beyond doubt: an `undecided`
    finding under no rule (so nothing pages); the same rate over 4,000 replies is a breach."""
    few = checks.Sampling(40, Noise(rate=True), alpha=1 / 450)
    [unsure] = checks.bounds(WINDOW, "refusal", Bound(max=0.05), 3 / 40, few)
    assert unsure.check == "undecided" and unsure.rule is None and unsure.severity == "info"
    assert "40 rows are too few to tell" in unsure.summary
    many = checks.Sampling(4000, Noise(rate=True), alpha=1 / 450)
    [breach] = checks.bounds(WINDOW, "refusal", Bound(max=0.05), 0.075, many)
    assert breach.check == "bounds" and breach.evidence["low"] > 0.05
    [above] = checks.threshold(WINDOW, rule(above=0.05), 0.075, many)
    assert above.check == "threshold" and above.rule == "r"
    assert checks.threshold(WINDOW, rule(above=0.05), 3 / 40, few)[0].check == "undecided"
