"""Persistence for runbook rehearsals: one row per rehearsal, with its whole report.

Apart from the stage tables because the readiness gate reads it: `wk gate` must not load the
care stage's tables to ask whether the runbook was rehearsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._records import RehearsalRecord
from watchkeeper.store._rows import Base, BigId, JSONType, UTCDateTime, record_of


class RehearsalRow(Base):
    __tablename__ = "rehearsals"
    __table_args__ = (Index("ix_rehearsals_system", "system", "scenario", "rehearsed_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    scenario: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    runbook_digest: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    time_to_page_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    rehearsed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rehearsed_by: Mapped[str] = mapped_column(String(254))
    report: Mapped[Any] = mapped_column(JSONType)


# Rehearsals, newest first: by when they ran, then by insertion for the same instant.
_NEWEST_FIRST = (RehearsalRow.rehearsed_at.desc(), RehearsalRow.id.desc())


class RehearsalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        system: str,
        scenario: str,
        digest: str,
        runbook_digest: str,
        version: int | None,
        passed: bool,
        time_to_page_s: float | None,
        report: dict[str, Any],
        actor: str,
        now: datetime,
    ) -> RehearsalRecord:
        row = RehearsalRow(
            system=system,
            scenario=scenario,
            digest=digest,
            runbook_digest=runbook_digest,
            version=version,
            passed=passed,
            time_to_page_s=time_to_page_s,
            rehearsed_at=now,
            rehearsed_by=actor,
            report=report,
        )
        self.session.add(row)
        self.session.flush()
        return record_of(RehearsalRecord, row)

    def of(
        self, system: str, *, scenario: str | None = None, limit: int = 20
    ) -> list[RehearsalRecord]:
        """The newest first."""
        query = select(RehearsalRow).where(RehearsalRow.system == system)
        if scenario is not None:
            query = query.where(RehearsalRow.scenario == scenario)
        rows = self.session.scalars(query.order_by(*_NEWEST_FIRST).limit(limit))
        return [record_of(RehearsalRecord, row) for row in rows]

    def last(
        self, systems: Sequence[str], scenario: str = "quality-drop"
    ) -> dict[str, tuple[RehearsalRecord | None, RehearsalRecord | None]]:
        """Per system asked about: its latest rehearsal of `scenario` and its latest that passed
        (None when there is none), in the order `of` gives. One query for all systems,
        for the vacuum report."""
        ranked = (
            select(
                RehearsalRow.id,
                func.row_number()
                .over(partition_by=RehearsalRow.system, order_by=_NEWEST_FIRST)
                .label("overall"),
                func.row_number()
                .over(
                    partition_by=(RehearsalRow.system, RehearsalRow.passed), order_by=_NEWEST_FIRST
                )
                .label("among_like"),
            )
            .where(RehearsalRow.system.in_(list(systems)), RehearsalRow.scenario == scenario)
            .subquery()
        )
        rows = self.session.execute(
            select(RehearsalRow, ranked.c.overall)
            .join(ranked, RehearsalRow.id == ranked.c.id)
            .where((ranked.c.overall == 1) | (RehearsalRow.passed & (ranked.c.among_like == 1)))
        )
        latest: dict[str, RehearsalRecord] = {}
        passed: dict[str, RehearsalRecord] = {}
        for row, overall in rows:
            record = record_of(RehearsalRecord, row)
            if overall == 1:
                latest[record.system] = record
            if record.passed:
                passed[record.system] = record
        return {name: (latest.get(name), passed.get(name)) for name in systems}
