"""People and teams as an identity provider sees them through SCIM: our stable id for each, the
provider's own id (externalId), when we first and last saw them change, and whether SCIM
deleted them. The people and teams themselves are the core's (`Unit.person`, `Unit.save_team`);
this repository reads and marks only what SCIM adds to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.store._records import Deactivation
from watchkeeper.store._rows import PersonRow, TeamRow


@dataclass(frozen=True)
class DirectoryPerson:
    """A person as SCIM shows them. `deactivation` is a deliberate one (its `by` says whether
    SCIM or an admin made it); `deleted` when SCIM deleted them (kept, inactive, for the audit
    trail and the manifests that name them, but no longer a SCIM resource)."""

    email: str
    name: str
    active: bool
    scim_id: str
    external_id: str | None
    source: str | None
    created_at: datetime | None
    updated_at: datetime
    deleted: bool
    deactivation: Deactivation | None


@dataclass(frozen=True)
class DirectoryTeam:
    name: str
    members: list[str]
    scim_id: str
    external_id: str | None
    display_name: str  # the identity provider's name for the group, else the team's
    created_at: datetime | None
    updated_at: datetime
    deleted: bool


class DirectoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- people ----------------------------------------------------------------------------

    def people(self) -> list[DirectoryPerson]:
        """Every person SCIM may see (not deleted through it), by email."""
        rows = self.session.scalars(
            select(PersonRow).where(PersonRow.scim_deleted_at.is_(None)).order_by(PersonRow.email)
        )
        return [_person(r) for r in rows]

    def person(self, scim_id: str) -> DirectoryPerson | None:
        """A person by their SCIM id; None when unknown or deleted through SCIM."""
        row = self.session.scalar(select(PersonRow).where(PersonRow.scim_id == scim_id))
        return _person(row) if row is not None and row.scim_deleted_at is None else None

    def person_by_email(self, email: str) -> DirectoryPerson | None:
        """A stored person, deleted through SCIM or not (a deleted one can be created again)."""
        self.session.flush()  # a person saved in this unit gets their id at the flush
        row = self.session.get(PersonRow, email)
        return _person(row) if row is not None else None

    def mark_person(
        self,
        email: str,
        now: datetime,
        *,
        external_id: str | None,
        deleted: bool = False,
    ) -> None:
        """Record that the identity provider provisions `email` (saved just before, in this
        unit), as `external_id`; deleted through SCIM, or (again) not."""
        row = self.session.get(PersonRow, email)
        if row is None:
            raise ValueError(f"no person {email}")
        row.external_id, row.source = external_id, "scim"
        row.created_at = row.created_at or now
        row.scim_deleted_at = (row.scim_deleted_at or now) if deleted else None
        row.updated_at = now

    # --- teams -----------------------------------------------------------------------------

    def teams(self) -> list[DirectoryTeam]:
        rows = self.session.scalars(
            select(TeamRow).where(TeamRow.scim_deleted_at.is_(None)).order_by(TeamRow.name)
        )
        return [_team(r) for r in rows]

    def team(self, scim_id: str) -> DirectoryTeam | None:
        row = self.session.scalar(select(TeamRow).where(TeamRow.scim_id == scim_id))
        return _team(row) if row is not None and row.scim_deleted_at is None else None

    def team_by_name(self, name: str) -> DirectoryTeam | None:
        self.session.flush()
        row = self.session.get(TeamRow, name)
        return _team(row) if row is not None else None

    def mark_team(
        self,
        name: str,
        now: datetime,
        *,
        external_id: str | None,
        display_name: str,
        deleted: bool = False,
    ) -> None:
        """As `mark_person`, for a team saved just before in this unit."""
        row = self.session.get(TeamRow, name)
        if row is None:
            raise ValueError(f"no team {name}")
        row.external_id, row.display_name = external_id, display_name
        row.created_at = row.created_at or now
        row.scim_deleted_at = (row.scim_deleted_at or now) if deleted else None
        row.updated_at = now


def _person(row: PersonRow) -> DirectoryPerson:
    assert row.scim_id is not None, "every person has a SCIM id (migration 0018)"
    deactivation = (
        Deactivation(row.deactivated_at, row.deactivated_by or "")
        if row.deactivated_at is not None
        else None
    )
    return DirectoryPerson(
        row.email,
        row.name,
        row.active,
        row.scim_id,
        row.external_id,
        row.source,
        row.created_at,
        row.updated_at,
        row.scim_deleted_at is not None,
        deactivation,
    )


def _team(row: TeamRow) -> DirectoryTeam:
    assert row.scim_id is not None, "every team has a SCIM id (migration 0018)"
    return DirectoryTeam(
        row.name,
        list(row.members),
        row.scim_id,
        row.external_id,
        row.display_name or row.name,
        row.created_at,
        row.updated_at,
        row.scim_deleted_at is not None,
    )
