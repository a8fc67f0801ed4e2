"""Persistence for care: eval runs, owner reviews, the care ledger, knowledge records (decisions,
failure modes, near-misses, postmortems) and the triage queue.

Reads hand out frozen records and every change is a method here, so no service holds a live row
whose attributes it could set behind the store's back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._records import (
    CareEntryRecord,
    EvalRunRecord,
    KnowledgeRecord,
    ReviewRecord,
    TriageItemRecord,
)
from watchkeeper.store._rows import (
    MAX_INTEGER,
    Base,
    BigId,
    JSONType,
    UTCDateTime,
    per_system,
    record_of,
)


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


class CareRepository:
    """Care's and triage's part of the one Unit API."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _added(self, row: Base) -> None:
        """Store a new row now, so its id is known to the record handed back."""
        self.session.add(row)
        self.session.flush()

    # --- knowledge -------------------------------------------------------------------------

    def _next_number(self, system: str, kind: str) -> int:
        current = self.session.scalar(
            select(func.max(KnowledgeRow.number)).where(
                KnowledgeRow.system == system, KnowledgeRow.kind == kind
            )
        )
        return int(current or 0) + 1

    def knowledge(self, system: str, kind: str | None = None) -> list[KnowledgeRecord]:
        query = select(KnowledgeRow).where(KnowledgeRow.system == system)
        if kind is not None:
            query = query.where(KnowledgeRow.kind == kind)
        rows = self.session.scalars(query.order_by(KnowledgeRow.kind, KnowledgeRow.number))
        return [record_of(KnowledgeRecord, r) for r in rows]

    def knowledge_record(self, system: str, kind: str, number: int) -> KnowledgeRecord | None:
        row = self._knowledge_row(system, kind, number)
        return record_of(KnowledgeRecord, row) if row else None

    def _knowledge_row(self, system: str, kind: str, number: int) -> KnowledgeRow | None:
        if not 0 < number <= MAX_INTEGER:  # PostgreSQL refuses to compare one it cannot hold
            return None
        return self.session.scalar(
            select(KnowledgeRow).where(
                KnowledgeRow.system == system,
                KnowledgeRow.kind == kind,
                KnowledgeRow.number == number,
            )
        )

    def add_knowledge(
        self,
        system: str,
        kind: str,
        *,
        title: str,
        fields: dict[str, Any],
        status: str,
        by: str,
        now: datetime,
        assigned_to: str | None = None,
        incident_id: int | None = None,
    ) -> KnowledgeRecord:
        """Record the system's next record of `kind` (numbered here, one after the highest)."""
        row = KnowledgeRow(
            system=system,
            kind=kind,
            number=self._next_number(system, kind),
            title=title,
            fields=fields,
            status=status,
            created_at=now,
            created_by=by,
            assigned_to=assigned_to,
            incident_id=incident_id,
        )
        self._added(row)
        return record_of(KnowledgeRecord, row)

    def close_decision(
        self,
        system: str,
        number: int,
        *,
        title: str,
        fields: dict[str, Any],
        by: str,
        now: datetime,
    ) -> KnowledgeRecord:
        """Mark a decision decided by `by`, with its final title and fields."""
        row = self._knowledge_row(system, "decision", number)
        if row is None:
            raise ValueError(f"{system} has no decision {number}")
        row.title, row.fields, row.status = title, fields, "decided"
        row.closed_at, row.closed_by = now, by
        self.session.flush()
        return record_of(KnowledgeRecord, row)

    # --- eval runs and reviews -------------------------------------------------------------

    def eval_runs(
        self,
        system: str,
        suite: str | None = None,
        limit: int = 100,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EvalRunRecord]:
        """Started in [since, until), as `findings` reads its period."""
        query = select(EvalRunRow).where(EvalRunRow.system == system)
        if suite is not None:
            query = query.where(EvalRunRow.suite == suite)
        if since is not None:
            query = query.where(EvalRunRow.started_at >= since)
        if until is not None:
            query = query.where(EvalRunRow.started_at < until)
        # newest first; runs recorded at the same instant (two uploads within one tick of the
        # clock) in the order they were stored, so the previous run of a diff is well defined
        newest = (EvalRunRow.started_at.desc(), EvalRunRow.id.desc())
        rows = self.session.scalars(query.order_by(*newest).limit(limit))
        return [record_of(EvalRunRecord, r) for r in rows]

    def add_eval_run(
        self,
        system: str,
        suite: str,
        *,
        started_at: datetime,
        actor: str,
        trigger: str,
        model_version: str | None,
        dataset_sha256: str,
        pass_rate: float,
        mean_score: float,
        run: dict[str, Any],
    ) -> EvalRunRecord:
        row = EvalRunRow(
            system=system,
            suite=suite,
            started_at=started_at,
            actor=actor,
            trigger=trigger,
            model_version=model_version,
            dataset_sha256=dataset_sha256,
            pass_rate=pass_rate,
            mean_score=mean_score,
            run=run,
        )
        self._added(row)
        return record_of(EvalRunRecord, row)

    def reviews(self, system: str) -> list[ReviewRecord]:
        rows = self.session.scalars(
            select(ReviewRow).where(ReviewRow.system == system).order_by(ReviewRow.reviewed_at)
        )
        return [record_of(ReviewRecord, r) for r in rows]

    def add_review(
        self,
        system: str,
        *,
        verdict: str,
        notes: str,
        report: dict[str, Any],
        by: str,
        now: datetime,
    ) -> ReviewRecord:
        row = ReviewRow(
            system=system, reviewed_at=now, reviewer=by, verdict=verdict, notes=notes, report=report
        )
        self._added(row)
        return record_of(ReviewRecord, row)

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

    # --- the care ledger -------------------------------------------------------------------

    def care_entries(self, system: str) -> list[CareEntryRecord]:
        return self.care_entries_by_system([system])[system]

    def care_entries_by_system(
        self, systems: Sequence[str], *, since: datetime | None = None
    ) -> dict[str, list[CareEntryRecord]]:
        """Care logged on each system (from `since`), oldest first, for many systems in one
        query."""
        query = select(CareEntryRow).where(CareEntryRow.system.in_(list(systems)))
        if since is not None:
            query = query.where(CareEntryRow.at >= since)
        rows = self.session.scalars(query.order_by(CareEntryRow.at, CareEntryRow.id))
        return per_system(systems, ((row.system, record_of(CareEntryRecord, row)) for row in rows))

    def add_care_entry(
        self, system: str, *, hours: float, kind: str, note: str, by: str, now: datetime
    ) -> CareEntryRecord:
        row = CareEntryRow(system=system, at=now, hours=hours, kind=kind, by=by, note=note)
        self._added(row)
        return record_of(CareEntryRecord, row)

    # --- the triage queue ------------------------------------------------------------------

    def triage_items(
        self,
        system: str,
        *,
        status: str | None = None,
        during: tuple[datetime, datetime] | None = None,
        limit: int = 500,
    ) -> list[TriageItemRecord]:
        """With `during` = (start, end): the items queued or reviewed in it, and those still
        open that were queued before its end."""
        query = select(TriageItemRow).where(TriageItemRow.system == system)
        if status is not None:
            query = query.where(TriageItemRow.status == status)
        if during is not None:
            start, end = during
            queued, reviewed = TriageItemRow.queued_at, TriageItemRow.reviewed_at
            query = query.where(
                or_(
                    and_(queued >= start, queued < end),
                    and_(reviewed >= start, reviewed < end),
                    and_(queued < end, TriageItemRow.status == "open"),
                )
            )
        rows = self.session.scalars(
            query.order_by(TriageItemRow.priority.desc(), TriageItemRow.queued_at).limit(limit)
        )
        return [_triage_item(r) for r in rows]

    def triage_queued_at(self, systems: Sequence[str], *, status: str) -> dict[str, list[datetime]]:
        """When each item of a status was queued, per system, for many systems in one query:
        what a queue's age needs without loading the items' snapshots."""
        rows = self.session.execute(
            select(TriageItemRow.system, TriageItemRow.queued_at).where(
                TriageItemRow.system.in_(list(systems)), TriageItemRow.status == status
            )
        )
        return per_system(systems, rows)

    def triage_item(self, item_id: int) -> TriageItemRecord | None:
        row = self.session.get(TriageItemRow, item_id)
        return _triage_item(row) if row else None

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

    def queue_triage_item(
        self,
        system: str,
        observation_id: str,
        *,
        observed_at: datetime,
        rule: str,
        condition: str,
        reason: str,
        priority: int,
        assignee: str | None,
        snapshot: dict[str, Any],
        now: datetime,
    ) -> TriageItemRecord:
        """Queue an observation (or a failed eval case) for a person to judge."""
        row = TriageItemRow(
            system=system,
            observation_id=observation_id,
            observed_at=observed_at,
            queued_at=now,
            rule=rule,
            condition=condition,
            reason=reason,
            priority=priority,
            assignee=assignee,
            status="open",
            tags=[],
            snapshot=snapshot,
        )
        self._added(row)
        return _triage_item(row)

    def set_triage_verdict(
        self,
        item_id: int,
        *,
        verdict: str,
        label: str | None,
        tags: list[str],
        note: str | None,
        by: str,
        now: datetime,
    ) -> TriageItemRecord:
        """Close an item with a person's verdict (a later verdict replaces an earlier one)."""
        row = self.session.get(TriageItemRow, item_id)
        if row is None:
            raise ValueError(f"no triage item {item_id}")
        row.status, row.verdict, row.reviewed_at, row.reviewed_by = "done", verdict, now, by
        row.label, row.tags, row.note = label, tags, note
        self.session.flush()
        return _triage_item(row)


def _triage_item(row: TriageItemRow) -> TriageItemRecord:
    return record_of(TriageItemRecord, row, tags=list(row.tags or []))
