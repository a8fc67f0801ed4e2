"""Care budget arithmetic by calendar month."""

from __future__ import annotations

from datetime import UTC, datetime

from watchkeeper.charter.ledger import CareEntry, by_month, months_between, unspent_streak


def at(year: int, month: int, day: int = 15) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_months_between_crosses_years() -> None:
    assert months_between(at(2025, 11), at(2026, 2)) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_given_against_planned_and_unspent_streak() -> None:
    entries = [
        CareEntry(at(2026, 1, 3), 6, "maintenance", "ana"),
        CareEntry(at(2026, 1, 31), 4, "review", "ana"),
        CareEntry(at(2026, 2, 1), 1, "eval", "ben"),
        CareEntry(at(2026, 4, 2), 8, "retraining", "ben"),
    ]
    months = by_month(entries, 8, at(2026, 1), at(2026, 5))
    assert [(m.month, m.given) for m in months] == [
        ("2026-01", 10),
        ("2026-02", 1),
        ("2026-03", 0),
        ("2026-04", 8),
        ("2026-05", 0),
    ]
    assert [m.unspent for m in months] == [False, True, True, False, True]
    assert unspent_streak(months, complete_before="2026-04") == 2
    assert unspent_streak(months, complete_before="2026-05") == 0
    assert unspent_streak(months, complete_before="2026-06") == 1


def test_no_budget_is_never_unspent() -> None:
    [month] = by_month([], 0, at(2026, 1), at(2026, 1))
    assert not month.unspent and month.share == 1.0
