"""The tick as a whole on a real store: one broken system never stops the others, every stored
finding reaches alerting, and leases and evaluation marks follow the real clock, not the `now`
being replayed."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Cli
from tests.server._world import api_for
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.ingest.items import FUTURE_SKEW
from watchkeeper.manifest import load_text
from watchkeeper.scheduler import Scheduler
from watchkeeper.server import create_app
from watchkeeper.store import NewObservation
from watchkeeper.testing import T0

M = timedelta(minutes=1)
H = timedelta(hours=1)
DAY = timedelta(days=1)
PEOPLE = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [{"email": "ana@corp.example"}, {"email": "kim@corp.example"}],
}


def system(name: str, **runbook: Any) -> dict[str, Any]:
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": name},
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": "ana@corp.example", "kill_authority": ["kim@corp.example"]},
            "runbook": {
                "signals": {
                    "quality": {"from": "observation", "field": "metadata.score", "window": "1h"}
                },
                "alerts": [{"name": "low", "signal": "quality", "below": 0.5, "severity": "error"}],
                **runbook,
            },
        },
    }


def apply(app: Watchkeeper, *manifests: dict[str, Any]) -> None:
    text = "\n---\n".join(json.dumps(d) for d in (PEOPLE, *manifests))
    app.charter.apply(load_text(text), "ops", T0 - DAY)


def feed(app: Watchkeeper, name: str, start: datetime, score: float, n: int = 5) -> None:
    items = [
        {"id": f"{start.isoformat()}-{i}", "ts": (start + i * M).isoformat(),
         "metadata": {"score": score}}
        for i in range(n)
    ]  # fmt: skip
    assert not app.ingest.observations(name, items, start + n * M).rejected


def legacy_observation(app: Watchkeeper, name: str, at: datetime, inputs: Any = None) -> None:
    """An observation stored before ingest checked it (the store's own insert)."""
    row: NewObservation = {
        "obs_id": f"legacy-{at.isoformat()}",
        "ts": at,
        "inputs": json.dumps({} if inputs is None else inputs),
        "output": "null",
        "latency_ms": None,
        "model_version": None,
        "meta": "{}",
    }
    with app.store.write() as unit:
        unit.ingest.add_observations(name, [row], at)


def break_manifest(app: Watchkeeper, name: str) -> None:
    """A stored manifest the current code cannot read (as after a bad migration)."""
    with app.store.read() as unit:
        record = unit.system(name)
    assert record is not None
    broken = copy.deepcopy(record.manifest)
    broken["spec"]["runbook"]["alerts"][0]["below"] = "low"
    with app.store.write() as unit:
        unit.save_system(broken, digest="broken", actor="ops", now=T0, live_since=T0 - DAY)


def findings(app: Watchkeeper, name: str) -> list[dict[str, Any]]:
    with app.store.read() as unit:
        return [f.to_dict() for f in unit.monitoring.findings(name, limit=1000)]


# --- finding 2: one system's failure is its own -------------------------------------------------


def test_a_broken_system_is_reported_and_the_others_still_alert(app: Watchkeeper) -> None:
    apply(app, system("good"), system("bad"))
    feed(app, "good", T0, 0.2)
    feed(app, "bad", T0, 0.2)
    break_manifest(app, "bad")
    app.clock.set(T0 + 2 * H)  # type: ignore[attr-defined]

    report = app.scheduler.tick(T0 + 2 * H)

    assert report.ran
    with app.store.read() as unit:
        incidents = unit.alerting.incidents(open_only=True, limit=100)
    assert [i.system for i in incidents] == ["good"]
    failed = {f["evidence"]["step"]: f for f in findings(app, "bad") if f["check"] == "failure"}
    steps = [f["step"] for f in report.to_dict()["failures"] if f["system"] == "bad"]
    assert sorted(failed) == sorted(steps) and "monitor" in steps, "one finding per step"
    assert failed["monitor"]["rule"] is None and failed["monitor"]["severity"] == "error"
    assert "ValidationError" in failed["monitor"]["summary"]
    monitor = {"system": "bad", "step": "monitor", "error": failed["monitor"]["evidence"]["error"]}
    assert monitor in report.to_dict()["failures"]
    assert [f for f in report.failures if f.system != "bad"] == []

    app.clock.set(T0 + 3 * H)  # type: ignore[attr-defined]
    again = app.scheduler.tick(T0 + 3 * H)
    assert "monitor" in [f["step"] for f in again.to_dict()["failures"] if f["system"]]
    assert len([f for f in findings(app, "bad") if f["check"] == "failure"]) == len(failed), (
        "one finding a day per failing step, never one a tick"
    )


def test_readiness_and_metrics_show_a_failing_tick(app: Watchkeeper) -> None:
    watched = {"alerts": [{"name": "inputs", "drift": ["amount"]}], "baseline": {"first": "1d"}}
    apply(app, system("good"), system("bad", **watched))
    legacy_observation(app, "bad", T0, inputs=["not", "an", "object"])
    app.clock.set(T0 + 2 * DAY)  # type: ignore[attr-defined]
    for api in api_for(create_app(app)):
        assert api("GET", "/readyz").json()["status"] == "ready"
        app.scheduler.tick(T0 + 2 * DAY)
        ready = api("GET", "/readyz")  # still serving: the switch must stay reachable
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert "monitor for bad: AttributeError" in ready.json()["detail"]
        metrics = api("GET", "/metrics").text
        assert 'watchkeeper_tick_failures{step="monitor",system="bad"} 1.0' in metrics
        apply(app, system("good"), system("bad"))  # no longer reads the broken row
        app.scheduler.tick(T0 + 2 * DAY)
        assert api("GET", "/readyz").json()["status"] == "ready"
        assert "watchkeeper_tick_failures{" not in api("GET", "/metrics").text


def test_a_failing_job_does_not_stop_the_others(app: Watchkeeper) -> None:
    apply(app, system("good"))
    ran: list[str] = []

    def broken(now: datetime) -> None:
        raise RuntimeError("job exploded")

    app.scheduler.register("broken", broken)
    app.scheduler.register("after", lambda now: ran.append("after"))
    report = app.scheduler.tick(T0)
    assert ran == ["after"]
    assert {"system": None, "step": "job:broken", "error": "RuntimeError: job exploded"} in (
        report.to_dict()["failures"]
    )


def test_stored_findings_left_unalerted_by_a_crash_are_alerted_next_tick(
    app: Watchkeeper,
) -> None:
    """A crash between storing an evaluation and alerting on it (here: the alerting step cannot
    read the manifest for one tick) must not leave the finding stored and never alerted."""
    apply(app, system("good"))
    feed(app, "good", T0, 0.2)
    app.clock.set(T0 + 2 * H)  # type: ignore[attr-defined]
    evaluation = app.monitor.evaluate("good", T0 + 2 * H)  # stored, then the process died
    assert evaluation.new
    report = app.scheduler.tick(T0 + 2 * H)
    assert report.incidents_opened
    with app.store.read() as unit:
        assert [i.system for i in unit.alerting.incidents(open_only=True, limit=10)] == ["good"]


def test_an_observation_from_1970_leaves_a_baseline_too_small_not_a_crash(
    app: Watchkeeper,
) -> None:
    drifting = system(
        "drifty",
        alerts=[{"name": "inputs", "drift": ["latency_ms"], "severity": "warning"}],
        baseline={"first": "14d"},
    )
    apply(app, drifting, system("good"))
    legacy_observation(app, "drifty", datetime.fromisoformat("1970-01-01T00:00:00+00:00"))
    for day in range(3):
        items = [
            {"id": f"{day}-{i}", "ts": (T0 + day * DAY + i * M).isoformat(),
             "latency_ms": float(i)}
            for i in range(40)
        ]  # fmt: skip
        assert not app.ingest.observations("drifty", items, T0 + day * DAY + H).rejected
    feed(app, "good", T0 + 2 * DAY, 0.2)
    app.clock.set(T0 + 3 * DAY)  # type: ignore[attr-defined]

    report = app.scheduler.tick(T0 + 3 * DAY)

    assert report.to_dict()["failures"] == []
    small = [f for f in findings(app, "drifty") if f["check"] == "baseline"]
    assert small and "baseline too small" in small[0]["summary"]
    assert "latency_ms" in small[0]["summary"] and "0 of " in small[0]["summary"]
    assert any(f["check"] == "threshold" for f in findings(app, "good"))


def test_an_observation_dated_in_the_future_does_not_hide_a_silence(app: Watchkeeper) -> None:
    quiet = system("quiet", alerts=[{"name": "gone", "absent": "1d", "severity": "error"}])
    apply(app, quiet)
    feed(app, "quiet", T0, 0.9)
    legacy_observation(app, "quiet", T0 + 365 * DAY)
    app.clock.set(T0 + 3 * DAY)  # type: ignore[attr-defined]
    app.scheduler.tick(T0 + 3 * DAY)
    silences = [f for f in findings(app, "quiet") if f["check"] == "silence"]
    assert silences and "quiet for 2d" in silences[0]["summary"]


# --- finding 6: the real clock rules leases and evaluation marks ------------------------------


def test_a_tick_in_the_future_is_refused(app: Watchkeeper) -> None:
    ops = Operations(app, "ops@corp.example", T0 + DAY, enforce=False)
    with pytest.raises(ActionError) as refused:
        ops.tick()
    assert refused.value.kind == "invalid" and "future" in refused.value.message
    assert app.scheduler.last is None
    other = Scheduler(app.store, app.monitor, app.alerting, app.clock)
    assert other.tick(T0).ran


def test_a_tick_a_little_ahead_leaves_no_lease_and_marks_nothing_after_now(
    app: Watchkeeper,
) -> None:
    apply(app, system("good"))
    feed(app, "good", T0, 0.9)
    app.clock.set(T0 + 58 * M)  # type: ignore[attr-defined]
    ahead = Operations(app, "ops@corp.example", T0 + 58 * M + FUTURE_SKEW, enforce=False)
    assert ahead.tick()["ran"]
    with app.store.read() as unit:
        assert (
            unit.monitoring.last_signal_window("good", "quality") is None
        )  # [T0, T0+1h) is not over
    other = Scheduler(app.store, app.monitor, app.alerting, app.clock)
    assert other.tick(T0 + 58 * M).ran


def test_a_replay_of_the_past_holds_the_lease_by_the_real_clock(app: Watchkeeper) -> None:
    """While a replay of last month runs, a live server must not tick alongside it; and once
    it is done the live server ticks at once."""
    app.clock.set(T0 + 40 * DAY)  # type: ignore[attr-defined]
    live = Scheduler(app.store, app.monitor, app.alerting, app.clock)
    during: list[bool] = []
    app.scheduler.register("probe", lambda now: during.append(live.tick(T0 + 40 * DAY).ran))
    assert app.scheduler.tick(T0).ran
    assert during == [False]
    assert live.tick(T0 + 40 * DAY).ran


def test_wk_tick_refuses_a_future_now(wk: Cli, tmp_path: Any) -> None:
    code, _, err = wk("tick", "--now", "2999-01-01T00:00Z")
    assert code == 2 and "future" in err
    assert wk("tick", "--now", "2026-01-07T09:00Z", "--json")[0] == 0


# --- finding 5: check is read-only ------------------------------------------------------------


def test_check_records_nothing_and_the_tick_then_alerts(app: Watchkeeper) -> None:
    apply(app, system("good"))
    feed(app, "good", T0, 0.2)
    app.clock.set(T0 + 2 * H)  # type: ignore[attr-defined]
    ops = Operations(app, "ana@corp.example", T0 + 2 * H, enforce=False)
    result = ops.check("good")
    assert [f["check"] for f in result["findings"]] == ["threshold"]
    assert result["recorded"] is False
    assert findings(app, "good") == []
    with app.store.read() as unit:
        assert unit.monitoring.last_signal_window("good", "quality") is None
    report = app.scheduler.tick(T0 + 2 * H)
    assert report.findings == 1 and report.incidents_opened


def test_wk_check_says_it_records_nothing(wk: Cli, tmp_path: Any) -> None:
    files = []
    for name, doc in (("people", PEOPLE), ("good", system("good"))):
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(doc))
        files.append(str(path))
    assert wk("apply", *files, "--now", T0.isoformat())[0] == 0
    code, out, _ = wk("check", "good", "--now", (T0 + H).isoformat())
    assert code == 0 and "nothing was recorded" in out
    assert json.loads(wk("findings", "good", "--json")[1]) == {"rows": [], "findings": []}
