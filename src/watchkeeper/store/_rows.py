"""The mapped base, the column types every table uses, and the core's own tables (people, teams,
systems, acknowledgements, the audit log, switches, tokens).

Each stage's tables live beside its repository (`_ingest`, `_monitoring`, `_alerting`, `_care`)
and are mapped when a unit first reaches for that repository; `_tables` gathers them all."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


class JSONType(TypeDecorator[Any]):
    """JSON, kept as JSONB on PostgreSQL. The PostgreSQL dialect is imported only when a
    PostgreSQL connection asks, so a command on SQLite does not pay for it at start-up."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


def dialect_insert(session: Session) -> Any:
    """The INSERT construct of the session's database (for ON CONFLICT), imported on use."""
    name = session.get_bind().dialect.name
    return importlib.import_module(f"sqlalchemy.dialects.{name}").insert


MAX_INTEGER = 2**31 - 1
"""The largest number an INTEGER column holds on PostgreSQL (ids, record numbers)."""
BigId = BigInteger().with_variant(Integer(), "sqlite")
"""The ids of tables that grow without bound: BIGINT on PostgreSQL, SQLite's rowid INTEGER."""
T = TypeVar("T")
R = TypeVar("R", bound="DataclassInstance")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which has no time zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass UTC-aware instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def new_scim_id() -> str:
    """A person's or team's id for SCIM clients: ours, stable, and telling nothing (RFC 7643
    §3.1 wants it unique and never reassigned; an email or team name can be reused)."""
    return str(uuid.uuid4())


class PersonRow(Base):
    __tablename__ = "people"
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    channels: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # set by a deliberate deactivation (`wk people deactivate`), which people.yaml cannot undo
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deactivated_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    slack: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pagerduty: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # SCIM (issue 19): the id an identity provider knows them by, and what it calls them
    scim_id: Mapped[str | None] = mapped_column(
        String(36), unique=True, index=True, nullable=True, default=new_scim_id
    )
    external_id: Mapped[str | None] = mapped_column(String(254), nullable=True)
    source: Mapped[str | None] = mapped_column(String(16), nullable=True)  # "scim": the IdP's
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scim_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TeamRow(Base):
    __tablename__ = "teams"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    members: Mapped[list[str]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scim_id: Mapped[str | None] = mapped_column(
        String(36), unique=True, index=True, nullable=True, default=new_scim_id
    )
    external_id: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # the group's name in the identity provider ("Fraud ML"); `name` is its slug (fraud-ml)
    display_name: Mapped[str | None] = mapped_column(String(254), nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scim_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SystemRow(Base):
    __tablename__ = "systems"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[str] = mapped_column(String(16))
    lifecycle: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONType)
    digest: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_by: Mapped[str] = mapped_column(String(254))
    live_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SystemVersionRow(Base):
    __tablename__ = "system_versions"
    __table_args__ = (UniqueConstraint("system", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63), index=True)
    version: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONType)
    digest: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_by: Mapped[str] = mapped_column(String(254))


class AckRow(Base):
    __tablename__ = "acknowledgements"
    __table_args__ = (Index("ix_ack_system_role", "system", "role", "holder"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    role: Mapped[str] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(254))
    acked_by: Mapped[str] = mapped_column(String(254))
    acked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_system_at", "system", "at"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(254))
    system: Mapped[str | None] = mapped_column(String(63), nullable=True)
    before: Mapped[Any] = mapped_column(JSONType, nullable=True)
    after: Mapped[Any] = mapped_column(JSONType, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    keyed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SwitchRow(Base):
    __tablename__ = "switches"
    system: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(254))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TokenRow(Base):
    """A person's API token (`person` set) or a service token (`system` set, no person)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str | None] = mapped_column(String(254), index=True, nullable=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="person", server_default="person")
    system: Mapped[str | None] = mapped_column(String(63), index=True, nullable=True)
    name: Mapped[str | None] = mapped_column(String(63), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditHeadRow(Base):
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def per_system(systems: Iterable[str], pairs: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """(system, value) rows of a many-system query as each system's list, in row order; every
    system asked about has a list, so callers never mistake "none" for "not asked"."""
    found: dict[str, list[T]] = {name: [] for name in systems}
    for system, value in pairs:
        found[system].append(value)
    return found


def record_of(cls: type[R], row: Base, **given: Any) -> R:
    """A row as the frozen record whose fields are named as its columns; `given` supplies the
    fields that are not read as they are stored."""
    stored = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in given}
    return cls(**stored, **given)
