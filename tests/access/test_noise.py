"""The noise gate: what unauthenticated callers cause is counted, not written row by row."""

from __future__ import annotations

from datetime import timedelta

from watchkeeper.access._noise import OVERFLOW, NoiseGate
from watchkeeper.testing import T0

MINUTE = timedelta(minutes=1)


def key(n: int = 0) -> tuple[str, str, str]:
    return ("GET /api/v1/systems", "unknown API token", f"10.0.0.{n}")


def test_a_burst_is_one_row_then_its_count() -> None:
    gate = NoiseGate(interval=MINUTE, keys=10)
    [first] = gate.note(key(), T0)
    assert (first.count, first.first, first.last) == (1, T0, T0)
    for i in range(1, 300):
        assert gate.note(key(), T0 + timedelta(milliseconds=i)) == []
    assert gate.flush(T0 + timedelta(seconds=59)) == []
    [summary] = gate.flush(T0 + MINUTE)
    assert (summary.key, summary.count) == (key(), 299)
    assert (summary.first, summary.last) == (
        T0 + timedelta(milliseconds=1),
        T0 + timedelta(milliseconds=299),
    )
    assert gate.flush(T0 + 2 * MINUTE) == []


def test_a_single_attempt_leaves_no_summary() -> None:
    gate = NoiseGate(interval=MINUTE, keys=10)
    assert len(gate.note(key(), T0)) == 1
    assert gate.flush(T0 + MINUTE) == []
    [again] = gate.note(key(), T0 + MINUTE)
    assert again.count == 1


def test_many_distinct_callers_share_one_overflow_row() -> None:
    gate = NoiseGate(interval=MINUTE, keys=3)
    written = [row for n in range(100) for row in gate.note(key(n), T0)]
    assert [r.key for r in written] == [key(0), key(1), key(2), OVERFLOW]
    summaries = gate.note(key(0), T0 + MINUTE)
    counts = {r.key: r.count for r in summaries}
    assert counts == {OVERFLOW: 96, key(0): 1}
