"""Persistence for what systems saw and said: observations, feedback and dead letters.

Typed columns for what is queried (system, ts, latency, model version); inputs, outputs and
metadata as JSON. Inserts are idempotent on (system, id): replays of the same batch store nothing
twice, on SQLite and PostgreSQL alike.

Observations are the one high-volume write, so they skip the ORM: one `executemany` of an
`INSERT ... ON CONFLICT DO NOTHING` whose row count is exactly what was new, with the JSON columns
already encoded by validation and the times bound exactly as their column type binds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._records import DeadLetterRecord, NewObservation, ObservationRecord
from watchkeeper.store._rows import (
    Base,
    BigId,
    JSONType,
    SystemRow,
    UTCDateTime,
    dialect_insert,
    record_of,
)


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


class PartialRow(Base):
    """What one ingested batch added to one window of one key (a signal, a column's profile, a
    contract's tally): insert-only, merged when read, so concurrent ingest needs no lock."""

    __tablename__ = "window_partials"
    __table_args__ = (
        Index("ix_window_partials_system_key_start", "system", "key", "window_start"),
        UniqueConstraint("system", "key", "window_start", "origin", name="uq_partial_origin"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(240))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    rows: Mapped[int] = mapped_column(Integer)
    state: Mapped[Any] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Where a profiled partial came from (`wk profile`: the files), so profiling the same files
    # again stores nothing twice; None for ingest's, which the rows' ids keep from repeating.
    origin: Mapped[str | None] = mapped_column(String(64), nullable=True)


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


_COLUMNS = "system, obs_id, ts, received_at, inputs, output, latency_ms, model_version, meta"


_INSERT_CHUNK = 1_000  # rows per statement: 9 parameters each, within every driver's limit


def _insert_sql(dialect: Dialect, rows: int) -> str:
    """One multi-row insert that skips ids already stored and returns the ids it stored, so the
    caller profiles exactly the new rows even when two replicas take the same replayed batch."""
    if dialect.name == "postgresql":
        values = "(%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s::jsonb)"
    else:
        values = "(" + ", ".join("?" * 9) + ")"
    return (
        f"INSERT INTO observations ({_COLUMNS}) VALUES {', '.join([values] * rows)} "
        "ON CONFLICT (system, obs_id) DO NOTHING RETURNING obs_id"
    )


def _time_binder(dialect: Dialect) -> Callable[[datetime], Any]:
    """How a time is bound, exactly as the ts column's own type binds it (a test holds the two
    equal). SQLite stores text; `isoformat` writes the same text as SQLAlchemy's processor at a
    fifth of its cost, which matters at one call per row. Elsewhere the type's own processor."""
    if dialect.name == "sqlite":
        return lambda value: (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        )
    column = ObservationRow.__table__.c.ts.type
    process = column.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)


class IngestRepository:
    """The ingest stage's part of the one Unit API."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_observations(
        self, system: str, rows: Iterable[NewObservation], now: datetime
    ) -> list[str]:
        """Insert new observations; ids already stored are skipped. Returns the new ones' ids."""
        connection = self.session.connection()
        bind = _time_binder(connection.dialect)
        received = bind(now)
        params = [
            (
                system,
                r["obs_id"],
                bind(r["ts"]),
                received,
                r["inputs"],
                r["output"],
                r["latency_ms"],
                r["model_version"],
                r["meta"],
            )
            for r in rows
        ]
        new: list[str] = []
        for start in range(0, len(params), _INSERT_CHUNK):
            chunk = params[start : start + _INSERT_CHUNK]
            flat = tuple(value for row in chunk for value in row)
            result = connection.exec_driver_sql(_insert_sql(connection.dialect, len(chunk)), flat)
            new += [obs_id for (obs_id,) in result]
        return new

    def add_partials(self, system: str, partials: Iterable[Any], now: datetime) -> int:
        """Store partials (objects with key, window_start, window_end, rows, state, origin); one
        already stored from the same origin is skipped. Returns how many were stored."""
        rows = [
            {
                "system": system,
                "key": p.key,
                "window_start": p.window_start,
                "window_end": p.window_end,
                "rows": p.rows,
                "state": p.state,
                "received_at": now,
                "origin": p.origin,
            }
            for p in partials
        ]
        if not rows:
            return 0
        if all(r["origin"] is None for r in rows):
            self.session.execute(insert(PartialRow), rows)
            return len(rows)
        statement = (
            dialect_insert(self.session)(PartialRow.__table__)
            .on_conflict_do_nothing(index_elements=["system", "key", "window_start", "origin"])
            .returning(PartialRow.__table__.c.id)
        )
        connection = self.session.connection()
        return sum(len(connection.execute(statement, row).all()) for row in rows)

    def partials(
        self, system: str, keys: Sequence[str], since: datetime, until: datetime
    ) -> dict[tuple[str, datetime], list[tuple[int, int, dict[str, Any]]]]:
        """The partials of `keys` whose window starts in [since, until), by (key, window start),
        each as (id, rows, state), in the order they came."""
        found: dict[tuple[str, datetime], list[tuple[int, int, dict[str, Any]]]] = {}
        for start in range(0, len(keys), 100):
            rows = self.session.execute(
                select(
                    PartialRow.id,
                    PartialRow.key,
                    PartialRow.window_start,
                    PartialRow.rows,
                    PartialRow.state,
                )
                .where(
                    PartialRow.system == system,
                    PartialRow.key.in_(list(keys[start : start + 100])),
                    PartialRow.window_start >= since,
                    PartialRow.window_start < until,
                )
                .order_by(PartialRow.id)
            )
            for pk, key, window, count, state in rows:
                found.setdefault((key, window), []).append((pk, count, state))
        return found

    def compact_partials(
        self, system: str, merged: Sequence[tuple[list[int], Any]], now: datetime
    ) -> bool:
        """Replace each group of partials (their ids) by their merge, so a window is a few rows
        however many batches made it. A batch that came meanwhile is not among the ids and
        stays. If another process compacted any of them first, nothing is replaced: returns
        False, and the caller must roll this unit back (its deletions may be partial)."""
        for ids, _ in merged:
            gone = 0
            for start in range(0, len(ids), 500):
                result = self.session.execute(
                    delete(PartialRow).where(PartialRow.id.in_(ids[start : start + 500]))
                )
                gone += _count(result)
            if gone != len(ids):
                return False
        self.add_partials(system, [p for _, p in merged], now)
        return True

    def first_partial_at(self, system: str) -> datetime | None:
        """The start of the first day any partial covers (data profiled elsewhere has no rows)."""
        return self.session.scalar(
            select(func.min(PartialRow.window_start)).where(
                PartialRow.system == system, PartialRow.key == "day"
            )
        )

    def latest_day_partials(self, system: str, until: datetime) -> list[dict[str, Any]]:
        """The states of the latest day that partials cover, of the days over by `until` (of a
        day still going, nothing says which rows came before `until`)."""
        latest = self.session.scalar(
            select(func.max(PartialRow.window_start)).where(
                PartialRow.system == system,
                PartialRow.key == "day",
                PartialRow.window_end <= until,
            )
        )
        if latest is None:
            return []
        return list(
            self.session.scalars(
                select(PartialRow.state).where(
                    PartialRow.system == system,
                    PartialRow.key == "day",
                    PartialRow.window_start == latest,
                )
            )
        )

    def crowded_windows(
        self, system: str, windows: Sequence[tuple[str, datetime]], limit: int
    ) -> list[tuple[str, datetime]]:
        """Those of (key, window start) that have at least `limit` partials, in one query."""
        if not windows:
            return []
        wanted = set(windows)
        rows = self.session.execute(
            select(PartialRow.key, PartialRow.window_start)
            .where(
                PartialRow.system == system,
                PartialRow.window_start.in_(sorted({start for _, start in windows})),
            )
            .group_by(PartialRow.key, PartialRow.window_start)
            .having(func.count() >= limit)
        )
        return [(key, start) for key, start in rows if (key, start) in wanted]

    def add_feedback(self, system: str, rows: Iterable[dict[str, Any]], now: datetime) -> int:
        """Store feedback; a row equal to one already stored for the same observation at the
        same instant is a replay (the SDK's spool) and is skipped. Returns how many were new."""
        batch = list(rows)
        ids = sorted({row["observation_id"] for row in batch})
        seen = {
            (f.observation_id, f.ts, f.label, f.score, f.thumbs_up)
            for start in range(0, len(ids), 500)
            for f in self.session.scalars(
                select(FeedbackRow).where(
                    FeedbackRow.system == system,
                    FeedbackRow.observation_id.in_(ids[start : start + 500]),
                )
            )
        }
        fresh = []
        for row in batch:
            key = (row["observation_id"], row["ts"], row["label"], row["score"], row["thumbs_up"])
            if key not in seen:
                seen.add(key)
                fresh.append(FeedbackRow(system=system, received_at=now, **row))
        self.session.add_all(fresh)
        return len(fresh)

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

    def dead_letters(self, system: str, limit: int = 100) -> list[DeadLetterRecord]:
        """The newest first."""
        rows = self.session.scalars(
            select(DeadLetterRow)
            .where(DeadLetterRow.system == system)
            .order_by(DeadLetterRow.id.desc())
            .limit(limit)
        )
        return [record_of(DeadLetterRecord, r) for r in rows]

    def observations(
        self,
        system: str,
        start: datetime,
        end: datetime,
        *,
        limit: int | None = None,
        with_feedback: bool = False,
    ) -> list[ObservationRecord]:
        """Observations with ts in [start, end), oldest first, with their latest feedback;
        only those that have feedback when `with_feedback`."""
        query = (
            select(*_RECORD_COLUMNS)
            .where(
                ObservationRow.system == system,
                ObservationRow.ts >= start,
                ObservationRow.ts < end,
            )
            .order_by(ObservationRow.ts, ObservationRow.pk)
        )
        if with_feedback:
            given = select(FeedbackRow.id).where(
                FeedbackRow.system == system, FeedbackRow.observation_id == ObservationRow.obs_id
            )
            query = query.where(given.exists())
        if limit is not None:
            query = query.limit(limit)
        return self._records(system, self.session.execute(query).all())

    def observations_page(
        self, system: str, start: datetime, end: datetime, after: int, size: int
    ) -> tuple[list[ObservationRecord], int]:
        """Up to `size` observations with ts in [start, end) and a row id above `after`, by row
        id, and the last row id read (the next page's `after`): a day of any traffic walked in
        bounded memory, each page in a unit of its own."""
        query = _page(select(*_RECORD_COLUMNS), system, start, end, after, size)
        rows = self.session.execute(query).all()
        return self._records(system, rows), (rows[-1].pk if rows else after)

    def observations_newest(
        self,
        system: str,
        since: datetime,
        until: datetime,
        before: tuple[datetime, int] | None,
        size: int,
    ) -> list[tuple[tuple[datetime, int], ObservationRecord]]:
        """Up to `size` observations with ts in [since, until), newest first, each with its
        position (ts, row id); `before` continues after a position, so a reader pages back
        through any traffic by the (system, ts) index."""
        query = select(*_RECORD_COLUMNS).where(
            ObservationRow.system == system, ObservationRow.ts >= since
        )
        if before is None:
            query = query.where(ObservationRow.ts < until)
        else:
            # The cursor's time as the upper bound, so the (system, ts) index starts the page
            # there: SQLite does not bound an index by a row value, and a deep page would scan
            # from `until` down to it.
            at, pk = before
            query = query.where(
                ObservationRow.ts <= at,
                or_(ObservationRow.ts < at, and_(ObservationRow.ts == at, ObservationRow.pk < pk)),
            )
        query = query.order_by(ObservationRow.ts.desc(), ObservationRow.pk.desc()).limit(size)
        rows = self.session.execute(query).all()
        return [
            ((r.ts, r.pk), record)
            for r, record in zip(rows, self._records(system, rows), strict=True)
        ]

    def observations_by_id(self, system: str, ids: Sequence[str]) -> list[ObservationRecord]:
        query = select(*_RECORD_COLUMNS).where(
            ObservationRow.system == system, ObservationRow.obs_id.in_(list(ids))
        )
        return self._records(system, self.session.execute(query).all())

    def _records(self, system: str, rows: Sequence[Row[Any]]) -> list[ObservationRecord]:
        """Records from rows of `_RECORD_COLUMNS`: plain rows, not ORM objects, which cost
        several times more to build when a day of traffic is read."""
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

    def last_observation_at(self, system: str, until: datetime | None = None) -> datetime | None:
        """The newest observation's time, of those at or before `until` when given: one dated
        in the future must not pass for data that keeps arriving."""
        query = select(func.max(ObservationRow.ts)).where(ObservationRow.system == system)
        if until is not None:
            query = query.where(ObservationRow.ts <= until)
        return self.session.scalar(query)

    def last_observations(self, systems: Sequence[str]) -> dict[str, datetime]:
        """When each system last saw data, for many systems in one query; a system that never
        did has no key. One correlated `max` per system rather than a GROUP BY, so each is an
        index lookup on (system, ts) however many observations are stored."""
        last = (
            select(func.max(ObservationRow.ts))
            .where(ObservationRow.system == SystemRow.name)
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(SystemRow.name, last).where(SystemRow.name.in_(list(systems)))
        )
        return {system: at for system, at in rows if at is not None}

    def first_observation_at(self, system: str) -> datetime | None:
        return self.session.scalar(
            select(func.min(ObservationRow.ts)).where(ObservationRow.system == system)
        )

    def purge_observations(
        self, system: str, before: datetime, keep: tuple[datetime, datetime] | None, limit: int
    ) -> tuple[int, int]:
        """Retention, one batch: up to `limit` of the oldest observations dated before `before`
        (except those in `keep`, the baseline period) and their feedback go. Returns how many
        observations and feedback rows went; fewer than `limit` observations means done."""
        query = select(ObservationRow.pk, ObservationRow.obs_id).where(
            ObservationRow.system == system, ObservationRow.ts < before
        )
        if keep is not None:
            query = query.where((ObservationRow.ts < keep[0]) | (ObservationRow.ts >= keep[1]))
        rows = self.session.execute(query.order_by(ObservationRow.ts).limit(limit)).all()
        return self.drop_observations(system, [(pk, obs_id) for pk, obs_id in rows])

    def observation_page(
        self, system: str, start: datetime, end: datetime, after: int, limit: int
    ) -> list[tuple[int, str]]:
        """(row id, observation id) of up to `limit` observations with ts in [start, end) and a
        row id above `after`, by row id: a day walked page by page, whatever stays behind."""
        query = select(ObservationRow.pk, ObservationRow.obs_id)
        rows = self.session.execute(_page(query, system, start, end, after, limit)).all()
        return [(pk, obs_id) for pk, obs_id in rows]

    def drop_observations(self, system: str, rows: Sequence[tuple[int, str]]) -> tuple[int, int]:
        """Delete these observations (row id, observation id) and their feedback. Returns how
        many observations and feedback rows went."""
        if not rows:
            return 0, 0
        feedback = self.session.execute(
            delete(FeedbackRow).where(
                FeedbackRow.system == system,
                FeedbackRow.observation_id.in_([obs_id for _, obs_id in rows]),
            )
        )
        gone = self._delete_ids(ObservationRow, ObservationRow.pk, [pk for pk, _ in rows])
        return gone, _count(feedback)

    def purge_partials(
        self, system: str, before: datetime, keep: tuple[datetime, datetime] | None, limit: int
    ) -> int:
        """Retention, one batch: up to `limit` window partials of windows that ended by `before`
        (except the baseline period's, as for observations). Returns how many went."""
        query = select(PartialRow.id).where(
            PartialRow.system == system, PartialRow.window_end <= before
        )
        if keep is not None:
            query = query.where(
                (PartialRow.window_end <= keep[0]) | (PartialRow.window_start >= keep[1])
            )
        ids = list(self.session.scalars(query.limit(limit)))
        return self._delete_ids(PartialRow, PartialRow.id, ids)

    def purge_orphan_feedback(self, system: str, before: datetime, limit: int) -> int:
        """Retention, one batch: feedback dated before `before` whose observation is not stored
        (it never came, or went already). Returns how many rows went."""
        stored = select(ObservationRow.pk).where(
            ObservationRow.system == system, ObservationRow.obs_id == FeedbackRow.observation_id
        )
        ids = (
            select(FeedbackRow.id)
            .where(FeedbackRow.system == system, FeedbackRow.ts < before, ~stored.exists())
            .limit(limit)
        )
        return self._delete_ids(FeedbackRow, FeedbackRow.id, list(self.session.scalars(ids)))

    def purge_dead_letters(
        self, before: datetime, limit: int, *, system: str | None, applied: Sequence[str] = ()
    ) -> int:
        """Retention, one batch: dead letters received before `before`, of `system`, or when it
        is None of every name not among `applied` (items of systems never applied). Returns how
        many went."""
        query = select(DeadLetterRow.id).where(DeadLetterRow.received_at < before)
        if system is not None:
            query = query.where(DeadLetterRow.system == system)
        else:
            query = query.where(DeadLetterRow.system.not_in(list(applied)))
        ids = list(self.session.scalars(query.limit(limit)))
        return self._delete_ids(DeadLetterRow, DeadLetterRow.id, ids)

    def _delete_ids(self, table: Any, key: Any, ids: list[int]) -> int:
        if not ids:
            return 0
        return _count(self.session.execute(delete(table).where(key.in_(ids))))


_RECORD_COLUMNS = (
    ObservationRow.pk,
    ObservationRow.obs_id,
    ObservationRow.ts,
    ObservationRow.inputs,
    ObservationRow.output,
    ObservationRow.latency_ms,
    ObservationRow.model_version,
    ObservationRow.meta,
)


def _page(query: Any, system: str, start: datetime, end: datetime, after: int, size: int) -> Any:
    """`query` narrowed to one page of a system's observations in [start, end): those with a
    row id above `after`, by row id, at most `size`."""
    return (
        query.where(
            ObservationRow.system == system,
            ObservationRow.ts >= start,
            ObservationRow.ts < end,
            ObservationRow.pk > after,
        )
        .order_by(ObservationRow.pk)
        .limit(size)
    )


def _count(result: Any) -> int:
    return int(result.rowcount or 0)
