"""The vacuum's time rules at their edges, on the pure `assess`: the instant a review falls due it
is late, and a monitor quiet for exactly its allowance is no longer receiving (mutation testing
showed `<` and `<=` could be swapped in both without a test noticing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.charter.samples import directory, manifest
from watchkeeper.charter.vacuum import Evidence, assess

LIVE = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _passed(check_id: str, evidence: Evidence, now: datetime) -> bool:
    [check] = [c for c in assess(manifest(), directory(), evidence, now).checks if c.id == check_id]
    return check.passed


def test_a_review_is_late_from_the_instant_it_falls_due() -> None:
    reviewed = LIVE + timedelta(days=3)
    due = reviewed + manifest().spec.charter.review_every
    evidence = Evidence(went_live=LIVE, last_review=reviewed)
    assert _passed("review.on_time", evidence, due - SECOND)
    assert not _passed("review.on_time", evidence, due)


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
