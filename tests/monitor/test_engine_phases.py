"""The monitor computes with no write transaction open, so the kill switch never waits behind
it. The pause point is the embedding model, which the engine takes as a parameter: the test's
own model records, on each call, whether any write transaction is open on the database, and
holds the tick there while a switch on another system flips."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import make_url

from watchkeeper.app import Watchkeeper
from watchkeeper.manifest import load_text
from watchkeeper.monitor.engine import MonitorService
from watchkeeper.scheduler import Scheduler
from watchkeeper.store import Store
from watchkeeper.testing import T0

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
PEOPLE = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [{"email": "ana@corp.example"}, {"email": "kim@corp.example"}],
}


def manifest(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": name},
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": "ana@corp.example", "kill_authority": ["kim@corp.example"]},
            "runbook": {
                "baseline": {"first": "2d"},
                "alerts": [{"name": "said", "drift": ["output_embedding"]}],
            },
        },
    }


def write_open(store: Store) -> bool:
    """Whether any connection holds a write transaction on this database right now."""
    if store.dialect == "sqlite":
        probe = sqlite3.connect(make_url(str(store.engine.url)).database or "", timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    with store.engine.connect() as conn:
        writers = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
            )
        )
        return bool(writers.scalar())


class PausingModel:
    """An embedding model that records whether a write is open, and can hold its caller."""

    name = "pausing"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes_seen: list[bool] = []
        self.inside = threading.Event()
        self.go_on = threading.Event()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.writes_seen.append(write_open(self.store))
        self.inside.set()
        assert self.go_on.wait(60), "the test never let the tick go on"
        return np.array([[len(t), t.count("a"), t.count(" ")] for t in texts], dtype=float)


def test_the_switch_flips_while_the_tick_computes(app: Watchkeeper) -> None:
    text_ = "\n---\n".join(json.dumps(d) for d in (PEOPLE, manifest("bot"), manifest("other")))
    app.charter.apply(load_text(text_), "ops", T0 - DAY)
    for day in range(3):
        items = [
            {"id": f"{day}-{i}", "ts": (T0 + day * DAY + i * MINUTE).isoformat(),
             "output": f"answer {'a' * (i % 5)} number {i}"}
            for i in range(30)
        ]  # fmt: skip
        assert not app.ingest.observations("bot", items, T0 + day * DAY + DAY / 2).rejected
    app.clock.set(T0 + 3 * DAY)  # type: ignore[attr-defined]
    model = PausingModel(app.store)
    scheduler = Scheduler(app.store, MonitorService(app.store, lambda: model), app.alerting,
                          app.clock)  # fmt: skip
    ticked: list[Any] = []
    worker = threading.Thread(target=lambda: ticked.append(scheduler.tick(T0 + 3 * DAY)))
    worker.start()
    try:
        assert model.inside.wait(60), "the tick never reached the model"
        change = app.switch.set("other", "disabled", "drill", "kim@corp.example", T0 + 3 * DAY)
        assert change.changed
        # the flip's notices record their deliveries (a write of the switch's, not the tick's)
        app.switch.drain(timeout=30)
    finally:
        model.go_on.set()
        worker.join(120)
    assert ticked and ticked[0].ran
    assert model.writes_seen and not any(model.writes_seen)
    with app.store.read() as unit:
        assert unit.monitoring.baseline_profiles("bot")  # the results were stored after computing
