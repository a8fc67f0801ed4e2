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
    left_at: datetime | None = None  # when they stopped being active, as the store saw it


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


@dataclass(frozen=True)
class SwitchRecord:
    """A system's kill switch as stored; a system never flipped has no record (enabled, v0)."""

    system: str
    state: str
    version: int
    reason: str | None
    changed_by: str | None
    changed_at: datetime | None


@dataclass(frozen=True)
class TokenRecord:
    """An API token's public half: whose it is and how to recognise it; never the secret."""

    id: int
    person: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def status(self, now: datetime) -> str:
        """`active`, `revoked` or `expired` at `now`: only an active token authenticates."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Deactivation:
    """A deliberate `wk people deactivate`: it holds until someone reverses it explicitly."""

    at: datetime
    by: str


@dataclass(frozen=True)
class AuditHead:
    """The newest link of the audit chain, kept apart so that deleting the tail shows."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ObservationRecord:
    """One prediction or generation, with the latest feedback on it (if any)."""

    id: str
    ts: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    latency_ms: float | None = None
    model_version: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] | None = None
