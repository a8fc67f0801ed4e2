"""Escalation and muting as timelines, on a fixed clock."""

from __future__ import annotations

from datetime import timedelta

from watchkeeper.alerting.escalation import Level, Policy, due_steps, next_due
from watchkeeper.alerting.mute import Silence, muted
from watchkeeper.testing import T0

M = timedelta(minutes=1)
POLICY = Policy(
    (
        Level(timedelta(0), ("ana@corp.example",)),
        Level(30 * M, ("ben@corp.example", "dev@corp.example")),
    ),
    repeat=1,
)


def walk(
    policy: Policy, until: timedelta, ack_at: timedelta | None = None
) -> list[tuple[int, int, int]]:
    """(minute, cycle, level) of every page sent by a tick each minute."""
    sent: set[tuple[int, int]] = set()
    pages = []
    for minute in range(int(until / M) + 1):
        now = T0 + minute * M
        acknowledged = ack_at is not None and now >= T0 + ack_at
        for step in due_steps(
            policy, T0, now, sent=sent, acknowledged=acknowledged, resolved=False
        ):
            sent.add(step.key)
            pages.append((minute, step.cycle, step.level))
    return pages


def test_level_one_at_once_level_two_after_thirty_minutes_then_repeat() -> None:
    assert walk(POLICY, 3 * 60 * M) == [(0, 0, 0), (30, 0, 1), (60, 1, 0), (90, 1, 1)]


def test_acknowledgement_stops_the_walk() -> None:
    assert walk(POLICY, 3 * 60 * M, ack_at=10 * M) == [(0, 0, 0)]
    assert walk(POLICY, 3 * 60 * M, ack_at=45 * M) == [(0, 0, 0), (30, 0, 1)]


def test_late_tick_sends_every_missed_level_with_its_reason() -> None:
    steps = due_steps(POLICY, T0, T0 + 40 * M, sent=set(), acknowledged=False, resolved=False)
    assert [(s.level, s.notify) for s in steps] == [
        (0, ("ana@corp.example",)),
        (1, ("ben@corp.example", "dev@corp.example")),
    ]
    assert steps[1].reason == "level 2: 30m after the incident opened, not acknowledged"
    assert next_due(POLICY, T0, {s.key for s in steps}) == T0 + 60 * M


def test_no_repeat_means_one_pass() -> None:
    once = Policy(POLICY.levels, repeat=0)
    assert walk(once, 5 * 60 * M) == [(0, 0, 0), (30, 0, 1)]


def test_silence_and_maintenance_mute_with_a_reason() -> None:
    labels = {"system": "bot", "rule": "quality-drop", "severity": "critical"}
    silence = Silence(1, {"rule": "quality-*"}, T0, T0 + 60 * M, "ana@corp.example", "retraining")
    other = Silence(2, {"rule": "drift"}, T0, T0 + 60 * M, "ana@corp.example", "known")
    window = Silence(3, {}, T0 + 120 * M, T0 + 180 * M, "ops", "db migration", "bot", "maintenance")
    assert muted(labels, [other], T0) is None
    hit = muted(labels, [other, silence], T0 + 5 * M)
    assert hit is not None and hit.by.id == 1 and "by ana@corp.example" in hit.reason
    assert muted(labels, [silence, window], T0 + 61 * M) is None
    during = muted(labels, [silence, window], T0 + 150 * M)
    assert during is not None and during.reason.startswith("maintenance window #3")
    assert muted({**labels, "system": "other"}, [window], T0 + 150 * M) is None


def test_a_three_level_path_comes_round_again_one_last_gap_after_its_last_level() -> None:
    # Gaps of 10 and 15 minutes: the cycle is the last level (25m) plus the last gap (15m).
    three = Policy(
        (
            Level(timedelta(0), ("ana@corp.example",)),
            Level(10 * M, ("ben@corp.example",)),
            Level(25 * M, ("dev@corp.example",)),
        ),
        repeat=2,
    )
    assert three.cycle == 40 * M
    assert walk(three, 3 * 60 * M) == [
        (0, 0, 0), (10, 0, 1), (25, 0, 2),
        (40, 1, 0), (50, 1, 1), (65, 1, 2),
        (80, 2, 0), (90, 2, 1), (105, 2, 2),
    ]  # fmt: skip


def test_levels_are_timed_by_their_after_not_their_order() -> None:
    shuffled = Policy((Level(25 * M, ("c",)), Level(timedelta(0), ("a",)), Level(10 * M, ("b",))))
    assert shuffled.cycle == 40 * M


def test_one_level_repeats_every_thirty_minutes() -> None:
    single = Policy((Level(5 * M, ("ana@corp.example",)),), repeat=2)
    assert walk(single, 3 * 60 * M) == [(5, 0, 0), (40, 1, 0), (75, 2, 0)]


def test_levels_at_the_same_moment_loop_after_thirty_minutes_not_at_once() -> None:
    together = Policy((Level(timedelta(0), ("a",)), Level(20 * M, ("b",)), Level(20 * M, ("c",))))
    assert together.cycle == 50 * M


def test_a_step_due_exactly_now_is_sent_and_the_reason_counts_repeats() -> None:
    sent = {(0, 0), (0, 1)}
    steps = due_steps(POLICY, T0, T0 + 60 * M, sent=sent, acknowledged=False, resolved=False)
    assert [(s.cycle, s.level, s.due_at) for s in steps] == [(1, 0, T0 + 60 * M)]
    assert steps[0].reason == "level 1, repeat 1: 1h after the incident opened, not acknowledged"
    assert due_steps(POLICY, T0, T0, sent=set(), acknowledged=False, resolved=True) == []
    assert next_due(POLICY, T0, {(0, 0), (0, 1), (1, 0), (1, 1)}) is None


def test_two_levels_loop_after_their_own_gap() -> None:
    quick = Policy((Level(timedelta(0), ("a",)), Level(10 * M, ("b",))), repeat=1)
    assert walk(quick, 60 * M) == [(0, 0, 0), (10, 0, 1), (20, 1, 0), (30, 1, 1)]


def test_a_silence_covers_its_start_but_not_its_end() -> None:
    labels = {"system": "bot", "rule": "drift"}
    silence = Silence(4, {"rule": "drift"}, T0, T0 + 60 * M, "ana@corp.example", "known")
    assert muted(labels, [silence], T0 - timedelta(microseconds=1)) is None
    hit = muted(labels, [silence], T0)
    assert hit is not None and hit.reason.startswith("silence #4 by ana@corp.example")
    assert muted(labels, [silence], T0 + 60 * M - timedelta(microseconds=1)) is not None
    assert muted(labels, [silence], T0 + 60 * M) is None
