"""Plain records the store hands out, so nothing above it touches SQLAlchemy objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PersonRecord:
    email: str
    name: str
    active: bool
    admin: bool = False
    channels: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TeamRecord:
    name: str
    members: list[str]


@dataclass(frozen=True)
class SystemRecord:
    name: str
    version: int
    manifest: dict[str, Any]
    digest: str
    applied_at: datetime
    applied_by: str
    live_since: datetime | None


@dataclass(frozen=True)
class AckRecord:
    system: str
    role: str
    holder: str
    acked_by: str
    acked_at: datetime
