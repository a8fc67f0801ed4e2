"""What one person does at one instant, as plain dicts.

The local CLI and the server both act through this object, so the logic has one code path
whichever face is used; the CLI's client mode is an HTTP object with the same methods.

Each method asks `access` (`AccessService.authorize`, deciding with `may`) before it calls a
stage service; access writes a refusal to the audit trail before raising it, so every refusal is
recorded in one place whichever face asked. With `enforce` (the API and the dashboard) every
action is decided. Without it (the CLI on the database directly) every action that names a
person's decision is decided too — acknowledging roles and incidents, silences, eval runs,
triage verdicts, reviews, decisions, care, knowledge and postmortems, the kill switch and its
drills (decided in the switch service, which playbooks reach directly) — while what sets the
database up and feeds it is trusted: reads, applying manifests, people and tokens, a tick by
hand, and observations, feedback and flags (`access.TRUSTED_LOCALLY`; whoever can open the
database can rewrite it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watchkeeper.access import token_lifetime, token_name
from watchkeeper.app._ops_quality import QualityOperations
from watchkeeper.charter import portfolio_critical
from watchkeeper.errors import ActionError
from watchkeeper.manifest import ROLES

if TYPE_CHECKING:
    from watchkeeper.app._build import Watchkeeper


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

    def apply(self, paths: Sequence[str], justification: str | None = None) -> list[dict[str, Any]]:
        """`justification`: why a system under a serious incident's evidence hold changes."""
        checked = self._checked("system.apply")
        if checked:
            self.app.access.authorize_applying(self.actor, self.now)
        loaded = self.app.charter.load(paths)
        if checked:
            self.app.access.authorize_apply(self.actor, loaded, self.now)
        changes = self.app.charter.apply(loaded, self.actor, self.now, justification)
        return [c.to_dict() for c in changes]

    def gate(self, paths: Sequence[str]) -> list[dict[str, Any]]:
        """The readiness gate over files the caller has, judged by this store's people and
        acknowledgements; nothing is recorded. Asked as `apply` is, by those who may apply
        something: it parses the YAML it is given, and parsing is what a stranger would abuse."""
        if self._checked("system.apply"):
            self.app.access.authorize_applying(self.actor, self.now)
        charter = self.app.charter
        return [r.to_dict() for r in charter.gate(charter.load(paths), self.now)]

    def ack(self, system: str, role: str) -> list[dict[str, Any]]:
        if role not in (*ROLES, "all"):
            raise ActionError(
                "invalid", f"unknown role {role!r}; one of: {', '.join(ROLES)}, or all"
            )
        self._authorize("role.ack", system, role=role, target=f"{system}/{role}")
        states = self.app.charter.acknowledge(system, role, self.actor, self.now)
        return [s.to_dict() for s in states]

    def deactivate(self, email: str) -> dict[str, Any]:
        """Their roles fall vacant at once, and each affected system's owner (or, when the
        owner is who left, the admins) is told which."""
        from watchkeeper.alerting.outbox import Outbox

        self._authorize("person.deactivate", target=email)
        outbox = Outbox()
        change = self.app.charter.deactivate(email, self.actor, self.now, outbox)
        self.app.courier.send_notices(outbox.notices, self.now)
        return change.to_dict()

    def reactivate(self, email: str) -> dict[str, Any]:
        self._authorize("person.reactivate", target=email)
        return self.app.charter.reactivate(email, self.actor, self.now).to_dict()

    def create_token(self, email: str, expires: str | None = None) -> dict[str, Any]:
        lifetime = _lifetime(expires)
        self._authorize("token.create", target=email, subject=email.strip().lower())
        return self.app.access.create_token(email, self.actor, self.now, lifetime).to_dict()

    def create_service_token(
        self, system: str, expires: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """A token for serving code that writes `system`'s data and reads its switch, and
        nothing else (its owner, and admins)."""
        lifetime = _lifetime(expires)
        try:
            label = token_name(name) if name is not None else None
        except ValueError as exc:
            raise ActionError("invalid", f"name: {exc}") from None
        self._authorize("token.create", system, target=f"{system}/tokens")
        access = self.app.access
        return access.create_service_token(system, label, self.actor, self.now, lifetime).to_dict()

    def create_scim_token(
        self, expires: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """A token for an identity provider to provision people and teams at /scim/v2, and
        nothing else (admins: it changes who is who)."""
        lifetime = _lifetime(expires)
        try:
            label = token_name(name) if name is not None else None
        except ValueError as exc:
            raise ActionError("invalid", f"name: {exc}") from None
        self._authorize("token.create", target="scim")
        return self.app.access.create_scim_token(label, self.actor, self.now, lifetime).to_dict()

    def tokens(self, person: str | None = None, service: str | None = None) -> list[dict[str, Any]]:
        """Everyone's tokens (admins); one person's (admins, and that person); or one system's
        service tokens (admins, and its owner)."""
        if person and service:
            raise ActionError(
                "invalid", "list one person's tokens or one system's service tokens, not both"
            )
        if service:
            self._authorize("token.list", service, target=f"{service}/tokens")
            return self.app.access.tokens(None, self.now, service)
        person = person.strip().lower() if person else None
        if (
            self._checked("token.list")
            and person is None
            and not self.app.access.is_admin(self.actor)
        ):
            person = self.actor
        self._authorize("token.list", target=person or "tokens", subject=person)
        return self.app.access.tokens(person, self.now)

    def revoke_token(self, ref: str) -> dict[str, Any]:
        """Revoke a token by id or prefix (admins; a person's token: its person; a service
        token: its system's owner)."""
        token = self.app.access.find_token(ref)
        self._authorize(
            "token.revoke", token.system, target=f"token/{token.prefix}", subject=token.person
        )
        return self.app.access.revoke_token(token, self.actor, self.now)

    def set_switch(
        self,
        system: str,
        state: str,
        reason: str,
        wait: float = 0.0,
        justification: str | None = None,
    ) -> dict[str, Any]:
        """Flip, then wait up to `wait` seconds for the live SDK processes to confirm it (the
        outcome audited as `switch.confirmed`). A flip that changed nothing waits for nothing:
        it shows who holds the state already. `justification`: why a system under a serious
        incident's evidence hold is restored."""
        switch = self.app.switch
        change = switch.set(system, state, reason, self.actor, self.now, justification)
        confirmed = None
        if not change.changed:
            confirmed = switch.confirmations(system, self.app.clock.now())
        elif wait > 0:
            confirmed = switch.await_confirmation(change, self.actor, wait, self.app.clock)
        return {**change.to_dict(), "confirmations": confirmed.to_dict() if confirmed else None}

    def switch_confirmations(self, system: str) -> dict[str, Any]:
        return self.app.switch.confirmations(system, self.now).to_dict()

    def drill(self, system: str, reason: str | None = None, wait: float = 30.0) -> dict[str, Any]:
        """Drill the switch (its kill authorities): the version moves, the state does not, and
        the live SDK processes have up to `wait` seconds to confirm. Decided in the switch
        service, as a flip is."""
        switch = self.app.switch
        return switch.drill(system, reason, self.actor, self.now, wait, self.app.clock).to_dict()

    def switch_drills(self, system: str, limit: int = 20) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.app.switch.drills(system, limit)]

    def rehearse(
        self,
        system: str,
        scenario: str = "quality-drop",
        paths: Sequence[str] = (),
        budget: float = 120.0,
    ) -> dict[str, Any]:
        """Rehearse the applied system (those who answer for it), or the one files declare
        before it is applied (asked as the gate is: whoever may apply something)."""
        files = None
        if paths:
            if self._checked("system.apply"):
                self.app.access.authorize_applying(self.actor, self.now)
            files = self.app.charter.load(paths)
        else:
            self._authorize("system.rehearse", system, target=f"{system}/runbook")
        record = self.app.rehearsal.rehearse(
            system, scenario, self.actor, self.now, files=files, budget=budget
        )
        return record.to_dict()

    def rehearsals(self, system: str, limit: int = 20) -> list[dict[str, Any]]:
        self._may_read()
        return [r.to_dict() for r in self.app.rehearsal.rehearsals(system, limit)]

    def evidence(self, system: str, start: datetime, end: datetime) -> dict[str, Any]:
        """The evidence bundle of [start, end): whoever may read the audit log may export it
        (the bundle holds a stretch of that log), and the export is audited."""
        self._may_read()
        return self.app.evidence.export(system, start, end, self.actor, self.now)

    def evidence_origin(self, seq: int) -> dict[str, Any]:
        """This deployment's identity (its chain's first hash) and its chain's hash at `seq`,
        for checking that a bundle came from here and its chain is this one."""
        self._may_read()
        return self.app.evidence.origin(seq)


def _lifetime(expires: str | None) -> timedelta | None:
    try:
        return token_lifetime(expires) if expires is not None else None
    except ValueError as exc:
        raise ActionError("invalid", f"expires: {exc}") from None
