"""Silences and maintenance windows: one tiny question — does this mute that alert, and why?

Pure. A silence matches on labels (every matcher must hold; `*` matches anything) within its time
range and carries who created it and why; a maintenance window mutes a whole system.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    system: str | None = None
    kind: str = "silence"  # silence | maintenance

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.system is not None and labels.get("system") != self.system:
            return False
        return all(
            fnmatch.fnmatchcase(labels.get(key, ""), pattern)
            for key, pattern in self.matchers.items()
        )


@dataclass(frozen=True)
class Muted:
    by: Silence
    reason: str = field(default="")


def muted(labels: Mapping[str, str], silences: Iterable[Silence], now: datetime) -> Muted | None:
    """The first active silence or maintenance window that covers these labels, with why."""
    for silence in silences:
        if silence.active(now) and silence.matches(labels):
            what = "maintenance window" if silence.kind == "maintenance" else "silence"
            return Muted(
                silence,
                f"{what} #{silence.id} by {silence.created_by} until "
                f"{silence.ends_at:%Y-%m-%d %H:%M}: {silence.reason}",
            )
    return None
