"""A small system with an `estimated` signal, for the tests of what shows it — `wk signals`,
`wk ingest --feedback`, the signals route, the dashboard chart and the period report: a model
whose score is the true probability, two weeks of labelled baseline, then three unlabelled days
where the inputs narrow and its accuracy falls (as in tests/monitor/test_estimated_signal.py)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.testing import T0

DAY = timedelta(days=1)
NAME, SIGNAL, OWNER = "lender", "accuracy", "ana@corp.example"
START = T0.replace(hour=0)
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
      volume: {from: observation, kind: count}
    alerts:
      - {name: quality-drop, signal: accuracy, drop: 20%, severity: critical}
    escalation:
      levels:
        - {after: 0m, notify: [ana@corp.example]}
"""
BASELINE_DAYS, LATER_DAYS = 14, 3
ROWS = 150
WIDE, NARROW = 1.5, 0.25
"""The inputs' spread: the model's true accuracy is E[max(p, 1 - p)], about 0.88 when wide and
0.64 when narrow."""


def day_of(
    day: int, spread: float, scale: float = 1.0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One day's observations, and feedback giving each its true label: far from the boundary
    the model is right, near it a coin flip — so a narrow spread lowers its accuracy. `scale`
    multiplies the scores (beyond 1: not probabilities)."""
    rng = random.Random(day)
    items, feedback = [], []
    for i in range(ROWS):
        p = 1 / (1 + math.exp(-3 * rng.gauss(0, spread)))
        oid = f"d{day}-{i}"
        at = START + day * DAY + i * timedelta(minutes=8)
        items.append({"id": oid, "ts": at.isoformat(),
                      "output": {"score": round(p * scale, 6), "approved": p >= 0.5}})  # fmt: skip
        feedback.append({"observation_id": oid, "label": "1" if rng.random() < p else "0"})
    return items, feedback


def later_feedback(day: int) -> list[dict[str, Any]]:
    """The labels of one of the unlabelled days, as they would arrive months on."""
    return day_of(day, NARROW)[1]


def build(app: Watchkeeper, folder: Path) -> None:
    """Apply the system, feed it and let the scheduler compute every window up to `after()`."""
    setup(app, folder)
    feed(app, range(BASELINE_DAYS), WIDE, labelled=True)
    feed(app, range(BASELINE_DAYS, BASELINE_DAYS + LATER_DAYS), NARROW, labelled=False)
    tick(app, BASELINE_DAYS + LATER_DAYS)


BUILT = pytest.mark.built_by.with_args(build)
"""The test's database is a copy of what `build` made, once per worker (tests/conftest.py)."""


def ready(app: Watchkeeper) -> Watchkeeper:
    """An app over a copy of `build`'s database, its clock where `build` left it."""
    app.clock.set(after())  # type: ignore[attr-defined]
    return app


def setup(app: Watchkeeper, folder: Path) -> None:
    (folder / "people.yaml").write_text(PEOPLE)
    (folder / "lender.yaml").write_text(SYSTEM)
    ops = Operations(app, "ops@corp.example", START - DAY, enforce=False)
    ops.apply([str(folder / "people.yaml"), str(folder / "lender.yaml")])


def feed(
    app: Watchkeeper, days: range, spread: float, *, labelled: bool, scale: float = 1.0
) -> None:
    """Each day's observations sent at its end (and its labels, when `labelled`)."""
    for day in days:
        items, feedback = day_of(day, spread, scale)
        ops = Operations(app, OWNER, START + (day + 1) * DAY, enforce=False)
        ops.ingest(NAME, items)
        if labelled:
            ops.feedback(NAME, feedback)


def tick(app: Watchkeeper, day: int) -> None:
    at = START + day * DAY
    app.clock.set(at)  # type: ignore[attr-defined]
    Operations(app, "ops@corp.example", at, enforce=False).tick()


def after() -> datetime:
    """When every window has been computed and the later days still have no labels."""
    return START + (BASELINE_DAYS + LATER_DAYS) * DAY
