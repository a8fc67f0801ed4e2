"""Persistence for the kill switch's roll call: which SDK processes serve each system, and which
switch version each holds, as their long-polls report it; and the drills that take the roll call
on purpose.

One row per (system, process), upserted: the server writes a row only when what a process says
changes or its last write is a heartbeat old, so its size is the number of processes, not polls.
One row per drill, keyed by the switch version it made: written when it starts, completed with
its outcome when its wait ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._records import DrillRecord
from watchkeeper.store._rows import Base, JSONType, UTCDateTime, dialect_insert, record_of


class SwitchProcessRow(Base):
    __tablename__ = "switch_processes"
    __table_args__ = (Index("ix_switch_processes_system_seen", "system", "last_seen"),)
    system: Mapped[str] = mapped_column(String(63), primary_key=True)
    process: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(253))
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sdk: Mapped[str] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fail_mode: Mapped[str | None] = mapped_column(String(8), nullable=True)
    heartbeat: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    version_since: Mapped[datetime] = mapped_column(UTCDateTime())


class SwitchDrillRow(Base):
    __tablename__ = "switch_drills"
    system: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    live: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed_in_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    stragglers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class ProcessRecord:
    """One SDK process of one system, as last heard (server clock throughout). A fresh report
    is a record whose three instants are all the moment it was heard. `version` is the switch
    version it holds (None: it has never heard a state); `version_since` when it first said so;
    `heartbeat` the seconds it promises between reports."""

    system: str
    process: str
    host: str
    pid: int | None
    sdk: str
    service: str | None
    version: int | None
    fail_mode: str | None
    heartbeat: float
    first_seen: datetime
    last_seen: datetime
    version_since: datetime

    def to_dict(self) -> dict[str, object]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


_SAID = ("host", "pid", "sdk", "service", "fail_mode", "heartbeat", "last_seen")


class SwitchProcessRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def heard(self, reports: Sequence[ProcessRecord]) -> None:
        """Upsert many processes' reports in one statement (one row per process in `reports`).
        A row keeps its `first_seen`, and its `version_since` while the version stays."""
        if not reports:
            return
        insert = dialect_insert(self.session)(SwitchProcessRow)
        statement = insert.values(
            [{f.name: getattr(r, f.name) for f in fields(r)} for r in reports]
        )
        new = statement.excluded
        same = func.coalesce(SwitchProcessRow.version, -1) == func.coalesce(new.version, -1)
        statement = statement.on_conflict_do_update(
            index_elements=["system", "process"],
            set_={
                **{name: new[name] for name in _SAID},
                "version": new.version,
                "version_since": case(
                    (same, SwitchProcessRow.version_since), else_=new.version_since
                ),
            },
        )
        self.session.execute(statement)

    def processes(self, system: str, *, seen_since: datetime | None = None) -> list[ProcessRecord]:
        query = select(SwitchProcessRow).where(SwitchProcessRow.system == system)
        if seen_since is not None:
            query = query.where(SwitchProcessRow.last_seen >= seen_since)
        rows = self.session.scalars(
            query.order_by(SwitchProcessRow.host, SwitchProcessRow.pid, SwitchProcessRow.process)
        )
        return [record_of(ProcessRecord, row) for row in rows]

    def forget(self, before: datetime) -> int:
        """Drop processes not heard from since `before` (long gone; new ones get new ids)."""
        result = self.session.execute(
            delete(SwitchProcessRow).where(SwitchProcessRow.last_seen < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # --- drills ------------------------------------------------------------------------------

    def start_drill(self, drill: DrillRecord) -> None:
        """Record a drill as it starts; two drills of one version cannot both be (the key)."""
        self.session.add(SwitchDrillRow(**_drill_columns(drill)))
        self.session.flush()

    def finish_drill(self, drill: DrillRecord) -> None:
        """Write a started drill's outcome."""
        self.session.execute(
            update(SwitchDrillRow)
            .where(SwitchDrillRow.system == drill.system, SwitchDrillRow.version == drill.version)
            .values(**_drill_columns(drill))
        )

    def drills(self, system: str, *, limit: int = 20) -> list[DrillRecord]:
        """The system's drills, the newest first."""
        rows = self.session.scalars(
            select(SwitchDrillRow)
            .where(SwitchDrillRow.system == system)
            .order_by(SwitchDrillRow.version.desc())
            .limit(limit)
        )
        return [_drill(row) for row in rows]

    def drill_versions(self) -> dict[str, int]:
        """Each drilled system's highest drill version: with the switches' own versions, what a
        scan for moves made elsewhere compares."""
        rows = self.session.execute(
            select(SwitchDrillRow.system, func.max(SwitchDrillRow.version)).group_by(
                SwitchDrillRow.system
            )
        )
        return {system: int(version) for system, version in rows}

    def last_finished_drills(self, systems: Sequence[str]) -> dict[str, DrillRecord]:
        """Per system asked about (those never drilled are left out), its newest drill that
        finished. One query, whatever the number of systems."""
        newest = (
            select(SwitchDrillRow.system, func.max(SwitchDrillRow.version).label("version"))
            .where(
                SwitchDrillRow.system.in_(list(systems)), SwitchDrillRow.finished_at.is_not(None)
            )
            .group_by(SwitchDrillRow.system)
            .subquery()
        )
        rows = self.session.scalars(
            select(SwitchDrillRow).join(
                newest,
                (SwitchDrillRow.system == newest.c.system)
                & (SwitchDrillRow.version == newest.c.version),
            )
        )
        return {row.system: _drill(row) for row in rows}

    def last_passed_drills(self, systems: Sequence[str]) -> dict[str, datetime]:
        """Per system asked about, when its newest passed drill started (none: left out)."""
        rows = self.session.execute(
            select(SwitchDrillRow.system, func.max(SwitchDrillRow.started_at))
            .where(SwitchDrillRow.system.in_(list(systems)), SwitchDrillRow.passed.is_(True))
            .group_by(SwitchDrillRow.system)
        )
        return {system: at for system, at in rows}


def _drill_columns(drill: DrillRecord) -> dict[str, Any]:
    return {f.name: getattr(drill, f.name) for f in fields(drill)}


def _drill(row: SwitchDrillRow) -> DrillRecord:
    return record_of(DrillRecord, row)
