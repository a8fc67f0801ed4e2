"""What a unit of work decided to tell and to do, done once it has committed: a page or notice
never goes out for a change that was rolled back, and no delivery holds a write lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from watchkeeper.alerting.notifiers import Message


@dataclass(frozen=True)
class Notice:
    """A message for names from a manifest (people or teams, expanded when it is sent)."""

    message: Message
    to: Sequence[str]
    incident_id: int | None
    purpose: str


@dataclass(frozen=True)
class Disable:
    """A playbook pre-authorised to take its system offline."""

    system: str
    playbook: str
    reason: str


@dataclass
class Outbox:
    notices: list[Notice] = field(default_factory=list)
    disable: list[Disable] = field(default_factory=list)
