"""A stored manifest the running code no longer reads (here: a lookaround in a `match`, which RE2
refuses since the regex engine changed) is that system's own problem. Every job of the tick goes
on for the other systems and names the broken one per job; `/metrics`, `wk vacuum` and
`wk status` show it as a critical gap beside the healthy systems."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, make_unreadable
from tests.server._world import api_for
from watchkeeper.app import Watchkeeper, build
from watchkeeper.clock import FixedClock
from watchkeeper.manifest import load_text
from watchkeeper.scheduler import TickReport
from watchkeeper.server import create_app
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import T0

M, H, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
DEMO_EVALS = Path(__file__).parent.parent / "src" / "watchkeeper" / "cli" / "demo" / "evals"
ANA, KIM = "ana@corp.example", "kim@corp.example"
HEALTHY, BROKEN = "healthy", "broken"
INCIDENT_AT = T0 + 2 * DAY + 2 * H  # the first tick: both systems readable, incidents open
LATER = T0 + 40 * DAY  # evals, review, retention, serious report and escalation all due again
PEOPLE = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [{"email": ANA}, {"email": KIM}],
}
JOB_STEPS = {
    "job:evals",
    "job:review_reminders",
    "job:serious_reminders",
    "job:triage_queued",
    "job:retention",
    "escalation",
}


def system(name: str) -> dict[str, Any]:
    """A live system every job of the tick has work for."""
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": name, "title": f"The {name} one"},
        "spec": {
            "lifecycle": "live",
            "retention": "30d",
            "charter": {"owner": ANA, "kill_authority": [KIM]},
            "evals": [
                {
                    "suite": "golden",
                    "dataset": str(DEMO_EVALS / "golden.jsonl"),
                    "target": "watchkeeper.cli.demo.evals.support_bot:answer",
                    "every": "7d",
                }
            ],
            "runbook": {
                "baseline": {"first": "1d"},
                "signals": {
                    "quality": {"from": "observation", "field": "metadata.score", "window": "1h"}
                },
                "alerts": [{"name": "low", "signal": "quality", "below": 0.5, "severity": "error"}],
                "escalation": {
                    "levels": [{"notify": [ANA]}, {"after": "1h", "notify": [KIM]}],
                },
                "triage": {"rules": [{"name": "poor", "field": "metadata.score", "below": 0.5}]},
            },
        },
    }


@pytest.fixture
def operated(db_url: str, store: Store, clock: FixedClock) -> Watchkeeper:
    """A server whose operator allows the demo's eval module and golden sets."""
    settings = Settings(
        db=db_url, eval_modules=("watchkeeper.cli.demo.evals",), eval_data=(str(DEMO_EVALS),)
    )
    return build(settings, store=store, clock=clock)


def apply(app: Watchkeeper) -> None:
    text = "\n---\n".join(json.dumps(d) for d in (PEOPLE, system(HEALTHY), system(BROKEN)))
    app.charter.apply(load_text(text), "ops", T0 - DAY)


def feed(app: Watchkeeper, name: str, start: datetime, score: float) -> None:
    items = [
        {"id": f"{start.isoformat()}-{i}", "ts": (start + i * M).isoformat(),
         "metadata": {"score": score}}
        for i in range(3)
    ]  # fmt: skip
    assert not app.ingest.observations(name, items, start + 3 * M).rejected


def unreadable(app: Watchkeeper, name: str) -> None:
    """Its stored manifest gains a pattern this code refuses, written as an older release
    would have stored it."""
    make_unreadable(app, name, T0)


def tick(app: Watchkeeper, now: datetime) -> TickReport:
    app.clock.set(now)  # type: ignore[attr-defined]
    report = app.scheduler.tick(now)
    assert report.ran
    return report


def a_month_later(app: Watchkeeper) -> TickReport:
    """Both systems run a first tick, then one's manifest becomes unreadable and a month goes
    by: every job has work again for both."""
    apply(app)
    for name in (HEALTHY, BROKEN):
        feed(app, name, T0, 0.9)  # the baseline day: kept by retention
        feed(app, name, T0 + 2 * DAY, 0.2)  # past retention by LATER
    assert tick(app, INCIDENT_AT).failures == []
    for incident in app.alerting.list_incidents(None, open_only=True):
        app.alerting.classify_serious(incident["id"], "d", ANA, INCIDENT_AT)
    for name in (HEALTHY, BROKEN):
        feed(app, name, LATER - 2 * DAY, 0.2)  # a completed day for triage to scan
    unreadable(app, BROKEN)
    return tick(app, LATER)


def audited(app: Watchkeeper, action: str, system: str) -> list[str]:
    with app.store.read() as unit:
        return [e.target for e in unit.audit_entries(system=system) if e.action == action]


def test_every_job_goes_on_for_the_others_and_names_the_broken_one(
    operated: Watchkeeper,
) -> None:
    app = operated
    report = a_month_later(app)

    failed = {f.step for f in report.failures if f.system == BROKEN}
    assert failed >= JOB_STEPS, report.to_dict()["failures"]
    assert all("ValidationError" in f.error for f in report.failures if f.system == BROKEN)
    assert not [f for f in report.failures if f.system != BROKEN], report.to_dict()["failures"]

    with app.store.read() as unit:
        runs = unit.care.eval_runs(HEALTHY, "golden")
        assert [r.trigger for r in runs] == ["schedule", "schedule"], "evals ran again"
        triaged = [i.observed_at for i in unit.care.triage_items(HEALTHY)]
        assert any(at >= LATER - 2 * DAY for at in triaged), "the new day was scanned"
        kept = {o.ts for o in unit.ingest.observations(HEALTHY, T0 - DAY, LATER)}
        assert min(kept) == T0 and not any(T0 + DAY <= ts < LATER - 3 * DAY for ts in kept), (
            "retention removed day 2 and kept the baseline"
        )
        [incident] = unit.alerting.incidents(HEALTHY, open_only=True)
        events = unit.alerting.incident_events(incident.id)
    assert any(e.kind == "serious.reminder" and e.detail["stage"] == "overdue" for e in events)
    assert any(e.kind == "escalated" and e.detail["level"] == 2 for e in events)
    assert audited(app, "review.reminded", HEALTHY), "the owner was reminded of the review"

    summary = report.to_dict()
    assert summary["evals"] == {"ran": 1, "refused": []}
    assert summary["review_reminders"] >= 1 and summary["serious_reminders"] == 1
    assert summary["triage_queued"] >= 1 and summary["retention"]["observations"] == 3
    assert summary["retention"]["due"] and summary["pages"] >= 1

    again = tick(app, LATER + H)
    steps = {f.step for f in again.failures if f.system == BROKEN}
    assert {"monitor", "job:evals", "job:triage_queued"} <= steps, "reported every tick"
    with app.store.read() as unit:
        failures = [f for f in unit.monitoring.findings(BROKEN, limit=1000) if f.check == "failure"]
    assert {f.evidence["step"] for f in failures} >= JOB_STEPS, "each its own finding"


def test_metrics_vacuum_and_status_show_the_broken_one_beside_the_rest(
    app: Watchkeeper, wk: Cli
) -> None:
    apply(app)
    unreadable(app, BROKEN)
    app.clock.set(T0 + DAY)  # type: ignore[attr-defined]

    for api in api_for(create_app(app)):
        metrics = api("GET", "/metrics")
        assert metrics.status_code == 200, metrics.text
        assert f'watchkeeper_vacuum_score{{system="{HEALTHY}"}}' in metrics.text
        assert f'watchkeeper_vacuum_score{{system="{BROKEN}"}} 0.0' in metrics.text
        assert f'watchkeeper_switch_enabled{{system="{BROKEN}"}} 1.0' in metrics.text

    code, out, err = wk("vacuum", "--json", "--now", (T0 + DAY).isoformat())
    assert code == 1, err
    reports = {r["system"]: r for r in json.loads(out)}
    assert set(reports) == {HEALTHY, BROKEN}
    [gap] = reports[BROKEN]["gaps"]
    assert gap["id"] == "manifest.readable" and gap["severity"] == "critical"
    assert gap["detail"].startswith("the applied manifest no longer validates: ")
    assert "runbook.signals.odd.match" in gap["detail"] and gap["detail"].endswith("re-apply it")
    assert BROKEN in gap["fix"] and reports[BROKEN]["lifecycle"] == "live"
    assert all(g["id"] != "manifest.readable" for g in reports[HEALTHY]["gaps"])

    code, out, _ = wk("vacuum", "--now", (T0 + DAY).isoformat())
    assert f"CRITICAL {BROKEN} manifest.readable" in " ".join(out.split())

    code, out, _ = wk("status", "--json", "--now", (T0 + DAY).isoformat())
    rows = {r["system"]: r for r in json.loads(out)}
    assert set(rows) == {HEALTHY, BROKEN} and rows[HEALTHY]["assignments"]
    assert any("no longer validates" in m for m in rows[BROKEN]["missing"])
    assert wk("status", BROKEN, "--now", (T0 + DAY).isoformat())[0] == 1


def test_observations_of_the_broken_one_are_still_kept(app: Watchkeeper) -> None:
    """Nothing a client sends is lost while the manifest waits to be re-applied: ingest reads
    the retention from the stored document as it is."""
    apply(app)
    unreadable(app, BROKEN)
    feed(app, BROKEN, T0 + DAY, 0.9)
    with app.store.read() as unit:
        assert unit.ingest.observation_count(BROKEN) == 3
