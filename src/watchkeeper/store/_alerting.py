"""Persistence for alerting: alerts by fingerprint, incidents and their timeline, escalation steps
taken, delivery attempts, silences, and leases.

`escalation_steps` has a unique key per (incident, cycle, level): whichever process records a step
first sends it, so two server replicas never page twice, even without the scheduler's lease.

Also the two ways a person acts without presenting a token each time, both checked against rows
here so they can end: acknowledge links used (keyed by the link's id, so two replicas cannot both
accept one) and dashboard sessions (keyed by the digest of the session id in the cookie, deleted
on sign-out and when the person is deactivated).

Alerts, incidents, their timeline, deliveries and silences are handed out as frozen records and
changed only through methods here, so the alerting shell never sets a row's attribute behind the
store's back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    false,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.store._rows import (
    Base,
    BigId,
    JSONType,
    UTCDateTime,
    dialect_insert,
    per_system,
    record_of,
)


@dataclass(frozen=True)
class AlertRecord:
    """An alert by fingerprint: `firing` or `resolved` (or `pending` while its rule's `for:`
    runs), and the incident it last joined."""

    id: int
    system: str
    fingerprint: str
    rule: str
    severity: str
    status: str
    summary: str
    evidence: Any
    first_seen: datetime
    last_seen: datetime
    cleared: int
    muted_by: str | None
    incident_id: int | None


@dataclass(frozen=True)
class IncidentRecord:
    """An incident; once classified serious under the EU AI Act, its Art. 3(49) category, the
    deadline's basis (`serious_kind`) and when the first report and the complete one went to the
    authority (`reported_at`, `report_complete_at`)."""

    id: int
    system: str
    status: str  # triggered | acknowledged | resolved
    severity: str
    title: str
    opened_at: datetime
    escalation_from: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    serious: bool
    serious_kind: str | None
    aware_at: datetime | None
    report_due: datetime | None
    reopened: int
    serious_category: str | None
    serious_death: bool
    serious_widespread: bool
    reported_at: datetime | None
    report_complete_at: datetime | None


@dataclass(frozen=True)
class IncidentEventRecord:
    """One line of an incident's timeline."""

    id: int
    incident_id: int
    at: datetime
    kind: str
    actor: str
    detail: Any


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt to tell one recipient on one channel, and how it went."""

    id: int
    system: str
    incident_id: int | None
    at: datetime
    purpose: str
    event: str
    recipient: str
    channel: str
    attempt: int
    status: str
    detail: str
    title: str


@dataclass(frozen=True)
class SilenceRecord:
    """A silence or maintenance window (`kind`) of one system, or of all when `system` is None."""

    id: int
    system: str | None
    kind: str
    matchers: Any
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63), index=True)
    fingerprint: Mapped[str] = mapped_column(String(300), unique=True)
    rule: Mapped[str] = mapped_column(String(63))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[Any] = mapped_column(JSONType)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared: Mapped[int] = mapped_column(Integer, default=0)
    muted_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    incident_id: Mapped[int | None] = mapped_column(BigId, nullable=True)


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_system_status", "system", "status"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16))  # triggered | acknowledged | resolved
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalation_from: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    serious_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    aware_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    report_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    serious_category: Mapped[str | None] = mapped_column(String(1), nullable=True)
    serious_death: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    serious_widespread: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    report_complete_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IncidentEventRow(Base):
    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigId, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(254))
    detail: Mapped[Any] = mapped_column(JSONType)


class EscalationStepRow(Base):
    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("incident_id", "cycle", "level", name="uq_step"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigId)
    cycle: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_system_at", "system", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(63))
    incident_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    purpose: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)


class SilenceRow(Base):
    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str | None] = mapped_column(String(63), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    matchers: Mapped[Any] = mapped_column(JSONType)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text)


class LeaseRow(Base):
    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AckLinkUseRow(Base):
    """An acknowledge link that has acted: kept until the link expires, then pruned."""

    __tablename__ = "ack_links_used"
    link: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigId)
    recipient: Mapped[str] = mapped_column(String(254))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DashboardSessionRow(Base):
    __tablename__ = "dashboard_sessions"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(254), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AlertingRepository:
    """Alerting's part of the one Unit API."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- alerts ----------------------------------------------------------------------------

    def alert(self, fingerprint: str) -> AlertRecord | None:
        row = self._alert_row(fingerprint)
        return record_of(AlertRecord, row) if row else None

    def _alert_row(self, fingerprint: str) -> AlertRow | None:
        return self.session.scalars(
            select(AlertRow).where(AlertRow.fingerprint == fingerprint)
        ).first()

    def alerts(self, system: str, *, status: str | None = None) -> list[AlertRecord]:
        query = select(AlertRow).where(AlertRow.system == system)
        if status is not None:
            query = query.where(AlertRow.status == status)
        return [
            record_of(AlertRecord, r) for r in self.session.scalars(query.order_by(AlertRow.id))
        ]

    def incident_alerts(self, incident_id: int) -> list[AlertRecord]:
        return [record_of(AlertRecord, r) for r in self._incident_alert_rows(incident_id)]

    def _incident_alert_rows(self, incident_id: int) -> list[AlertRow]:
        return list(
            self.session.scalars(select(AlertRow).where(AlertRow.incident_id == incident_id))
        )

    def save_alert(self, system: str, fingerprint: str, **changes: Any) -> AlertRecord:
        """Change the alert of `fingerprint`, storing it first when it is new (its first save
        then gives at least `first_seen`)."""
        row = self._alert_row(fingerprint)
        if row is None:
            row = AlertRow(system=system, fingerprint=fingerprint)
            self.session.add(row)
        for name, value in changes.items():
            setattr(row, name, value)
        self.session.flush()
        return record_of(AlertRecord, row)

    def resolve_alerts(self, incident_id: int) -> None:
        """Every alert of an incident that was resolved."""
        for row in self._incident_alert_rows(incident_id):
            row.status = "resolved"
        self.session.flush()

    # --- incidents -------------------------------------------------------------------------

    def incident(self, incident_id: int) -> IncidentRecord | None:
        row = self.session.get(IncidentRow, incident_id)
        return record_of(IncidentRecord, row) if row else None

    def incidents(
        self,
        system: str | None = None,
        *,
        open_only: bool = False,
        during: tuple[datetime, datetime] | None = None,
        limit: int = 200,
    ) -> list[IncidentRecord]:
        """The newest first; with `during` = (start, end), those open at some moment of it."""
        query = select(IncidentRow)
        if system is not None:
            query = query.where(IncidentRow.system == system)
        if open_only:
            query = query.where(IncidentRow.status != "resolved")
        if during is not None:
            start, end = during
            query = query.where(
                IncidentRow.opened_at < end,
                or_(IncidentRow.resolved_at.is_(None), IncidentRow.resolved_at >= start),
            )
        rows = self.session.scalars(query.order_by(IncidentRow.id.desc()).limit(limit))
        return [record_of(IncidentRecord, r) for r in rows]

    def held_incidents(self, system: str) -> list[IncidentRecord]:
        """The system's serious incidents whose evidence hold is on: not yet both resolved and
        reported (see `alerting.serious.held`)."""
        query = select(IncidentRow).where(
            IncidentRow.system == system,
            IncidentRow.serious.is_(True),
            or_(IncidentRow.status != "resolved", IncidentRow.reported_at.is_(None)),
        )
        rows = self.session.scalars(query.order_by(IncidentRow.id))
        return [record_of(IncidentRecord, r) for r in rows]

    def incident_ids(
        self, systems: Sequence[str], *, status: str, severity: str
    ) -> dict[str, list[int]]:
        """Ids of each system's incidents in one status and severity, newest first, for many
        systems in one query."""
        rows = self.session.execute(
            select(IncidentRow.system, IncidentRow.id)
            .where(
                IncidentRow.system.in_(list(systems)),
                IncidentRow.status == status,
                IncidentRow.severity == severity,
            )
            .order_by(IncidentRow.id.desc())
        )
        return per_system(systems, rows)

    def open_incident(
        self, system: str, *, severity: str, title: str, now: datetime
    ) -> IncidentRecord:
        """A new triggered incident, its escalation path starting `now`."""
        row = IncidentRow(
            system=system,
            status="triggered",
            severity=severity,
            title=title,
            opened_at=now,
            escalation_from=now,
            serious=False,
            reopened=0,
            serious_death=False,
            serious_widespread=False,
        )
        self.session.add(row)
        self.session.flush()
        return record_of(IncidentRecord, row)

    def update_incident(self, incident_id: int, **changes: Any) -> IncidentRecord:
        row = self.session.get(IncidentRow, incident_id)
        if row is None:
            raise ValueError(f"no incident {incident_id}")
        for name, value in changes.items():
            setattr(row, name, value)
        self.session.flush()
        return record_of(IncidentRecord, row)

    def incident_event(
        self, incident_id: int, at: datetime, kind: str, actor: str, detail: dict[str, Any]
    ) -> None:
        self.session.add(
            IncidentEventRow(incident_id=incident_id, at=at, kind=kind, actor=actor, detail=detail)
        )

    def numbered_event(
        self,
        incident_id: int,
        at: datetime,
        kind: str,
        actor: str,
        detail: dict[str, Any],
        *,
        number_as: str,
    ) -> int:
        """An event that names itself: its id, which people quote to refer to it (a change
        under an evidence hold is justified by it), is also in its `detail`, as `number_as`."""
        row = IncidentEventRow(incident_id=incident_id, at=at, kind=kind, actor=actor, detail={})
        self.session.add(row)
        self.session.flush()
        row.detail = {number_as: row.id, **detail}
        self.session.flush()
        return row.id

    def incident_events(self, incident_id: int) -> list[IncidentEventRecord]:
        rows = self.session.scalars(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id == incident_id)
            .order_by(IncidentEventRow.at, IncidentEventRow.id)
        )
        return [record_of(IncidentEventRecord, r) for r in rows]

    # --- escalation and deliveries ---------------------------------------------------------

    def steps_taken(self, incident_id: int) -> set[tuple[int, int]]:
        rows = self.session.execute(
            select(EscalationStepRow.cycle, EscalationStepRow.level).where(
                EscalationStepRow.incident_id == incident_id
            )
        )
        return {(c, lv) for c, lv in rows}

    def take_step(
        self, incident_id: int, cycle: int, level: int, at: datetime, reason: str
    ) -> bool:
        """Claim a step; False when another process already took it."""
        insert = dialect_insert(self.session)
        result = self.session.execute(
            insert(EscalationStepRow)
            .values(incident_id=incident_id, cycle=cycle, level=level, taken_at=at, reason=reason)
            .on_conflict_do_nothing(index_elements=["incident_id", "cycle", "level"])
            .returning(EscalationStepRow.incident_id)
        )
        # RETURNING, not rowcount: an ORM session reports -1 rows for this INSERT on PostgreSQL,
        # which read as "taken" by every replica
        return result.first() is not None

    def reset_steps(self, incident_id: int) -> None:
        """A raised incident walks its escalation path again from the start."""
        self.session.execute(
            delete(EscalationStepRow).where(EscalationStepRow.incident_id == incident_id)
        )

    def record_delivery(self, **row: Any) -> None:
        self.session.add(DeliveryRow(**row))

    def deliveries(
        self, *, system: str | None = None, incident_id: int | None = None, limit: int = 500
    ) -> list[DeliveryRecord]:
        query = select(DeliveryRow)
        if system is not None:
            query = query.where(DeliveryRow.system == system)
        if incident_id is not None:
            query = query.where(DeliveryRow.incident_id == incident_id)
        rows = self.session.scalars(query.order_by(DeliveryRow.id).limit(limit))
        return [record_of(DeliveryRecord, r) for r in rows]

    # --- silences --------------------------------------------------------------------------

    def silences(self, system: str | None = None) -> list[SilenceRecord]:
        query = select(SilenceRow)
        if system is not None:
            query = query.where((SilenceRow.system == system) | SilenceRow.system.is_(None))
        rows = self.session.scalars(query.order_by(SilenceRow.id))
        return [record_of(SilenceRecord, r) for r in rows]

    def add_silence(
        self,
        system: str | None,
        *,
        kind: str,
        matchers: dict[str, str],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        reason: str,
    ) -> SilenceRecord:
        row = SilenceRow(
            system=system,
            kind=kind,
            matchers=matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            reason=reason,
        )
        self.session.add(row)
        self.session.flush()
        return record_of(SilenceRecord, row)

    # --- leases, acknowledge links and dashboard sessions ----------------------------------

    def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew a lease; False while someone else holds an unexpired one."""
        insert = dialect_insert(self.session)
        self.session.execute(
            insert(LeaseRow)
            .values(name=name, holder=holder, expires_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        result = self.session.execute(
            update(LeaseRow)
            .where(
                LeaseRow.name == name,
                (LeaseRow.holder == holder) | (LeaseRow.expires_at <= now),
            )
            .values(holder=holder, expires_at=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        self.session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.holder == holder)
            .values(expires_at=now)
        )

    def claim_ack_link(
        self, link: str, incident_id: int, recipient: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Mark a link used; False when it already was (by this process or another replica).
        Claims of links past their expiry are pruned first: those links are refused anyway."""
        self.session.execute(delete(AckLinkUseRow).where(AckLinkUseRow.expires_at <= now))
        insert = dialect_insert(self.session)
        result = self.session.execute(
            insert(AckLinkUseRow)
            .values(
                link=link,
                incident_id=incident_id,
                recipient=recipient,
                used_at=now,
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(index_elements=["link"])
            .returning(AckLinkUseRow.link)
        )
        # RETURNING, not rowcount: an ORM session reports -1 rows for this INSERT on PostgreSQL
        return result.first() is not None

    def ack_link_used(self, link: str) -> bool:
        return self.session.get(AckLinkUseRow, link) is not None

    def start_session(self, digest: str, person: str, now: datetime, expires_at: datetime) -> None:
        """Record a dashboard session (pruning expired ones, so the table stays small)."""
        self.session.execute(
            delete(DashboardSessionRow).where(DashboardSessionRow.expires_at <= now)
        )
        self.session.add(
            DashboardSessionRow(digest=digest, person=person, started_at=now, expires_at=expires_at)
        )

    def claim_session(self, digest: str, holder: str, now: datetime, expires_at: datetime) -> bool:
        """Record a session row unless one has this digest; False when one had (a one-use
        claim, exact on PostgreSQL too: two claims at once meet in the insert, not in a 500)."""
        self.session.execute(
            delete(DashboardSessionRow).where(DashboardSessionRow.expires_at <= now)
        )
        insert = dialect_insert(self.session)
        result = self.session.execute(
            insert(DashboardSessionRow)
            .values(digest=digest, person=holder, started_at=now, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["digest"])
            .returning(DashboardSessionRow.digest)
        )
        return result.first() is not None

    def session_holder(self, digest: str, now: datetime) -> str | None:
        """Whose session this is, while it lasts: None once signed out, ended or expired."""
        row = self.session.get(DashboardSessionRow, digest)
        return row.person if row is not None and now < row.expires_at else None

    def end_session(self, digest: str) -> None:
        self.session.execute(
            delete(DashboardSessionRow).where(DashboardSessionRow.digest == digest)
        )

    def end_sessions(self, person: str) -> None:
        """Every dashboard session of a person: they were deactivated."""
        self.session.execute(
            delete(DashboardSessionRow).where(DashboardSessionRow.person == person)
        )
