"""An `estimated` signal through the real pipeline: the baseline's labels calibrate the scores,
then a quality drop with no labels at all is caught from the scores alone; what is missing for
an estimate is said as a finding, never an empty chart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests import _estimated as lender
from watchkeeper.app import Operations, Watchkeeper


def _findings(app: Watchkeeper, day: int) -> list[Any]:
    lender.tick(app, day)
    with app.store.read() as unit:
        return unit.monitoring.findings(lender.NAME, limit=1000)


def test_a_drop_without_labels_is_caught_from_the_calibrated_scores(
    app: Watchkeeper, tmp_path: Path
) -> None:
    lender.setup(app, tmp_path)
    lender.feed(app, range(14), lender.WIDE, labelled=True)
    lender.feed(app, range(14, 21), lender.NARROW, labelled=False)
    findings = _findings(app, 21)
    drops = [f for f in findings if f.check == "drop" and f.subject == lender.SIGNAL]
    assert drops and drops[0].rule == "quality-drop", [f.summary for f in findings]
    with app.store.read() as unit:
        windows = unit.monitoring.signal_windows(lender.NAME, lender.SIGNAL)
    assert len(windows) == 21
    # the true accuracy is E[max(p, 1 - p)]: about 0.88 when the inputs are wide, 0.64 narrow
    assert all(abs(w["value"] - 0.88) < 0.04 for w in windows[:14]), windows[:14]
    assert all(abs(w["value"] - 0.64) < 0.04 for w in windows[14:]), windows[14:]
    for window in windows:
        assert window["detail"]["low"] <= window["value"] <= window["detail"]["high"]
        assert window["n"] == lender.ROWS


def test_a_baseline_without_labels_is_said(app: Watchkeeper, tmp_path: Path) -> None:
    lender.setup(app, tmp_path)
    lender.feed(app, range(15), lender.WIDE, labelled=False)
    [said] = [f for f in _findings(app, 15) if f.check == "estimate"]
    assert f"cannot estimate {lender.SIGNAL}: the baseline has 0 labelled row(s)" in said.summary
    with app.store.read() as unit:
        assert unit.monitoring.signal_windows(lender.NAME, lender.SIGNAL) == []


def test_scores_that_are_not_probabilities_are_refused_by_name(
    app: Watchkeeper, tmp_path: Path
) -> None:
    lender.setup(app, tmp_path)
    lender.feed(app, range(15), lender.WIDE, labelled=True, scale=100.0)
    [said] = [f for f in _findings(app, 15) if f.check == "estimate"]
    assert "score(s) outside [0, 1]" in said.summary and "probability" in said.summary


@lender.BUILT
def test_labels_that_come_later_show_the_realized_metric_beside_the_estimate(
    app: Watchkeeper,
) -> None:
    lender.ready(app)
    ops = Operations(app, lender.OWNER, lender.after(), enforce=False)
    [before] = ops.signals(lender.NAME, lender.SIGNAL)
    assert before["metric"] == "accuracy" and before["window"] == "1d"
    assert [w["realized"] for w in before["windows"][14:]] == [None, None, None]
    # months on, the labels of day 15 arrive: the realized metric shows beside the estimate
    ops.feedback(lender.NAME, lender.later_feedback(15))
    [after] = ops.signals(lender.NAME, lender.SIGNAL)
    day15 = after["windows"][15]
    assert day15["realized_n"] == lender.ROWS and abs(day15["realized"] - 0.64) < 0.1
    assert day15["low"] <= day15["value"] <= day15["high"]
    assert after["windows"][14]["realized"] is None


@lender.BUILT
def test_only_a_tick_that_closes_a_window_reads_the_labelled_baseline(app: Watchkeeper) -> None:
    """Ticks come every few minutes and windows once a day: refitting the calibration on each
    tick re-read every labelled baseline row for nothing."""
    lender.ready(app)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lower())

    def calibrations() -> int:
        # observations that have feedback (retention's orphan feedback is the other way round)
        return sum(
            "from observations" in s and "exists (select feedback.id" in s for s in statements
        )

    event.listen(app.store.engine, "before_cursor_execute", seen)
    ops = Operations(app, lender.OWNER, lender.after(), enforce=False)
    ops.ingest(lender.NAME, lender.day_of(lender.BASELINE_DAYS + lender.LATER_DAYS, 0.25)[0])
    for hours in (1, 6, 23):
        app.clock.set(lender.after() + timedelta(hours=hours))  # type: ignore[attr-defined]
        Operations(app, "ops@corp.example", app.clock.now(), enforce=False).tick()
    assert calibrations() == 0, "a tick inside a window refit the calibration"
    lender.tick(app, lender.BASELINE_DAYS + lender.LATER_DAYS + 1)
    assert calibrations() == 1, "the tick that closes the window calibrates once"
