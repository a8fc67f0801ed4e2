"""The care ledger's arithmetic: hours budgeted per month against hours given, so neglect shows.

Pure. Months are calendar months in UTC; a month is "unspent" when less than a quarter of its
budget was given, and two unspent months running is a finding the vacuum report carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

UNSPENT_SHARE = 0.25


@dataclass(frozen=True)
class CareEntry:
    at: datetime
    hours: float
    kind: str
    by: str
    note: str = ""


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    planned: float
    given: float

    @property
    def share(self) -> float:
        return self.given / self.planned if self.planned else 1.0

    @property
    def unspent(self) -> bool:
        return self.planned > 0 and self.share < UNSPENT_SHARE

    def to_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "planned": self.planned,
            "given": round(self.given, 2),
            "share": round(self.share, 3),
            "unspent": self.unspent,
        }


def month_key(instant: datetime) -> str:
    return f"{instant.year:04d}-{instant.month:02d}"


def months_between(start: datetime, end: datetime) -> list[str]:
    """Every calendar month from start's to end's, inclusive."""
    year, month = start.year, start.month
    keys = []
    while (year, month) <= (end.year, end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def by_month(
    entries: Iterable[CareEntry], budget: float, start: datetime, end: datetime
) -> list[Month]:
    given: dict[str, float] = {}
    for entry in entries:
        key = month_key(entry.at)
        given[key] = given.get(key, 0.0) + entry.hours
    return [Month(key, budget, given.get(key, 0.0)) for key in months_between(start, end)]


def unspent_streak(months: list[Month], *, complete_before: str) -> int:
    """How many complete months in a row, ending with the last complete one, went unspent."""
    streak = 0
    for month in reversed([m for m in months if m.month < complete_before]):
        if not month.unspent:
            break
        streak += 1
    return streak
