"""Who holds what: resolving a charter's names against the people directory, and what their
acknowledgements say. Pure functions over plain data; `now` is always given."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from watchkeeper.access import Directory
from watchkeeper.manifest import ROLES, Charter, Loaded, Person
from watchkeeper.store import AckRecord, PersonRecord, TeamRecord

ROLE_TITLES = {
    "owner": "owner",
    "quality_monitor": "quality monitor (who monitors output quality after launch?)",
    "retraining_decider": "retraining decider (who decides when to retrain or replace?)",
    "data_liaison": "data liaison (who owns the relationship with the upstream data team?)",
    "kill_authority": "kill authority (who may take the system offline?)",
}


AckStateName = Literal["acknowledged", "stale", "pending"]


@dataclass(frozen=True)
class Assignment:
    """One holder of one role and what we know of them."""

    role: str
    holder: str
    active: bool
    ack: AckStateName
    acked_at: datetime | None = None
    acked_by: str | None = None
    expires_at: datetime | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "role": self.role,
            "holder": self.holder,
            "active": self.active,
            "ack": self.ack,
            "acked_at": self.acked_at.isoformat() if self.acked_at else None,
            "acked_by": self.acked_by,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def declared(loaded: Loaded, known: Directory | None = None) -> Directory:
    """Who is who as manifests being checked or applied say: the people and teams the files
    declare, over those `known` already (the store's)."""
    return (known or Directory()).overlay(
        (person_record(p) for p in loaded.people),
        (TeamRecord(t.name, list(t.members)) for t in loaded.teams),
    )


def person_record(person: Person) -> PersonRecord:
    return PersonRecord(
        person.email,
        person.name,
        person.active,
        person.admin,
        [c.model_dump(mode="json", exclude_none=True) for c in person.channels],
        slack=person.slack,
        pagerduty=person.pagerduty,
    )


def assignments(
    charter: Charter, directory: Directory, acks: Iterable[AckRecord], now: datetime
) -> list[Assignment]:
    """Every (role, holder) pair with its activity and acknowledgement state at `now`."""
    latest: dict[tuple[str, str], AckRecord] = {}
    for record in acks:
        key = (record.role, record.holder)
        if key not in latest or record.acked_at >= latest[key].acked_at:
            latest[key] = record
    result = []
    for role in ROLES:
        for holder in charter.holders(role):
            ack = latest.get((role, holder))
            state, expires = _ack_state(ack, charter.attest_every, now)
            result.append(
                Assignment(
                    role,
                    holder,
                    directory.is_active(holder),
                    state,
                    ack.acked_at if ack else None,
                    ack.acked_by if ack else None,
                    expires,
                )
            )
    return result


def _ack_state(
    ack: AckRecord | None, attest_every: timedelta, now: datetime
) -> tuple[AckStateName, datetime | None]:
    if ack is None:
        return "pending", None
    expires = ack.acked_at + attest_every
    return ("acknowledged" if now < expires else "stale"), expires


def vacant_roles(charter: Charter, directory: Directory) -> list[str]:
    """Roles nobody active holds: unnamed, or every holder gone."""
    return [
        role for role in ROLES if not any(directory.is_active(h) for h in charter.holders(role))
    ]


def vacancy(charter: Charter, role: str, directory: Directory) -> str:
    """A vacant role as the person who must fill it needs it: who held it and when they left
    (from the store), or that nobody was ever named."""
    holders = charter.holders(role)
    if not holders:
        return f"{role} (nobody named)"
    return f"{role} ({'; '.join(_gone(ref, directory) for ref in holders)})"


def _gone(ref: str, directory: Directory) -> str:
    team = directory.teams.get(ref)
    if team is not None:
        left = [f"{m} left{_when(directory, m)}" for m in team.members if m in directory.people]
        return f"team {ref} has no active member" + (f": {', '.join(left)}" if left else "")
    if ref not in directory.people:
        return f"{ref} is not a known person"
    return f"held by {ref}, who left{_when(directory, ref)}"


def _when(directory: Directory, email: str) -> str:
    left_at = directory.people[email].left_at
    return f" on {left_at:%Y-%m-%d}" if left_at else ""


def voided_by_change(old: Charter | None, new: Charter) -> list[tuple[str, str]]:
    """(role, holder) pairs whose acknowledgement no longer applies after the charter changed."""
    if old is None:
        return []
    return [
        (role, holder)
        for role in ROLES
        for holder in old.holders(role)
        if holder not in new.holders(role)
    ]


def ack_fix(system: str, holders: Iterable[str]) -> str:
    """The command each holder (or a member, for a team) runs to acknowledge their roles."""
    return "; ".join(
        f"{'' if '@' in h else 'a member of team '}{h} runs `wk ack {system} all`"
        for h in dict.fromkeys(holders)
    )
