"""An `estimated` signal through the real pipeline: the baseline's labels calibrate the scores,
then a quality drop with no labels at all is caught from the scores alone; what is missing for
an estimate is said as a finding, never an empty chart."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.testing import T0

DAY = timedelta(days=1)
PEOPLE = """\
apiVersion: watchkeeper/v1
kind: People
people:
  - {email: ana@corp.example, channels: [{type: webhook, url: "http://127.0.0.1:9/ana"}]}
"""
SYSTEM = """\
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {name: lender}
spec:
  lifecycle: live
  charter: {owner: ana@corp.example, quality_monitor: ana@corp.example}
  runbook:
    baseline: {first: 14d}
    signals:
      accuracy: {from: observation, kind: estimated, metric: accuracy, score: output.score,
                 prediction: output.approved}
    alerts:
      - {name: quality-drop, signal: accuracy, drop: 20%, severity: critical}
    escalation:
      levels:
        - {after: 0m, notify: [ana@corp.example]}
"""


def _day(rng: random.Random, day: int, spread: float, labelled: bool, scale: float = 1.0):  # type: ignore[no-untyped-def]
    """A model whose score is the true probability: far from the boundary it is right, near it
    a coin flip — so narrowing the inputs' spread lowers its accuracy, labels or not."""
    items, feedback = [], []
    start = T0.replace(hour=0) + day * DAY
    for i in range(300):
        x = rng.gauss(0, spread)
        p = 1 / (1 + math.exp(-3 * x))
        oid = f"d{day}-{i}"
        items.append(
            {
                "id": oid,
                "ts": (start + i * timedelta(minutes=4)).isoformat(),
                "output": {"score": round(p * scale, 6), "approved": p >= 0.5},
            }
        )
        if labelled:
            feedback.append({"observation_id": oid, "label": "1" if rng.random() < p else "0"})
    return items, feedback


def _feed(app: Watchkeeper, days: range, spread: float, labelled: bool, **kw: Any) -> None:
    rng = random.Random(7)
    for day in days:
        items, feedback = _day(rng, day, spread, labelled, **kw)
        ops = Operations(
            app, "ana@corp.example", T0.replace(hour=0) + (day + 1) * DAY, enforce=False
        )
        ops.ingest("lender", items)
        if feedback:
            ops.feedback("lender", feedback)


def _setup(app: Watchkeeper, tmp_path: Path) -> None:
    (tmp_path / "people.yaml").write_text(PEOPLE)
    (tmp_path / "lender.yaml").write_text(SYSTEM)
    ops = Operations(app, "ops@corp.example", T0 - DAY, enforce=False)
    ops.apply([str(tmp_path / "people.yaml"), str(tmp_path / "lender.yaml")])


def _tick(app: Watchkeeper, day: int) -> list[Any]:
    at = T0.replace(hour=0) + day * DAY
    app.clock.set(at)  # type: ignore[attr-defined]
    Operations(app, "ops@corp.example", at, enforce=False).tick()
    with app.store.read() as unit:
        return unit.monitoring.findings("lender", limit=1000)


def test_a_drop_without_labels_is_caught_from_the_calibrated_scores(
    app: Watchkeeper, tmp_path: Path
) -> None:
    _setup(app, tmp_path)
    _feed(app, range(14), spread=1.5, labelled=True)
    _feed(app, range(14, 21), spread=0.25, labelled=False)
    findings = _tick(app, 21)
    drops = [f for f in findings if f.check == "drop" and f.subject == "accuracy"]
    assert drops and drops[0].rule == "quality-drop", [f.summary for f in findings]
    with app.store.read() as unit:
        windows = unit.monitoring.signal_windows("lender", "accuracy")
    assert len(windows) == 21
    baseline = [w["value"] for w in windows[:14]]
    later = [w["value"] for w in windows[14:]]
    # the true accuracy is E[max(p, 1 - p)]: about 0.88 at spread 1.5, 0.64 at spread 0.25
    assert all(abs(v - 0.88) < 0.03 for v in baseline), baseline
    assert all(abs(v - 0.64) < 0.03 for v in later), later
    for window in windows:
        assert window["detail"]["low"] <= window["value"] <= window["detail"]["high"]
        assert window["n"] == 300


def test_a_baseline_without_labels_or_with_scores_beyond_one_is_said(
    app: Watchkeeper, tmp_path: Path
) -> None:
    _setup(app, tmp_path)
    _feed(app, range(15), spread=1.5, labelled=False)
    findings = _tick(app, 15)
    [said] = [f for f in findings if f.check == "estimate"]
    assert "cannot estimate accuracy: the baseline has 0 labelled row(s)" in said.summary
    with app.store.read() as unit:
        assert unit.monitoring.signal_windows("lender", "accuracy") == []


def test_scores_that_are_not_probabilities_are_refused_by_name(
    app: Watchkeeper, tmp_path: Path
) -> None:
    _setup(app, tmp_path)
    _feed(app, range(15), spread=1.5, labelled=True, scale=100.0)
    findings = _tick(app, 15)
    [said] = [f for f in findings if f.check == "estimate"]
    assert "score(s) outside [0, 1]" in said.summary and "probability" in said.summary


def test_labels_that_come_later_show_the_realized_metric_beside_the_estimate(
    app: Watchkeeper, tmp_path: Path
) -> None:
    _setup(app, tmp_path)
    _feed(app, range(14), spread=1.5, labelled=True)
    _feed(app, range(14, 17), spread=0.25, labelled=False)
    _tick(app, 17)
    ops = Operations(app, "ana@corp.example", T0 + 30 * DAY, enforce=False)
    [before] = ops.signals("lender", "accuracy")
    assert before["metric"] == "accuracy" and before["window"] == "1d"
    assert [w["realized"] for w in before["windows"][14:]] == [None, None, None]
    # three months on, the labels of day 15 arrive: the realized metric shows beside the estimate
    rng = random.Random(7)  # as `_feed` made days 14 to 16
    for day in (14, 15):
        items, _ = _day(rng, day, 0.25, labelled=False)
    late = [
        {"observation_id": i["id"], "label": "1" if i["output"]["approved"] else "0"} for i in items
    ]
    ops.feedback("lender", late)
    [after] = ops.signals("lender", "accuracy")
    day15 = after["windows"][15]
    assert day15["realized"] == 1.0 and day15["realized_n"] == 300
    assert day15["low"] <= day15["value"] <= day15["high"]
    assert after["windows"][14]["realized"] is None
