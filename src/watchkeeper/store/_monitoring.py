"""Persistence for the monitor: signal values per window, findings, and baseline profiles.

Unique keys make evaluation idempotent: a window's value and a finding's (fingerprint, window)
are stored once however often a tick re-runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._records import FindingRecord
from watchkeeper.store._rows import Base, BigId, JSONType, UTCDateTime, dialect_insert, record_of


class SignalValueRow(Base):
    __tablename__ = "signal_values"
    __table_args__ = (
        UniqueConstraint("system", "signal", "window_start", name="uq_signal_window"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    signal: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    n: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # what else the window's value came with: an estimated metric's interval
    detail: Mapped[Any] = mapped_column(JSONType, nullable=True)


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("fingerprint", "window_start", name="uq_finding_window"),
        Index("ix_findings_system_created", "system", "created_at"),
        Index("ix_findings_system_alerted", "system", "alerted_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    fingerprint: Mapped[str] = mapped_column(String(300))
    check: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str | None] = mapped_column(String(63), nullable=True)
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    evidence: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When alerting took the finding in; NULL while it is owed an alert.
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BaselineRow(Base):
    """A column's mergeable profile over the baseline period, computed once and reused."""

    __tablename__ = "baselines"
    __table_args__ = (UniqueConstraint("system", "column", name="uq_baseline_column"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    column: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    profile: Mapped[Any] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WindowProfileRow(Base):
    """A watched column's mergeable profile over one window (a day): drift pools recent windows
    and calibrates on the baseline's, without reading their observations again."""

    __tablename__ = "window_profiles"
    __table_args__ = (
        UniqueConstraint("system", "column", "window_start", name="uq_window_profile"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    column: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    profile: Mapped[Any] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


def _insert_ignore(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    insert = dialect_insert(session)
    session.execute(insert(table).on_conflict_do_nothing(index_elements=keys), rows)


class MonitoringRepository:
    """The monitor's part of the one Unit API."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save_signal_values(
        self, system: str, rows: Sequence[dict[str, Any]], now: datetime
    ) -> None:
        if rows:
            _insert_ignore(
                self.session,
                SignalValueRow,
                [{**r, "system": system, "computed_at": now} for r in rows],
                ["system", "signal", "window_start"],
            )

    def last_signal_window(self, system: str, signal: str) -> datetime | None:
        return self.session.scalar(
            select(func.max(SignalValueRow.window_end)).where(
                SignalValueRow.system == system, SignalValueRow.signal == signal
            )
        )

    def signal_series(
        self,
        system: str,
        signal: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[datetime, datetime, float | None, int]]:
        query = select(
            SignalValueRow.window_start,
            SignalValueRow.window_end,
            SignalValueRow.value,
            SignalValueRow.n,
        ).where(SignalValueRow.system == system, SignalValueRow.signal == signal)
        if since is not None:
            query = query.where(SignalValueRow.window_start >= since)
        if until is not None:
            query = query.where(SignalValueRow.window_end <= until)
        return [tuple(r) for r in self.session.execute(query.order_by(SignalValueRow.window_start))]  # type: ignore[misc]

    def signal_windows(self, system: str, signal: str, *, limit: int = 400) -> list[dict[str, Any]]:
        """The signal's newest `limit` windows, oldest first, each with its detail."""
        query = (
            select(SignalValueRow)
            .where(SignalValueRow.system == system, SignalValueRow.signal == signal)
            .order_by(SignalValueRow.window_start.desc())
            .limit(limit)
        )
        rows = list(self.session.scalars(query))[::-1]
        return [
            {
                "window_start": r.window_start,
                "window_end": r.window_end,
                "value": r.value,
                "n": r.n,
                "detail": r.detail,
            }
            for r in rows
        ]

    def save_findings(self, rows: Iterable[dict[str, Any]], now: datetime) -> list[bool]:
        """Store findings not seen before for their window; says, per row, whether it was new."""
        fresh = []
        for row in rows:
            exists = self.session.scalar(
                select(FindingRow.id).where(
                    FindingRow.fingerprint == row["fingerprint"],
                    FindingRow.window_start == row["window_start"],
                )
            )
            if exists is None:
                self.session.add(FindingRow(**row, created_at=now))
                self.session.flush()
            fresh.append(exists is None)
        return fresh

    def unalerted_findings(self, system: str) -> list[FindingRecord]:
        """Findings stored but not yet taken in by alerting (their tick failed in between),
        oldest first."""
        rows = self.session.scalars(
            select(FindingRow)
            .where(FindingRow.system == system, FindingRow.alerted_at.is_(None))
            .order_by(FindingRow.id)
        )
        return [record_of(FindingRecord, r) for r in rows]

    def mark_alerted(self, keys: Sequence[tuple[str, datetime]], now: datetime) -> None:
        """Alerting took in these findings, by (fingerprint, window_start)."""
        for start in range(0, len(keys), 500):
            self.session.execute(
                update(FindingRow)
                .where(
                    tuple_(FindingRow.fingerprint, FindingRow.window_start).in_(
                        keys[start : start + 500]
                    ),
                    FindingRow.alerted_at.is_(None),
                )
                .values(alerted_at=now)
            )

    def findings(
        self,
        system: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[FindingRecord]:
        """The newest first, created in [since, until)."""
        query = select(FindingRow)
        if system is not None:
            query = query.where(FindingRow.system == system)
        if since is not None:
            query = query.where(FindingRow.created_at >= since)
        if until is not None:
            query = query.where(FindingRow.created_at < until)
        rows = self.session.scalars(query.order_by(FindingRow.id.desc()).limit(limit))
        return [record_of(FindingRecord, r) for r in rows]

    def baseline_profiles(self, system: str) -> dict[str, dict[str, Any]]:
        rows = self.session.scalars(select(BaselineRow).where(BaselineRow.system == system))
        return {r.column: r.profile for r in rows}

    def save_baseline_profiles(
        self, system: str, profiles: dict[str, dict[str, Any]], start: datetime, end: datetime,
        now: datetime,
    ) -> None:  # fmt: skip
        rows = [
            {"system": system, "column": column, "period_start": start, "period_end": end,
             "profile": profile, "computed_at": now}
            for column, profile in profiles.items()
        ]  # fmt: skip
        if rows:
            _insert_ignore(self.session, BaselineRow, rows, ["system", "column"])

    def window_profiles(
        self, system: str, since: datetime, until: datetime
    ) -> dict[str, list[tuple[datetime, dict[str, Any]]]]:
        """Each column's window profiles starting in [since, until), oldest first."""
        rows = self.session.execute(
            select(WindowProfileRow.column, WindowProfileRow.window_start, WindowProfileRow.profile)
            .where(
                WindowProfileRow.system == system,
                WindowProfileRow.window_start >= since,
                WindowProfileRow.window_start < until,
            )
            .order_by(WindowProfileRow.window_start)
        )
        found: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
        for column, start, profile in rows:
            found.setdefault(column, []).append((start, profile))
        return found

    def save_window_profiles(
        self, system: str, rows: Sequence[dict[str, Any]], now: datetime
    ) -> None:
        """Store profiles (column, window_start, window_end, profile) once per window."""
        if rows:
            _insert_ignore(
                self.session,
                WindowProfileRow,
                [{**r, "system": system, "computed_at": now} for r in rows],
                ["system", "column", "window_start"],
            )

    def purge_window_profiles(self, system: str, before: datetime, keep_from: datetime) -> int:
        """Drop window profiles older than `before`, except the baseline's (from `keep_from`
        until `before`, which calibration needs for as long as the baseline stands)."""
        query = delete(WindowProfileRow).where(
            WindowProfileRow.system == system,
            WindowProfileRow.window_start < before,
            WindowProfileRow.window_start >= keep_from,
        )
        return int(getattr(self.session.execute(query), "rowcount", 0) or 0)
