"""Durations people write in runbooks, and the bound that keeps `now - duration` a date."""

from __future__ import annotations

from datetime import timedelta

import pytest

from watchkeeper.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("2w", timedelta(weeks=2))],
)
def test_the_units(text: str, expected: timedelta) -> None:
    assert (
        parse_duration(text) == expected and parse_duration(format_duration(expected)) == expected
    )


def test_ten_years_is_the_longest() -> None:
    assert parse_duration("3650d") == timedelta(days=3650)
    for text in ("3651d", "522w", "999999w", "99999999999999999999s"):
        with pytest.raises(ValueError, match="longer than 10 years"):
            parse_duration(text)
