"""The vacuum's rules on the pure `assess`, stated once each (docs/mutation.md says which
surviving mutants showed them unpinned): its time rules at their edges (the instant a review falls
due it is late; a monitor quiet for exactly its allowance is no longer receiving), each check's
severity as the README documents it and its weight as written down there, what makes the
portfolio critical, and that a fix giving a command gives it for its own system."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.charter.samples import directory, manifest
from watchkeeper.charter.vacuum import (
    Drills,
    Evidence,
    Rehearsals,
    SystemVacuum,
    assess,
    portfolio_critical,
    unreadable,
)

LIVE = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _check(check_id: str, evidence: Evidence, now: datetime) -> Any:
    [check] = [c for c in assess(manifest(), directory(), evidence, now).checks if c.id == check_id]
    return check


def _passed(check_id: str, evidence: Evidence, now: datetime) -> bool:
    return bool(_check(check_id, evidence, now).passed)


def _detail(check_id: str, evidence: Evidence, now: datetime) -> str:
    return str(_check(check_id, evidence, now).detail)


def test_a_review_is_late_from_the_instant_it_falls_due() -> None:
    reviewed = LIVE + timedelta(days=3)
    due = reviewed + manifest().spec.charter.review_every
    evidence = Evidence(went_live=LIVE, last_review=reviewed)
    assert _passed("review.on_time", evidence, due - SECOND)
    assert not _passed("review.on_time", evidence, due)
    assert _detail("review.on_time", evidence, due - SECOND).endswith(f", due {due.date()}")
    assert _detail("review.on_time", evidence, due).endswith(", overdue by 0d")


def test_a_system_never_reviewed_is_due_a_review_period_after_going_live() -> None:
    due = LIVE + manifest().spec.charter.review_every
    assert _passed("review.on_time", Evidence(went_live=LIVE), due - SECOND)
    assert not _passed("review.on_time", Evidence(went_live=LIVE), due)


def test_a_monitor_quiet_for_exactly_its_allowance_is_not_receiving() -> None:
    allowed = timedelta(hours=6)
    evidence = Evidence(last_data=LIVE, silence_allowed=allowed)
    assert _passed("monitors.receiving", evidence, LIVE + allowed - SECOND)
    assert not _passed("monitors.receiving", evidence, LIVE + allowed)
    assert not _passed("monitors.receiving", Evidence(silence_allowed=allowed), LIVE)


def test_overdue_evals_and_unacknowledged_critical_incidents_fail_their_checks() -> None:
    assert _passed("evals.on_time", Evidence(overdue_evals=[]), LIVE)
    assert not _passed("evals.on_time", Evidence(overdue_evals=["golden"]), LIVE)
    assert _passed("incidents.acknowledged", Evidence(unacknowledged_critical=[]), LIVE)
    assert not _passed("incidents.acknowledged", Evidence(unacknowledged_critical=[7]), LIVE)


def test_a_triage_item_past_its_deadline_fails_the_queue_check() -> None:
    assert _passed("triage.current", Evidence(stale_triage=0), LIVE)
    assert not _passed("triage.current", Evidence(stale_triage=2), LIVE)


# Every check measured, and every one failing but the owner's (who is active).
EVERYTHING_WRONG = Evidence(
    acks=[],
    went_live=LIVE,
    actors={"ana@corp.example"},
    overdue_evals=["golden"],
    silence_allowed=timedelta(hours=6),
    unacknowledged_critical=[7],
    unspent_months=3,
    stale_triage=2,
    drills=Drills(timedelta(days=90)),
    rehearsals=Rehearsals("0" * 64, every=timedelta(days=90)),
)
NOW = LIVE + timedelta(days=90)

# README, "The vacuum report": each check's severity. Its weight: 3 where nobody owns or answers
# for the system (owner, roles, an unacknowledged critical incident, a manifest nothing can read);
# 2 where the routine of looking after it lapsed (acknowledgements, review, bus factor, evals,
# monitors receiving, drills, rehearsals); 1 for the care budget and the triage queue.
DOCUMENTED = {
    "owner.active": ("critical", 3),
    "roles.filled": ("critical", 3),
    "acks.fresh": ("warning", 2),
    "review.on_time": ("warning", 2),
    "bus_factor": ("warning", 2),
    "evals.on_time": ("warning", 2),
    "monitors.receiving": ("critical", 2),
    "incidents.acknowledged": ("critical", 3),
    "care.budget_used": ("warning", 1),
    "triage.current": ("warning", 1),
    "manifest.readable": ("critical", 3),
    "switch.drilled": ("warning", 2),
    "runbook.rehearsed": ("warning", 2),
}


def test_each_check_has_its_documented_severity_and_weight() -> None:
    report = assess(manifest(), directory(), EVERYTHING_WRONG, NOW)
    [unread] = unreadable("bot", "live", "ana@corp.example", "no").checks
    found = {c.id: (c.severity, c.weight) for c in [*report.checks, unread]}
    assert found == DOCUMENTED


def test_the_score_is_the_weighted_share_of_checks_passed() -> None:
    report = assess(manifest(), directory(), EVERYTHING_WRONG, NOW)
    assert [c.id for c in report.checks if c.passed] == ["owner.active", "roles.filled"]
    weights = {check_id: weight for check_id, (_, weight) in DOCUMENTED.items()}
    measured = sum(weights[c.id] for c in report.checks)
    assert report.score == round(
        100 * (weights["owner.active"] + weights["roles.filled"]) / measured
    )


def test_the_report_says_whose_system_it_is_and_in_what_lifecycle() -> None:
    draft = manifest(lambda data: data["spec"].update(lifecycle="draft"))
    for system in (manifest(), draft):
        report = assess(system, directory(), EVERYTHING_WRONG, NOW)
        assert (report.system, report.lifecycle, report.owner) == (
            "bot",
            system.spec.lifecycle,
            "ana@corp.example",
        )
        assert report.to_dict() == {
            "system": "bot",
            "lifecycle": system.spec.lifecycle,
            "owner": "ana@corp.example",
            "score": report.score,
            "critical": True,
            "gaps": [c.to_dict() for c in report.checks if not c.passed],
            "checks": [c.to_dict() for c in report.checks],
        }


def _line(lifecycle: str, severity: str) -> SystemVacuum:
    """A system's line with one gap of `severity`."""
    gap = replace(unreadable("bot", lifecycle, None, "no").checks[0], severity=severity)
    return SystemVacuum("bot", lifecycle, None, 0, [gap])


@pytest.mark.parametrize(
    ("lines", "critical"),
    [
        ([("live", "critical")], True),
        ([("live", "warning"), ("live", "critical")], True),
        ([("live", "warning")], False),
        ([("draft", "critical"), ("retired", "critical")], False),
        ([], False),
    ],
)
def test_the_portfolio_is_critical_when_a_live_system_has_a_critical_gap(
    lines: list[tuple[str, str]], critical: bool
) -> None:
    assert portfolio_critical([_line(*line) for line in lines]) is critical


def test_a_manifest_nothing_can_read_is_a_critical_gap_saying_why_and_what_to_do() -> None:
    report = unreadable("bot", "live", "ana@corp.example", "RE2 cannot run `(?=x)`")
    [check] = report.checks
    assert (report.system, report.lifecycle, report.owner) == ("bot", "live", "ana@corp.example")
    assert report.critical and report.gaps == [check] and report.score == 0
    assert check.id == "manifest.readable" and check.passed is False and check.why
    assert "RE2 cannot run `(?=x)`" in check.detail and "wk apply" in check.fix
    assert "bot" in check.fix
    assert portfolio_critical([report])


def test_every_command_a_fix_gives_is_for_this_system_or_its_incident() -> None:
    report = assess(manifest(), directory(), EVERYTHING_WRONG, NOW)
    commands = [
        (c.id, command) for c in report.gaps for command in re.findall(r"`(wk [^`]*)`", c.fix)
    ]
    assert {check_id for check_id, _ in commands} == {
        "acks.fresh",
        "review.on_time",
        "evals.on_time",
        "incidents.acknowledged",
        "care.budget_used",
        "triage.current",
        "switch.drilled",
        "runbook.rehearsed",
    }
    for check_id, command in commands:
        target = "7" if check_id == "incidents.acknowledged" else "bot"
        assert command.split()[-1] == target or f" {target} " in command, (check_id, command)
