"""Walking the runbook's escalation path: a pure decision of who is due a page at `now`.

Levels fire at `after` from the moment the incident opened, until someone acknowledges. With
`repeat: N` the whole path runs N more times; a cycle lasts until the last level plus the gap
before it (30m when there is only one level), the way PagerDuty loops a policy.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_LOOP_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class Level:
    after: timedelta
    notify: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    levels: tuple[Level, ...]
    repeat: int = 0

    @property
    def cycle(self) -> timedelta:
        afters = sorted(level.after for level in self.levels)
        if not afters:
            return DEFAULT_LOOP_GAP
        gap = afters[-1] - afters[-2] if len(afters) > 1 else DEFAULT_LOOP_GAP
        return afters[-1] + (gap if gap > timedelta(0) else DEFAULT_LOOP_GAP)


@dataclass(frozen=True)
class Step:
    cycle: int
    level: int
    notify: tuple[str, ...]
    due_at: datetime
    reason: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.cycle, self.level)


def schedule(policy: Policy, opened_at: datetime) -> list[Step]:
    """Every step the path would take if nobody ever acknowledged."""
    steps = []
    for cycle in range(policy.repeat + 1):
        for index, level in enumerate(policy.levels):
            due = opened_at + cycle * policy.cycle + level.after
            since = due - opened_at
            again = f", repeat {cycle}" if cycle else ""
            steps.append(
                Step(
                    cycle,
                    index,
                    level.notify,
                    due,
                    f"level {index + 1}{again}: {_human(since)} after the incident opened, "
                    "not acknowledged",
                )
            )
    return sorted(steps, key=lambda s: (s.due_at, s.cycle, s.level))


def due_steps(
    policy: Policy,
    opened_at: datetime,
    now: datetime,
    *,
    sent: Collection[tuple[int, int]],
    acknowledged: bool,
    resolved: bool,
) -> list[Step]:
    """Steps due by `now` and not yet sent; none once someone acknowledged or it resolved."""
    if acknowledged or resolved:
        return []
    return [s for s in schedule(policy, opened_at) if s.due_at <= now and s.key not in sent]


def next_due(
    policy: Policy, opened_at: datetime, sent: Collection[tuple[int, int]]
) -> datetime | None:
    pending = [s.due_at for s in schedule(policy, opened_at) if s.key not in sent]
    return min(pending) if pending else None


def policy_from(levels: Sequence[object], repeat: int) -> Policy:
    """From the manifest's escalation levels (objects with `after` and `notify`)."""
    return Policy(
        tuple(Level(lv.after, tuple(lv.notify)) for lv in levels),  # type: ignore[attr-defined]
        repeat,
    )


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes == 0:
        return "at once"
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
