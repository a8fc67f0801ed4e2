"""The vacuum report reads its evidence table by table for every system at once; one system's
line (the dashboard's system page) reads the same tables filtered to it. Over a portfolio where
every check both passes and fails somewhere, the two must agree line for line, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from watchkeeper.access import directory_of
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.charter import runbook_digest, system_vacuum, vacuum_report
from watchkeeper.manifest import load_text
from watchkeeper.store import manifest_of
from watchkeeper.testing import T0

DAY = timedelta(days=1)
NOW = T0 + 75 * DAY
PEOPLE = ["ana@corp.example", "ben@corp.example", "chen@corp.example", "dev@corp.example"]
LEFT = "dev@corp.example"  # deactivated before the report: owns system-3 and system-7
SYSTEMS = 12
RETIRED, DRAFT = 10, 11
CHECK_IDS = {
    "owner.active",
    "roles.filled",
    "acks.fresh",
    "review.on_time",
    "bus_factor",
    "evals.on_time",
    "monitors.receiving",
    "incidents.acknowledged",
    "care.budget_used",
    "triage.current",
    "runbook.rehearsed",
}


def _system(i: int) -> dict[str, Any]:
    owner = PEOPLE[i % 4]
    solo = i % 4 == 0  # one person holds every role, so acknowledging all leaves nothing unacked
    other = PEOPLE[(i + 1) % 4]
    runbook: dict[str, Any] = {"alerts": []}
    if i % 3 != 2:
        runbook["signals"] = {"q": {"from": "observation", "field": "metadata.score"}}
        runbook["alerts"].append({"name": "low", "signal": "q", "below": 0.5})
    if i % 5 == 1:
        runbook["alerts"].append({"name": "quiet", "absent": "2d", "severity": "critical"})
    if i % 3 == 0:
        runbook["triage"] = {"rules": [{"name": "apology", "match": "(?i)sorry"}]}
    spec: dict[str, Any] = {
        "lifecycle": "retired" if i == RETIRED else "draft" if i == DRAFT else "live",
        "charter": {
            "owner": owner,
            "quality_monitor": owner,
            "retraining_decider": owner if solo else other,
            "data_liaison": None if i % 6 == 5 else owner if solo else other,
            "kill_authority": [owner],
        },
        "runbook": runbook,
        "evals": [
            {"suite": "golden", "dataset": "g.jsonl", "target": "m:f", "every": "7d"},
            {"suite": "adhoc", "dataset": "g.jsonl", "target": "m:f"},
        ]
        if i % 2 == 0
        else [],
    }
    if i % 3 != 1:
        spec["care"] = {"hours_per_month": 8 if i != 3 else 0}
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": f"system-{i}", "tier": "high"},
        "spec": spec,
    }


def _portfolio(app: Watchkeeper) -> None:
    """Twelve systems with every kind of evidence, present, absent, fresh and stale."""
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [{"email": p, "name": p.split("@")[0]} for p in PEOPLE],
    }
    docs = [people, *(_system(i) for i in range(SYSTEMS))]
    app.charter.apply(load_text("\n---\n".join(json.dumps(d) for d in docs)), "ops", T0)
    for i in range(SYSTEMS):
        name, owner = f"system-{i}", PEOPLE[i % 4]
        if i % 3 != 2:
            app.charter.acknowledge(name, "all", owner, T0 + timedelta(days=1))
        if i % 4 == 1:
            app.charter.acknowledge(name, "all", PEOPLE[(i + 1) % 4], T0 + timedelta(days=2))
        if i % 3 != 2 and i < RETIRED:
            last = NOW - timedelta(hours=3) if i % 2 == 0 else T0 + timedelta(days=10)
            items = [
                {"id": f"{k}", "ts": (last - timedelta(hours=k)).isoformat(), "output": "ok"}
                for k in range(3)
            ]
            app.ingest.observations(name, items, last)
        if i % 2 == 0:
            for month in range(3 if i % 4 == 0 else 1):
                app.care.log_care(name, 3.0, "maintenance", "", owner, T0 + month * 31 * DAY)
        if i % 4 in (1, 2):
            ago = timedelta(days=5) if i % 4 == 1 else timedelta(days=40)
            reviewer = Operations(app, owner, NOW - ago - timedelta(days=3), enforce=False)
            reviewer.review(name, "healthy", "first look")
            Operations(app, owner, NOW - ago, enforce=False).review(name, "healthy", "again")
    with app.store.write() as unit:
        for i in range(0, SYSTEMS, 2):
            for started in (T0 + timedelta(days=20), NOW - timedelta(days=2 if i % 4 else 30)):
                unit.care.add_eval_run(
                    f"system-{i}",
                    "golden",
                    started_at=started,
                    actor="scheduler",
                    trigger="schedule",
                    model_version=None,
                    dataset_sha256="0" * 64,
                    pass_rate=1.0,
                    mean_score=1.0,
                    run={},
                )
        for i, status, severity in [
            (0, "triggered", "critical"),
            (0, "triggered", "critical"),
            (0, "resolved", "critical"),
            (1, "acknowledged", "critical"),
            (2, "triggered", "warning"),
            (5, "triggered", "critical"),
        ]:
            opened = NOW - timedelta(days=3)
            incident = unit.alerting.open_incident(
                f"system-{i}", severity=severity, title="quality low", now=opened
            )
            resolved = opened + DAY if status == "resolved" else None
            unit.alerting.update_incident(incident.id, status=status, resolved_at=resolved)
        for i, status, age in [
            (0, "open", timedelta(days=10)),
            (0, "open", timedelta(days=1)),
            (3, "done", timedelta(days=30)),
            (3, "open", timedelta(days=2)),
            (4, "open", timedelta(days=1)),
            (6, "open", timedelta(days=8)),
        ]:
            queued = NOW - age
            item = unit.care.queue_triage_item(
                f"system-{i}",
                f"obs-{status}-{queued.isoformat()}",
                observed_at=queued,
                rule="apology",
                condition="match",
                reason="matched",
                priority=2,
                assignee=None,
                snapshot={},
                now=queued,
            )
            if status == "done":
                unit.care.set_triage_verdict(
                    item.id, verdict="ok", label=None, tags=[], note=None, by="chen", now=queued
                )
        for i in range(0, SYSTEMS, 3):
            for action, ago in [("eval.run", 10), ("system.applied", 10), ("eval.run", 200)]:
                unit.audit(
                    now=NOW - timedelta(days=ago),
                    actor="chen@corp.example",
                    action=action,
                    target=f"system-{i}",
                    system=f"system-{i}",
                )
        # Rehearsed: passed on the runbook in force (0), failed after a pass (1), passed on an
        # older runbook (2); the rest never, and ask for none.
        for i, outcomes in [(0, [True]), (1, [True, False]), (2, [True])]:
            record = unit.system(f"system-{i}")
            assert record is not None
            current = runbook_digest(manifest_of(record))
            for k, passed in enumerate(outcomes):
                unit.rehearsals.add(
                    system=record.name,
                    scenario="quality-drop",
                    digest=record.digest,
                    runbook_digest="0" * 64 if i == 2 else current,
                    version=record.version,
                    passed=passed,
                    time_to_page_s=60.0 if passed else None,
                    report={"verdict": "paged" if passed else "nobody paged"},
                    actor=PEOPLE[i],
                    now=NOW - timedelta(days=5 - k),
                )
    app.charter.deactivate(LEFT, "ops", T0 + timedelta(days=60))


def test_batched_report_equals_each_system_read_alone(app: Watchkeeper) -> None:
    _portfolio(app)
    with app.store.read() as unit:
        directory = directory_of(unit)
        applied = [(record, manifest_of(record)) for record in unit.systems()]
        batched = vacuum_report(unit, applied, directory, NOW)
        alone = {
            record.name: system_vacuum(unit, record, manifest, directory, NOW)
            for record, manifest in applied
        }
    assert alone.pop(f"system-{RETIRED}") is None
    assert batched == list(alone.values())
    assert batched == app.charter.vacuum(NOW)
    judged = {(check.id, check.passed) for report in batched for check in report.checks}
    assert judged == {(check, passed) for check in CHECK_IDS for passed in (True, False)}
