"""The gate's `runbook.rehearsed`: a passed quality-drop rehearsal of this very manifest, or of
any version within rehearse_every; never rehearsed, failed or another version fail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from watchkeeper.app import Watchkeeper
from watchkeeper.charter import manifest_digest
from watchkeeper.charter._rubric import Check
from watchkeeper.charter.gate import GateReport, evaluate
from watchkeeper.manifest import ManifestError, SystemManifest, load_text
from watchkeeper.store import RehearsalRecord
from watchkeeper.testing import T0

from .samples import PEOPLE, READY, all_acks, directory, manifest, record_rehearsal, rehearsed
from .test_service import PEOPLE_DOC


def _check(
    system: SystemManifest, records: list[RehearsalRecord], now: datetime = T0
) -> tuple[Check, GateReport]:
    report = evaluate(system, directory(), all_acks(system, T0), now, records)
    return next(c for c in report.checks if c.id == "runbook.rehearsed"), report


def test_a_passed_rehearsal_of_this_manifest_passes_and_says_when() -> None:
    system = manifest()
    check, report = _check(system, rehearsed(system))
    assert check.passed and report.ready
    assert "passed for this manifest on 2026" in check.detail and "after 60 min" in check.detail


def test_never_rehearsed_failed_or_another_version_fail_with_the_fix() -> None:
    system = manifest()
    never, report = _check(system, [])
    assert not never.passed and never.detail == "never rehearsed" and not report.ready
    assert "wk rehearse bot" in never.fix
    failed, _ = _check(system, rehearsed(system, passed=False))
    assert not failed.passed and "FAILED: nobody was paged" in failed.detail
    other, _ = _check(system, rehearsed(system, digest="0" * 64))
    assert not other.passed and "another version" in other.detail


def test_rehearse_every_accepts_any_version_rehearsed_recently_enough() -> None:
    def every(data: dict[str, Any]) -> None:
        data["spec"]["runbook"]["rehearse_every"] = "30d"

    system = manifest(every)
    older = rehearsed(system, T0, digest="0" * 64)
    within, _ = _check(system, older, T0 + timedelta(days=30))
    assert within.passed and "within rehearse_every" in within.detail
    beyond, _ = _check(system, older, T0 + timedelta(days=30, seconds=1))
    assert not beyond.passed


def test_an_offline_gate_does_not_check_it() -> None:
    system = manifest()
    report = evaluate(system, directory(), all_acks(system, T0), T0, None)
    [unchecked] = report.not_checked()
    assert unchecked.id == "runbook.rehearsed" and report.ready


def test_the_gate_reads_rehearsals_from_the_store_and_a_pre_apply_one_counts_after(
    app: Watchkeeper,
) -> None:
    loaded = load_text(f"{json.dumps(PEOPLE_DOC)}\n---\n{json.dumps(READY)}")
    [system] = loaded.systems
    [before] = app.charter.gate(loaded, T0)
    assert _found(before).detail == "never rehearsed" and not _found(before).passed
    record_rehearsal(app.store, system, T0)
    app.charter.apply(loaded, "ops", T0 + timedelta(hours=1))
    with app.store.read() as unit:
        applied = unit.system("bot")
    assert applied is not None and applied.digest == manifest_digest(system)
    [after] = app.charter.gate(loaded, T0 + timedelta(hours=2))
    assert _found(after).passed
    assert _found(after).detail == (
        f"passed for this manifest on {T0:%Y-%m-%d} by ana@corp.example (first page after 2 min)"
    )


def _found(report: GateReport) -> Check:
    return next(c for c in report.checks if c.id == "runbook.rehearsed")


@pytest.mark.parametrize(("every", "said"), [("12h", "not 12h"), ("0d", "at least a day")])
def test_rehearse_every_is_at_least_a_day_and_a_bad_one_is_located(every: str, said: str) -> None:
    ready = json.loads(json.dumps(READY))
    ready["spec"]["runbook"]["rehearse_every"] = every
    with pytest.raises(ManifestError) as caught:
        load_text(json.dumps(ready, indent=2), known_people=PEOPLE)
    [problem] = caught.value.problems
    assert "rehearse_every" in problem.message and said in problem.message
    assert problem.location.line is not None
