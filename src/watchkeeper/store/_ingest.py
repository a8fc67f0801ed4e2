"""Persistence for what systems saw and said: observations, feedback and dead letters.

Typed columns for what is queried (system, ts, latency, model version); inputs, outputs and
metadata as JSON. Inserts are idempotent on (system, id): replays of the same batch store nothing
twice, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._records import ObservationRecord
from watchkeeper.store._tables import Base, JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class ObservationRow(Base):
    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("system", "obs_id", name="uq_observation_id"),
        Index("ix_observations_system_ts", "system", "ts"),
    )
    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    obs_id: Mapped[str] = mapped_column(String(200))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    inputs: Mapped[Any] = mapped_column(JSONType)
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    meta: Mapped[Any] = mapped_column(JSONType)


class FeedbackRow(Base):
    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_system_obs", "system", "observation_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    observation_id: Mapped[str] = mapped_column(String(200))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    thumbs_up: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    meta: Mapped[Any] = mapped_column(JSONType)


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_system", "system", "received_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))
    item_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw: Mapped[Any] = mapped_column(JSONType, nullable=True)
    reason: Mapped[str] = mapped_column(Text)


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(ObservationRow).on_conflict_do_nothing(
        index_elements=["system", "obs_id"]
    )
    session.execute(statement, rows)


class IngestQueries:
    """The ingest stage's part of the one Unit API."""

    session: Session

    def existing_observation_ids(self, system: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            found.update(
                self.session.scalars(
                    select(ObservationRow.obs_id).where(
                        ObservationRow.system == system, ObservationRow.obs_id.in_(chunk)
                    )
                )
            )
        return found

    def add_observations(self, system: str, rows: Iterable[dict[str, Any]], now: datetime) -> int:
        """Insert new observations; ids already stored are skipped. Returns how many were new."""
        batch = [{**row, "system": system, "received_at": now} for row in rows]
        if not batch:
            return 0
        before = self.existing_observation_ids(system, [r["obs_id"] for r in batch])
        fresh = [r for r in batch if r["obs_id"] not in before]
        if fresh:
            _insert_ignoring_duplicates(self.session, fresh)
        return len(fresh)

    def add_feedback(self, system: str, rows: Iterable[dict[str, Any]], now: datetime) -> int:
        batch = [FeedbackRow(system=system, received_at=now, **row) for row in rows]
        self.session.add_all(batch)
        return len(batch)

    def add_dead_letters(
        self, system: str, source: str, items: Iterable[tuple[int | None, Any, str]], now: datetime
    ) -> int:
        rows = [
            DeadLetterRow(
                system=system, received_at=now, source=source, item_index=i, raw=raw, reason=why
            )
            for i, raw, why in items
        ]
        self.session.add_all(rows)
        return len(rows)

    def dead_letters(self, system: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.session.scalars(
            select(DeadLetterRow)
            .where(DeadLetterRow.system == system)
            .order_by(DeadLetterRow.id.desc())
            .limit(limit)
        )
        return [
            {
                "id": r.id,
                "received_at": r.received_at.isoformat(),
                "source": r.source,
                "index": r.item_index,
                "reason": r.reason,
                "raw": r.raw,
            }
            for r in rows
        ]

    def observations(
        self, system: str, start: datetime, end: datetime, *, limit: int | None = None
    ) -> list[ObservationRecord]:
        """Observations with ts in [start, end), oldest first, with their latest feedback."""
        query = (
            select(ObservationRow)
            .where(
                ObservationRow.system == system,
                ObservationRow.ts >= start,
                ObservationRow.ts < end,
            )
            .order_by(ObservationRow.ts, ObservationRow.pk)
        )
        if limit is not None:
            query = query.limit(limit)
        return self._records(system, list(self.session.scalars(query)))

    def observations_by_id(self, system: str, ids: Sequence[str]) -> list[ObservationRecord]:
        rows = list(
            self.session.scalars(
                select(ObservationRow).where(
                    ObservationRow.system == system, ObservationRow.obs_id.in_(list(ids))
                )
            )
        )
        return self._records(system, rows)

    def _records(self, system: str, rows: list[ObservationRow]) -> list[ObservationRecord]:
        feedback = self._feedback_for(system, [r.obs_id for r in rows])
        return [
            ObservationRecord(
                id=r.obs_id,
                ts=r.ts,
                inputs=r.inputs or {},
                output=r.output,
                latency_ms=r.latency_ms,
                model_version=r.model_version,
                metadata=r.meta or {},
                feedback=feedback.get(r.obs_id),
            )
            for r in rows
        ]

    def _feedback_for(self, system: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Latest feedback per observation; feedback that came first is joined here, later."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            rows = self.session.scalars(
                select(FeedbackRow)
                .where(FeedbackRow.system == system, FeedbackRow.observation_id.in_(chunk))
                .order_by(FeedbackRow.ts, FeedbackRow.id)
            )
            for row in rows:
                merged = found.setdefault(row.observation_id, {})
                for name in ("label", "score", "thumbs_up"):
                    value = getattr(row, name)
                    if value is not None:
                        merged[name] = value
        return found

    def observation_count(self, system: str) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(ObservationRow)
                .where(ObservationRow.system == system)
            )
            or 0
        )

    def last_observation_at(self, system: str) -> datetime | None:
        return self.session.scalar(
            select(func.max(ObservationRow.ts)).where(ObservationRow.system == system)
        )

    def first_observation_at(self, system: str) -> datetime | None:
        return self.session.scalar(
            select(func.min(ObservationRow.ts)).where(ObservationRow.system == system)
        )

    def purge_observations(self, system: str, before: datetime) -> int:
        """Retention: observations and their feedback older than `before` go."""
        ids = select(ObservationRow.obs_id).where(
            ObservationRow.system == system, ObservationRow.ts < before
        )
        self.session.execute(
            delete(FeedbackRow).where(
                FeedbackRow.system == system, FeedbackRow.observation_id.in_(ids)
            )
        )
        result = self.session.execute(
            delete(ObservationRow).where(
                ObservationRow.system == system, ObservationRow.ts < before
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
