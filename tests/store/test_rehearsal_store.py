"""Rehearsals as the store keeps them: a record comes back as it went in (on SQLite and
PostgreSQL), newest first per system, and the vacuum report's one read finds each system's latest
and latest passed quality-drop rehearsal, whatever order they were written in."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from watchkeeper.store import RehearsalRecord, Store, Unit
from watchkeeper.testing import T0

D = timedelta(days=1)
REPORT: dict[str, Any] = {
    "system": "bot",
    "scenario": "quality-drop",
    "passed": True,
    "verdict": "paged ana@corp.example 12 min after the drop began",
    "timeline": [{"at": T0.isoformat(), "after_s": -60.0, "kind": "note", "text": "ünïcode"}],
    "missed": [],
    "time_to_page_s": 720.5,
}


def _add(
    unit: Unit,
    system: str,
    at: Any,
    *,
    passed: bool = True,
    scenario: str = "quality-drop",
    digest: str = "a" * 64,
) -> RehearsalRecord:
    return unit.rehearsals.add(
        system=system,
        scenario=scenario,
        digest=digest,
        runbook_digest="b" * 64,
        version=None if digest == "a" * 64 else 3,
        passed=passed,
        time_to_page_s=720.5 if passed else None,
        report={**REPORT, "system": system, "scenario": scenario, "passed": passed},
        actor="ana@corp.example",
        now=at,
    )


def test_a_rehearsal_comes_back_as_it_went_in(store: Store) -> None:
    with store.write() as unit:
        added = _add(unit, "bot", T0, digest="c" * 64)
    with store.read() as unit:
        [found] = unit.rehearsals.of("bot")
    assert found == added and found.id > 0
    assert (found.version, found.time_to_page_s, found.rehearsed_at) == (3, 720.5, T0)
    assert found.report["timeline"][0]["text"] == "ünïcode"
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.passed = False  # type: ignore[misc]
    as_dict = found.to_dict()
    assert set(as_dict) == {f.name for f in dataclasses.fields(RehearsalRecord)}
    assert as_dict["rehearsed_at"] == T0.isoformat() and as_dict["digest"] == "c" * 64


def test_rehearsals_are_newest_first_by_system_and_scenario(store: Store) -> None:
    with store.write() as unit:
        early = _add(unit, "bot", T0)
        late = _add(unit, "bot", T0 + 2 * D, passed=False)
        same_instant = _add(unit, "bot", T0 + 2 * D)
        drift = _add(unit, "bot", T0 + D, scenario="drift")
        _add(unit, "other", T0 + 3 * D)
    with store.read() as unit:
        assert unit.rehearsals.of("bot") == [same_instant, late, drift, early]
        assert unit.rehearsals.of("bot", scenario="quality-drop") == [same_instant, late, early]
        assert unit.rehearsals.of("bot", limit=2) == [same_instant, late]
        assert unit.rehearsals.of("nobody") == []


def test_last_rehearsals_gives_latest_and_latest_passed_per_system(store: Store) -> None:
    with store.write() as unit:
        # Written out of time order: the latest is by when it ran, not by id.
        bot_passed = _add(unit, "bot", T0 + 2 * D)
        bot_failed = _add(unit, "bot", T0 + 3 * D, passed=False)
        _add(unit, "bot", T0 + D)
        _add(unit, "bot", T0 + 4 * D, scenario="drift")
        only_failed = _add(unit, "flaky", T0, passed=False)
        ok = _add(unit, "ok", T0 + D)
        _add(unit, "ok", T0, passed=False)
    with store.read() as unit:
        found = unit.rehearsals.last(["bot", "flaky", "ok", "never"])
        assert unit.rehearsals.last(["bot"], scenario="drift")["bot"][0] is not None
    assert found == {
        "bot": (bot_failed, bot_passed),
        "flaky": (only_failed, None),
        "ok": (ok, ok),
        "never": (None, None),
    }
