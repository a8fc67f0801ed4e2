"""Persistence for care: eval runs, owner reviews, the care ledger, knowledge records (decisions,
failure modes, near-misses, postmortems) and the triage queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._ingest import BigId
from watchkeeper.store._tables import Base, JSONType, UTCDateTime, per_system


class EvalRunRow(Base):
    __tablename__ = "eval_runs"
    __table_args__ = (Index("ix_eval_runs_system_suite", "system", "suite", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    suite: Mapped[str] = mapped_column(String(63))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(254))
    trigger: Mapped[str] = mapped_column(String(16))  # manual | schedule
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    dataset_sha256: Mapped[str] = mapped_column(String(64))
    pass_rate: Mapped[float] = mapped_column(Float)
    mean_score: Mapped[float] = mapped_column(Float)
    run: Mapped[Any] = mapped_column(JSONType)


class ReviewRow(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63), index=True)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewer: Mapped[str] = mapped_column(String(254))
    verdict: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text)
    report: Mapped[Any] = mapped_column(JSONType)


class CareEntryRow(Base):
    __tablename__ = "care_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    hours: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(Text)


class KnowledgeRow(Base):
    __tablename__ = "knowledge"
    __table_args__ = (UniqueConstraint("system", "kind", "number", name="uq_knowledge_number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    fields: Mapped[Any] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))
    assigned_to: Mapped[str | None] = mapped_column(String(254), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(254), nullable=True)


class TriageItemRow(Base):
    __tablename__ = "triage_items"
    __table_args__ = (
        UniqueConstraint("system", "observation_id", name="uq_triage_observation"),
        Index("ix_triage_system_status", "system", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    observation_id: Mapped[str] = mapped_column(String(200))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rule: Mapped[str] = mapped_column(String(63))
    condition: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer)
    assignee: Mapped[str | None] = mapped_column(String(254), nullable=True)
    snapshot: Mapped[Any] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))  # open | done
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[Any] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(254), nullable=True)


class CareQueries:
    """Care's and triage's part of the one Unit API."""

    session: Session

    def next_number(self, system: str, kind: str) -> int:
        current = self.session.scalar(
            select(func.max(KnowledgeRow.number)).where(
                KnowledgeRow.system == system, KnowledgeRow.kind == kind
            )
        )
        return int(current or 0) + 1

    def knowledge(self, system: str, kind: str | None = None) -> list[KnowledgeRow]:
        query = select(KnowledgeRow).where(KnowledgeRow.system == system)
        if kind is not None:
            query = query.where(KnowledgeRow.kind == kind)
        return list(self.session.scalars(query.order_by(KnowledgeRow.kind, KnowledgeRow.number)))

    def knowledge_by_id(self, record_id: int) -> KnowledgeRow | None:
        return self.session.get(KnowledgeRow, record_id)

    def eval_runs(
        self, system: str, suite: str | None = None, limit: int = 100
    ) -> list[EvalRunRow]:
        query = select(EvalRunRow).where(EvalRunRow.system == system)
        if suite is not None:
            query = query.where(EvalRunRow.suite == suite)
        # newest first; runs recorded at the same instant (two uploads within one tick of the
        # clock) in the order they were stored, so the previous run of a diff is well defined
        newest = (EvalRunRow.started_at.desc(), EvalRunRow.id.desc())
        return list(self.session.scalars(query.order_by(*newest).limit(limit)))

    def reviews(self, system: str) -> list[ReviewRow]:
        return list(
            self.session.scalars(
                select(ReviewRow).where(ReviewRow.system == system).order_by(ReviewRow.reviewed_at)
            )
        )

    def last_eval_runs(self, systems: Sequence[str]) -> dict[tuple[str, str], datetime]:
        """When each (system, suite) last ran, for many systems in one query."""
        rows = self.session.execute(
            select(EvalRunRow.system, EvalRunRow.suite, func.max(EvalRunRow.started_at))
            .where(EvalRunRow.system.in_(list(systems)))
            .group_by(EvalRunRow.system, EvalRunRow.suite)
        )
        return {(system, suite): last for system, suite, last in rows}

    def last_reviews(self, systems: Sequence[str]) -> dict[str, datetime]:
        """Each system's latest owner review, for many systems in one query; a system never
        reviewed has no key."""
        rows = self.session.execute(
            select(ReviewRow.system, func.max(ReviewRow.reviewed_at))
            .where(ReviewRow.system.in_(list(systems)))
            .group_by(ReviewRow.system)
        )
        return {system: last for system, last in rows}

    def care_entries(self, system: str) -> list[CareEntryRow]:
        return self.care_entries_by_system([system])[system]

    def care_entries_by_system(
        self, systems: Sequence[str], *, since: datetime | None = None
    ) -> dict[str, list[CareEntryRow]]:
        """Care logged on each system (from `since`), oldest first, for many systems in one
        query."""
        query = select(CareEntryRow).where(CareEntryRow.system.in_(list(systems)))
        if since is not None:
            query = query.where(CareEntryRow.at >= since)
        rows = self.session.scalars(query.order_by(CareEntryRow.at, CareEntryRow.id))
        return per_system(systems, ((row.system, row) for row in rows))

    def triage_items(
        self, system: str, *, status: str | None = None, limit: int = 500
    ) -> list[TriageItemRow]:
        query = select(TriageItemRow).where(TriageItemRow.system == system)
        if status is not None:
            query = query.where(TriageItemRow.status == status)
        return list(
            self.session.scalars(
                query.order_by(TriageItemRow.priority.desc(), TriageItemRow.queued_at).limit(limit)
            )
        )

    def triage_queued_at(self, systems: Sequence[str], *, status: str) -> dict[str, list[datetime]]:
        """When each item of a status was queued, per system, for many systems in one query:
        what a queue's age needs without loading the items' snapshots."""
        rows = self.session.execute(
            select(TriageItemRow.system, TriageItemRow.queued_at).where(
                TriageItemRow.system.in_(list(systems)), TriageItemRow.status == status
            )
        )
        return per_system(systems, rows)

    def triage_item(self, item_id: int) -> TriageItemRow | None:
        return self.session.get(TriageItemRow, item_id)

    def queued_observation_ids(self, system: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            found.update(
                self.session.scalars(
                    select(TriageItemRow.observation_id).where(
                        TriageItemRow.system == system,
                        TriageItemRow.observation_id.in_(ids[start : start + 500]),
                    )
                )
            )
        return found
