"""Retention honours the EU AI Act for a system marked high-risk (Art. 19(1), 26(6)): its logs
stay at least six calendar months, whatever `spec.retention` says — neither purged nor thinned
to the raw sample before then — while the same manifest unmarked keeps what it says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper.app import Watchkeeper
from watchkeeper.ingest.retention import six_months_before
from watchkeeper.manifest import load_text
from watchkeeper.store import Store
from watchkeeper.testing import T0

DAY = timedelta(days=1)
START = T0.replace(hour=0)  # 2026-01-05: the first observation, the baseline's first day
DAYS = (0, 20, 40, 100, 150, 200, 230)
PER_DAY = 20


def at(day: float) -> datetime:
    return START + day * DAY


def system(name: str, marker: str | None) -> dict[str, object]:
    metadata = {"name": name} | ({"eu_ai_act": marker} if marker else {})
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": metadata,
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": "a@x.io"},
            "runbook": {"baseline": {"first": "2d"}},
            "retention": {"keep": "30d", "raw_sample": "10%"},
        },
    }


def kept_days(store: Store, name: str) -> dict[int, int]:
    """How many observations of each day of DAYS are still stored."""
    with store.read() as unit:
        stored = unit.ingest.observations(name, at(-1), at(1000))
    return {d: sum(1 for o in stored if o.id.startswith(f"{name}-{d}-")) for d in DAYS}


def test_a_high_risk_system_keeps_six_months_whatever_its_retention_says(
    app: Watchkeeper, store: Store
) -> None:
    people = {"apiVersion": "watchkeeper/v1", "kind": "People", "people": [{"email": "a@x.io"}]}
    documents = (people, system("marked", "high-risk"), system("plain", "limited"))
    app.charter.apply(load_text("\n---\n".join(json.dumps(d) for d in documents)), "ops", at(-1))
    for name in ("marked", "plain"):
        for day in DAYS:
            items = [
                {"id": f"{name}-{day}-{i}", "ts": at(day + i / 1000).isoformat(), "inputs": {}}
                for i in range(PER_DAY)
            ]
            assert app.ingest.observations(name, items, at(day) + DAY).accepted == PER_DAY

    app.clock.set(at(240))  # type: ignore[attr-defined]
    assert app.scheduler.tick(at(240)).ran  # 2026-09-02: six months back is 2026-03-02, day 56

    assert six_months_before(at(240)) == at(56)
    marked, plain = kept_days(store, "marked"), kept_days(store, "plain")
    assert marked == {0: PER_DAY, 20: 0, 40: 0, 100: PER_DAY, 150: PER_DAY, 200: PER_DAY,
                      230: PER_DAY}, "whole from six months back: not even thinned"  # fmt: skip
    assert plain[0] == PER_DAY and plain[230] < PER_DAY, "the baseline whole, day 230 thinned"
    assert [plain[d] for d in (20, 40, 100, 150, 200)] == [0] * 5, "30 days kept, no more"


@pytest.mark.parametrize(
    ("now", "before"),
    [
        ("2026-09-02T10:30", "2026-03-02T10:30"),
        ("2026-08-31T00:00", "2026-02-28T00:00"),  # no 31 February: its last day
        ("2028-08-31T00:00", "2028-02-29T00:00"),  # a leap year
        ("2026-03-15T08:00", "2025-09-15T08:00"),  # across the year
        ("2026-07-01T00:00", "2026-01-01T00:00"),  # 181 days
        ("2026-01-31T00:00", "2025-07-31T00:00"),  # 184 days
    ],
)
def test_six_months_are_counted_by_the_calendar(now: str, before: str) -> None:
    def instant(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    assert six_months_before(instant(now)) == instant(before)


def test_ingest_takes_what_a_high_risk_system_keeps(app: Watchkeeper) -> None:
    """An item older than the manifest's keep but younger than six months is kept by retention
    for a high-risk system, so ingest must not refuse it (nothing the user sent is lost)."""
    people = {"apiVersion": "watchkeeper/v1", "kind": "People", "people": [{"email": "a@x.io"}]}
    documents = (people, system("marked", "high-risk"), system("plain", None))
    app.charter.apply(load_text("\n---\n".join(json.dumps(d) for d in documents)), "ops", at(-1))
    now = at(240)  # six months back is day 56; the keep of 30 days, day 210

    def sent(name: str, day: int) -> tuple[int, list[str]]:
        item = {"id": f"{name}-late-{day}", "ts": at(day).isoformat(), "inputs": {}}
        result = app.ingest.observations(name, [item], now)
        return result.accepted, [r.error for r in result.rejected]

    assert sent("marked", 100) == (1, [])
    accepted, why = sent("plain", 100)
    assert accepted == 0 and "older than the system's retention (30d)" in why[0], why
    accepted, why = sent("marked", 40)
    assert accepted == 0 and "older than the system's retention" in why[0], why
