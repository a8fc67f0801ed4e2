"""Who is who at one moment — people, teams, and the roles a person holds through either — read
once and resolved here, so every decision about a person expands teams the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchkeeper.manifest import ROLES, Charter

if TYPE_CHECKING:  # the offline gate decides over a directory without loading the store
    from watchkeeper.store import PersonRecord, TeamRecord, Unit


@dataclass(frozen=True)
class Directory:
    """People and teams at one moment: the store, overlaid with the files being checked."""

    people: Mapping[str, PersonRecord] = field(default_factory=dict)
    teams: Mapping[str, TeamRecord] = field(default_factory=dict)

    @classmethod
    def of(cls, people: Iterable[PersonRecord], teams: Iterable[TeamRecord] = ()) -> Directory:
        return cls({p.email: p for p in people}, {t.name: t for t in teams})

    def overlay(self, people: Iterable[PersonRecord], teams: Iterable[TeamRecord]) -> Directory:
        return Directory(
            {**self.people, **{p.email: p for p in people}},
            {**self.teams, **{t.name: t for t in teams}},
        )

    def is_active(self, ref: str) -> bool:
        """A person is active while employed here; a team while it has an active member."""
        if ref in self.people:
            return self.people[ref].active
        team = self.teams.get(ref)
        return team is not None and any(self.is_active(m) for m in team.members if m in self.people)

    def members(self, ref: str) -> list[str]:
        """The people a name stands for (a team's active members, or the person)."""
        if ref in self.teams:
            return [m for m in self.teams[ref].members if self.is_active(m)]
        return [ref] if ref in self.people else []

    def display(self, ref: str) -> str:
        person = self.people.get(ref)
        return f"{person.name} <{ref}>" if person and person.name else ref


def holding_roles(charter: Charter, directory: Directory, email: str) -> list[tuple[str, str]]:
    """(role, holder) pairs that `email` may acknowledge: held in person or through a team."""
    return [
        (role, holder)
        for role in ROLES
        for holder in charter.holders(role)
        if holder == email or email in directory.members(holder)
    ]


def directory_of(unit: Unit) -> Directory:
    return Directory.of(unit.people(), unit.teams())
