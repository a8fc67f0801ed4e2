"""The vacuum's `runbook.rehearsed` gap, for live systems: overdue past rehearse_every (counted
from going live, or from the last passed rehearsal), the newest rehearsal failed, or the runbook
changed since the last one that passed. A system never rehearsed that does not ask to be has no
such check (the gate catches it before apply). First on the pure `assess`, then through the store
(SQLite and PostgreSQL), where the evidence is gathered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.charter.samples import PEOPLE, READY, directory, manifest
from watchkeeper.app import Watchkeeper
from watchkeeper.charter import runbook_digest
from watchkeeper.charter._rubric import Check
from watchkeeper.charter.vacuum import Evidence, Rehearsals, assess
from watchkeeper.manifest import load_text
from watchkeeper.store import RehearsalRecord
from watchkeeper.testing import T0

LIVE = datetime(2026, 1, 1, tzinfo=UTC)
EVERY = timedelta(days=30)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
RUNBOOK = runbook_digest(manifest())


def rehearsal(at: datetime, passed: bool = True, runbook: str = RUNBOOK) -> RehearsalRecord:
    return RehearsalRecord(
        1, "bot", "quality-drop", "d" * 64, runbook, 2, passed, 600.0 if passed else None, at,
        "ana@corp.example", {"verdict": "paged" if passed else "rule drop never fired"},
    )  # fmt: skip


def check(rehearsals: Rehearsals, now: datetime) -> Check | None:
    evidence = Evidence(went_live=LIVE, rehearsals=rehearsals)
    found = [c for c in assess(manifest(), directory(), evidence, now).checks]
    return next((c for c in found if c.id == "runbook.rehearsed"), None)


def test_a_system_never_rehearsed_that_does_not_ask_has_no_check() -> None:
    assert check(Rehearsals(RUNBOOK), LIVE + 400 * DAY) is None


def test_rehearse_every_is_counted_from_going_live_then_from_the_last_pass() -> None:
    never = Rehearsals(RUNBOOK, every=EVERY)
    young = check(never, LIVE + EVERY - SECOND)
    assert young is not None and young.passed
    assert young.detail == "never rehearsed since going live 2026-01-01, next due 2026-01-31"
    late = check(never, LIVE + EVERY)
    assert late is not None and not late.passed
    assert late.detail == "never rehearsed since going live 2026-01-01, overdue by 0d"
    assert late.fix == "run `wk rehearse bot` and mend what it reports"
    assert (late.severity, late.weight) == ("warning", 2) and "30d" in late.why
    passed_at = LIVE + 20 * DAY
    record = rehearsal(passed_at)
    once = Rehearsals(RUNBOOK, record, record, EVERY)
    within = check(once, passed_at + EVERY - SECOND)
    assert within is not None and within.passed
    overdue = check(once, passed_at + EVERY + 3 * DAY)
    assert overdue is not None and not overdue.passed
    assert overdue.detail == "last passed rehearsal 2026-01-21, overdue by 3d"


def test_a_failed_newest_rehearsal_is_a_gap_whatever_an_older_one_said() -> None:
    older = rehearsal(LIVE + DAY)
    failed = rehearsal(LIVE + 2 * DAY, passed=False)
    found = check(Rehearsals(RUNBOOK, failed, older), LIVE + 3 * DAY)
    assert found is not None and not found.passed
    assert found.detail == "last rehearsal 2026-01-03 FAILED: rule drop never fired"


def test_a_runbook_changed_since_its_last_pass_is_a_gap() -> None:
    record = rehearsal(LIVE + DAY, runbook="0" * 64)
    changed = check(Rehearsals(RUNBOOK, record, record), LIVE + 2 * DAY)
    assert changed is not None and not changed.passed
    assert changed.detail == "the runbook changed since its last successful rehearsal on 2026-01-02"
    same = rehearsal(LIVE + DAY)
    unchanged = check(Rehearsals(RUNBOOK, same, same), LIVE + 2 * DAY)
    assert unchanged is not None and unchanged.passed
    assert unchanged.detail == "last passed rehearsal 2026-01-02"


def _apply(app: Watchkeeper, system: dict[str, Any], now: datetime) -> None:
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [{"email": p, "name": p.split("@")[0]} for p in PEOPLE],
    }
    app.charter.apply(load_text(f"{json.dumps(people)}\n---\n{json.dumps(system)}"), "ops", now)


def _gap(app: Watchkeeper, now: datetime) -> Check | None:
    [report] = app.charter.vacuum(now)
    return next((c for c in report.checks if c.id == "runbook.rehearsed"), None)


def test_the_store_gathers_the_evidence_for_live_systems_only(app: Watchkeeper) -> None:
    draft = json.loads(json.dumps(READY))
    draft["spec"]["lifecycle"] = "draft"
    draft["spec"]["runbook"]["rehearse_every"] = "30d"
    _apply(app, draft, T0)
    assert _gap(app, T0 + 90 * DAY) is None, "a draft owes no rehearsal"
    _apply(app, READY, T0)
    assert _gap(app, T0 + DAY) is None, "live, never rehearsed, not asked"
    with app.store.write() as unit:
        unit.rehearsals.add(
            system="bot",
            scenario="quality-drop",
            digest="d" * 64,
            runbook_digest=runbook_digest(manifest()),
            version=2,
            passed=True,
            time_to_page_s=600.0,
            report={"verdict": "paged"},
            actor="ana@corp.example",
            now=T0 + DAY,
        )
    rehearsed = _gap(app, T0 + 2 * DAY)
    assert rehearsed is not None and rehearsed.passed
    changed = json.loads(json.dumps(READY))
    changed["spec"]["runbook"]["escalation"]["repeat"] = 2
    _apply(app, changed, T0 + 2 * DAY)
    stale = _gap(app, T0 + 3 * DAY)
    assert stale is not None and not stale.passed and "runbook changed" in stale.detail
