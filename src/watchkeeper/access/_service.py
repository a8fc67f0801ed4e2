"""Access's shell: reads who is who from the store, asks `may`, and writes every refusal to the
audit trail before it is raised, so that a 403 is never silent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.access._chain import verify_log
from watchkeeper.access._decide import Action, Decision, may
from watchkeeper.access._tokens import new_token, token_digest, token_prefix
from watchkeeper.audit import AuditEntry, Verification
from watchkeeper.charter.roles import Directory
from watchkeeper.charter.service import directory_of, manifest_of
from watchkeeper.errors import ActionError
from watchkeeper.manifest import Loaded
from watchkeeper.store import Store, SystemRecord, Unit

MISSING_TOKEN = (
    "no API token: send `Authorization: Bearer <token>`; an admin issues one with "
    "`wk token create EMAIL`"
)

UNKNOWN_TOKEN = (
    "unknown API token: check WATCHKEEPER_TOKEN, or ask an admin for a new one "
    "(`wk token create EMAIL`)"
)


class Refused(ActionError):
    """A refusal (403) already written to the audit trail, so no face records it twice."""

    def __init__(self, message: str) -> None:
        super().__init__("forbidden", message)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    id: int
    person: str
    prefix: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "id": self.id,
            "person": self.person,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
        }


class AccessService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def authenticate(self, token: str | None, now: datetime) -> str:
        """The email of the active person a bearer token belongs to."""
        if not token:
            raise ActionError("unauthenticated", MISSING_TOKEN)
        with self.store.read() as unit:
            person = unit.token_holder(token_digest(token))
        if person is None:
            raise ActionError("unauthenticated", UNKNOWN_TOKEN)
        decision = may(person.email, "read", None, Directory.of([person]))
        if not decision.allowed:
            raise self.refuse(person.email, "read", "api", None, decision.reason, now)
        return person.email

    def authorize(
        self,
        actor: str,
        action: Action,
        now: datetime,
        *,
        system: str | None = None,
        role: str | None = None,
        target: str | None = None,
    ) -> Decision:
        """Allow, or record the refusal and raise it."""
        with self.store.read() as unit:
            directory = directory_of(unit)
            manifest = manifest_of(_system(unit, system)) if system else None
        decision = may(actor, action, manifest, directory, role=role)
        if not decision.allowed:
            where = target or system or "watchkeeper"
            raise self.refuse(actor, action, where, system, decision.reason, now)
        return decision

    def authorize_apply(self, actor: str, loaded: Loaded, now: datetime) -> None:
        """Every document in a submission must be the actor's to apply; one refusal stops all."""
        refusals: list[tuple[str, str | None, str]] = []
        with self.store.read() as unit:
            directory = directory_of(unit)
            if loaded.people or loaded.teams:
                decision = may(actor, "people.apply", None, directory)
                if not decision.allowed:
                    refusals.append(("people", None, decision.reason))
            for submitted in loaded.systems:
                stored = unit.system(submitted.name)
                judged = manifest_of(stored) if stored else submitted
                decision = may(actor, "system.apply", judged, directory)
                if not decision.allowed:
                    refusals.append((submitted.name, submitted.name, decision.reason))
        if refusals:
            with self.store.write() as unit:
                for target, system, reason in refusals:
                    _record_refusal(unit, actor, "apply", target, system, reason, now)
            raise Refused("; ".join(reason for _, _, reason in refusals))

    def refuse(
        self,
        actor: str,
        attempted: str,
        target: str,
        system: str | None,
        reason: str,
        now: datetime,
    ) -> Refused:
        """Write the refusal to the audit trail; returns the error for the caller to raise."""
        with self.store.write() as unit:
            _record_refusal(unit, actor, attempted, target, system, reason, now)
        return Refused(reason)

    def create_token(self, email: str, actor: str, now: datetime) -> IssuedToken:
        email = email.strip().lower()
        token = new_token()
        with self.store.write() as unit:
            person = unit.person(email)
            if person is None:
                raise ActionError(
                    "not_found", f"no person {email} in the store; apply People first"
                )
            if not person.active:
                raise ActionError("invalid", f"{email} is inactive (has left); no token issued")
            record = unit.add_token(
                person=email,
                digest=token_digest(token),
                prefix=token_prefix(token),
                created_by=actor,
                now=now,
            )
            unit.audit(
                now=now,
                actor=actor,
                action="token.issued",
                target=email,
                after={"token_id": record.id, "prefix": record.prefix},
            )
        return IssuedToken(token, record.id, email, record.prefix, record.created_at)

    def verify_audit(self) -> Verification:
        with self.store.read() as unit:
            return verify_log(unit.audit_entries(), unit.audit_head())

    def audit_entries(self, system: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest `limit` entries, oldest first."""
        with self.store.read() as unit:
            entries = unit.audit_entries(system=system)
        return entries[-limit:] if limit else []


def _system(unit: Unit, name: str) -> SystemRecord:
    record = unit.system(name)
    if record is None:
        raise ActionError("not_found", f"no system {name!r}")
    return record


def _record_refusal(
    unit: Unit,
    actor: str,
    attempted: str,
    target: str,
    system: str | None,
    reason: str,
    now: datetime,
) -> None:
    unit.audit(
        now=now,
        actor=actor,
        action="access.denied",
        target=target,
        system=system,
        after={"attempted": attempted},
        reason=reason,
    )
