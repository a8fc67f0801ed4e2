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
ROWS = 300


def day_of(day: int, spread: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One day's observations, and feedback giving each its true label: far from the boundary
    the model is right, near it a coin flip — so a narrow spread lowers its accuracy."""
    rng = random.Random(day)
    items, feedback = [], []
    for i in range(ROWS):
        p = 1 / (1 + math.exp(-3 * rng.gauss(0, spread)))
        oid = f"d{day}-{i}"
        at = START + day * DAY + i * timedelta(minutes=4)
        items.append({"id": oid, "ts": at.isoformat(),
                      "output": {"score": round(p, 6), "approved": p >= 0.5}})  # fmt: skip
        feedback.append({"observation_id": oid, "label": "1" if rng.random() < p else "0"})
    return items, feedback


def later_feedback(day: int) -> list[dict[str, Any]]:
    """The labels of one of the unlabelled days, as they would arrive months on."""
    return day_of(day, 0.25)[1]


def build(app: Watchkeeper, folder: Path) -> None:
    """Apply the system, feed it and let the scheduler compute every window up to `after()`."""
    (folder / "people.yaml").write_text(PEOPLE)
    (folder / "lender.yaml").write_text(SYSTEM)
    setup = Operations(app, "ops@corp.example", START - DAY, enforce=False)
    setup.apply([str(folder / "people.yaml"), str(folder / "lender.yaml")])
    for day in range(BASELINE_DAYS + LATER_DAYS):
        baseline = day < BASELINE_DAYS
        items, feedback = day_of(day, 1.5 if baseline else 0.25)
        ops = Operations(app, OWNER, START + (day + 1) * DAY, enforce=False)
        ops.ingest(NAME, items)
        if baseline:
            ops.feedback(NAME, feedback)
    at = after()
    app.clock.set(at)  # type: ignore[attr-defined]
    Operations(app, "ops@corp.example", at, enforce=False).tick()


def after() -> datetime:
    """When every window has been computed and the later days still have no labels."""
    return START + (BASELINE_DAYS + LATER_DAYS) * DAY
