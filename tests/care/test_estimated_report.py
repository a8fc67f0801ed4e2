"""The period report puts an estimated metric's estimate beside the metric its labels later
realized, window by window, with the mean absolute error where both exist — in JSON, Markdown
and the HTML page's chart."""

from __future__ import annotations

import pytest

from tests import _estimated as lender
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.care import report as reports


@lender.BUILT
def test_estimates_beside_the_realized_metric_and_their_error(
    app: Watchkeeper,
) -> None:
    lender.ready(app)
    ops = Operations(app, lender.OWNER, lender.after(), enforce=False)
    ops.feedback(lender.NAME, lender.later_feedback(lender.BASELINE_DAYS))
    period = ops.report(lender.NAME, days=10)
    signals = {s["name"]: s for s in period["signals"]}
    estimated = signals["accuracy"]
    assert estimated["metric"] == "accuracy"
    [listed] = ops.signals(lender.NAME, "accuracy")
    starts = {e["window_start"] for e in estimated["estimates"]}
    inside = [w for w in listed["windows"] if w["window_start"] >= period["period"]["start"]]
    assert starts == {w["window_start"] for w in inside} and len(starts) == 10
    for row, window in zip(estimated["estimates"], inside, strict=True):
        assert (row["value"], row["low"], row["high"], row["realized"], row["realized_n"]) == (
            window["value"], window["low"], window["high"], window["realized"],
            window["realized_n"],
        )  # fmt: skip
    both = [w for w in inside if w["realized"] is not None]
    assert len(both) == 8  # seven baseline days in the period, and the one labelled later
    assert estimated["compared"] == len(both)
    expected = sum(abs(w["value"] - w["realized"]) for w in both) / len(both)
    assert estimated["mae"] == pytest.approx(expected)
    assert signals["volume"]["estimates"] == [] and signals["volume"]["mae"] is None

    text = reports.markdown(period)
    assert "## accuracy: estimated accuracy against realized" in text
    assert f"mean absolute error {expected:.3g} over 8 window(s) with labels." in text
    last = estimated["estimates"][-1]
    assert f"| {last['value']:.4g} | {last['low']:.3g}–{last['high']:.3g} | - | 0 |" in text
    page = reports.html_page(period)
    assert page.count('<polygon class="band"') == 1 and page.count('class="realized"') == 8


def test_the_error_is_over_windows_with_both_only() -> None:
    rows = [
        {"value": 0.8, "realized": 0.7},
        {"value": 0.6, "realized": None},
        {"value": None, "realized": 0.5},
        {"value": 0.5, "realized": 0.8},
    ]
    assert reports.estimate_error(rows) == {"mae": pytest.approx(0.2), "compared": 2}
    assert reports.estimate_error(rows[1:3]) == {"mae": None, "compared": 0}
