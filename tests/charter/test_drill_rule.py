"""The vacuum's `switch.drilled` rule on the pure `assess`, at its edges: counted from going live
(a system live for less than `drill_every` is not overdue yet) or from the last passed drill;
due from the instant the period ends; a failed last drill is a gap whatever an older one said,
and names its stragglers; measured only where drills are asked for and the system is live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.charter.samples import directory, manifest
from watchkeeper.charter.vacuum import Drills, Evidence, assess
from watchkeeper.store import DrillRecord

LIVE = datetime(2026, 1, 1, tzinfo=UTC)
EVERY = timedelta(days=90)
SECOND = timedelta(seconds=1)
STRAGGLER = {"name": "web-3/77/checkout", "host": "web-3", "pid": 77, "version": 4, "live": False}


def drill(at: datetime, passed: bool, **outcome: Any) -> DrillRecord:
    return DrillRecord(
        "bot", 5, "enabled", "quarterly", "dev@corp.example", at,
        finished_at=at + timedelta(seconds=30), passed=passed, **outcome,
    )  # fmt: skip


def check(drills: Drills | None, now: datetime, went_live: datetime | None = LIVE) -> Any:
    evidence = Evidence(went_live=went_live, drills=drills)
    found = [c for c in assess(manifest(), directory(), evidence, now).checks]
    matched = [c for c in found if c.id == "switch.drilled"]
    return matched[0] if matched else None


def test_a_system_live_for_less_than_the_period_is_not_overdue_yet() -> None:
    young = check(Drills(EVERY), LIVE + EVERY - SECOND)
    assert young.passed
    assert young.detail == "never drilled since going live 2026-01-01, next due 2026-04-01"
    late = check(Drills(EVERY), LIVE + EVERY)
    assert not late.passed and late.detail == "never drilled since going live 2026-01-01, " \
        "overdue by 0d"  # fmt: skip
    assert late.fix == "a kill authority runs `wk drill bot`"
    assert (late.severity, late.weight) == ("warning", 2)


def test_a_passed_drill_starts_the_period_again() -> None:
    passed_at = LIVE + timedelta(days=80)
    drills = Drills(EVERY, drill(passed_at, True, summary="confirmed by 3 of 3"), passed_at)
    assert check(drills, passed_at + EVERY - SECOND).passed
    due = check(drills, passed_at + EVERY + timedelta(days=4))
    assert not due.passed and due.detail == "last passed drill 2026-03-22, overdue by 4d"


def test_a_failed_last_drill_is_a_gap_that_names_its_stragglers() -> None:
    passed_at = LIVE + timedelta(days=10)
    failed = drill(
        LIVE + timedelta(days=20),
        False,
        summary="confirmed by 2 of 3 live processes in 40 ms",
        stragglers=[STRAGGLER],
    )
    found = check(Drills(EVERY, failed, passed_at), LIVE + timedelta(days=21))
    assert not found.passed, "an older passed drill does not excuse the newest one"
    assert found.detail == (
        "last drill 2026-01-21 00:00 by dev@corp.example FAILED: confirmed by 2 of 3 live "
        "processes in 40 ms; stragglers: web-3/77/checkout"
    )
    assert found.fix.startswith("find out why the stragglers did not confirm")
    assert found.fix.endswith("then a kill authority runs `wk drill bot`")


def test_a_drill_that_proved_nothing_is_failed_without_stragglers() -> None:
    empty = drill(LIVE, False, summary="no live SDK process of this system was known")
    found = check(Drills(EVERY, empty), LIVE + timedelta(days=1))
    assert not found.passed
    assert found.detail.endswith("FAILED: no live SDK process of this system was known")


def test_measured_only_for_live_systems_that_ask_for_drills() -> None:
    assert check(None, LIVE) is None
    assert check(Drills(EVERY), LIVE, went_live=None) is None
