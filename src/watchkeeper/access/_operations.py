"""What one person does at one instant, as plain dicts.

The local CLI and the server both act through this object, so the logic has one code path
whichever face is used; the CLI's client mode is an HTTP object with the same methods. With
`enforce` (the server) every change is authorised first. Without it (the CLI on the database
directly) the acting person is trusted — whoever can open the database can change anything in it
— except for the kill switch, whose authority check lives in the switch service itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from watchkeeper.access._ops_quality import QualityOperations
from watchkeeper.access._tokens import token_lifetime
from watchkeeper.charter import portfolio_critical
from watchkeeper.errors import ActionError
from watchkeeper.manifest import ROLES

if TYPE_CHECKING:
    from watchkeeper.app import Watchkeeper


class Operations(QualityOperations):
    def __init__(self, app: Watchkeeper, actor: str, now: datetime, *, enforce: bool) -> None:
        self.app = app
        self.actor = actor
        self.now = now
        self.enforce = enforce

    # --- reads -----------------------------------------------------------------------------

    def status(self, system: str | None = None) -> list[dict[str, Any]]:
        return self.app.charter.status(self.now, system)

    def vacuum(self) -> dict[str, Any]:
        reports = self.app.charter.vacuum(self.now)
        return {
            "critical": portfolio_critical(reports),
            "systems": [r.to_dict() for r in reports],
        }

    def verify_audit(self) -> dict[str, Any]:
        return self.app.access.verify_audit().to_dict()

    def audit(self, system: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.app.access.audit_entries(system, limit)]

    # --- changes ---------------------------------------------------------------------------

    def apply(self, paths: Sequence[str]) -> list[dict[str, Any]]:
        if self.enforce:
            self.app.access.authorize_applying(self.actor, self.now)
        loaded = self.app.charter.load(paths)
        if self.enforce:
            self.app.access.authorize_apply(self.actor, loaded, self.now)
        return [c.to_dict() for c in self.app.charter.apply(loaded, self.actor, self.now)]

    def ack(self, system: str, role: str) -> list[dict[str, Any]]:
        if role not in (*ROLES, "all"):
            raise ActionError(
                "invalid", f"unknown role {role!r}; one of: {', '.join(ROLES)}, or all"
            )
        if self.enforce:
            self.app.access.authorize(
                self.actor,
                "role.ack",
                self.now,
                system=system,
                role=role,
                target=f"{system}/{role}",
            )
        states = self.app.charter.acknowledge(system, role, self.actor, self.now)
        return [s.to_dict() for s in states]

    def deactivate(self, email: str) -> dict[str, Any]:
        if self.enforce:
            self.app.access.authorize(self.actor, "person.deactivate", self.now, target=email)
        return self.app.charter.deactivate(email, self.actor, self.now).to_dict()

    def reactivate(self, email: str) -> dict[str, Any]:
        if self.enforce:
            self.app.access.authorize(self.actor, "person.reactivate", self.now, target=email)
        return self.app.charter.reactivate(email, self.actor, self.now).to_dict()

    def create_token(self, email: str, expires: str | None = None) -> dict[str, Any]:
        try:
            lifetime = token_lifetime(expires) if expires is not None else None
        except ValueError as exc:
            raise ActionError("invalid", f"expires: {exc}") from None
        if self.enforce:
            self.app.access.authorize(self.actor, "token.create", self.now, target=email)
        return self.app.access.create_token(email, self.actor, self.now, lifetime).to_dict()

    def tokens(self, person: str | None = None) -> list[dict[str, Any]]:
        """Everyone's tokens (admins), or one person's (admins, and that person)."""
        person = person.strip().lower() if person else None
        if self.enforce and person is None and not self.app.access.is_admin(self.actor):
            person = self.actor
        if self.enforce:
            self.app.access.authorize(
                self.actor, "token.list", self.now, target=person or "tokens", subject=person
            )
        return self.app.access.tokens(person, self.now)

    def revoke_token(self, ref: str) -> dict[str, Any]:
        """Revoke a token by id or prefix (admins, and the token's holder)."""
        token = self.app.access.find_token(ref)
        if self.enforce:
            self.app.access.authorize(
                self.actor,
                "token.revoke",
                self.now,
                target=f"token/{token.prefix}",
                subject=token.person,
            )
        return self.app.access.revoke_token(token, self.actor, self.now)

    def set_switch(self, system: str, state: str, reason: str) -> dict[str, Any]:
        return self.app.switch.set(system, state, reason, self.actor, self.now).to_dict()
