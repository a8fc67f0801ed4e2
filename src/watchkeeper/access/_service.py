"""Access's shell: reads who is who from the store, asks `may`, and writes every refusal to the
audit trail before it is raised, so that a 403 is never silent. This is the one writer of
refusals: `authorize` for every action (whichever face asks), `refuse` for any other refusal a
face meets. Refusals of callers without valid credentials go through the noise gate (counted per
interval), except attempts on the kill switch, each of which is written."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from watchkeeper.access._chain import verify_log
from watchkeeper.access._decide import (
    Action,
    Decision,
    may,
    may_apply_anything,
    may_serve,
    out_of_scope,
    scim_actor,
    service_actor,
    service_system,
)
from watchkeeper.access._directory import Directory, directory_of
from watchkeeper.access._noise import Key, Noise, NoiseGate
from watchkeeper.access._tokens import new_token, token_digest, token_prefix
from watchkeeper.audit import AuditEntry, Checkpoint, Verification, parse_checkpoints
from watchkeeper.errors import ActionError
from watchkeeper.manifest import Loaded, SystemManifest
from watchkeeper.store import PersonRecord, Store, SystemRecord, TokenRecord, Unit, manifest_of

MISSING_TOKEN = (
    "no API token: send `Authorization: Bearer <token>`; an admin issues one with "
    "`wk token create EMAIL`"
)

UNKNOWN_TOKEN = (
    "unknown API token: check WATCHKEEPER_TOKEN, or ask an admin for a new one "
    "(`wk token create EMAIL`)"
)
ANONYMOUS = "anonymous"
USED_GRAIN = timedelta(minutes=1)  # a token's `last used` is kept this fresh, no fresher


class Refused(ActionError):
    """A refusal (403) already written to the audit trail, so no face records it twice."""

    def __init__(self, message: str) -> None:
        super().__init__("forbidden", message)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: TokenRecord

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, **token_dict(self.record, self.record.created_at)}


def token_dict(token: TokenRecord, now: datetime) -> dict[str, Any]:
    """A token's public half as the API and the CLI show it (never the secret or its digest)."""

    def instant(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": token.id,
        "kind": token.kind,
        "person": token.person,
        "system": token.system,
        "name": token.name,
        "actor": _actor(token),
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "created_by": token.created_by,
        "expires_at": instant(token.expires_at),
        "last_used_at": instant(token.last_used_at),
        "revoked_at": instant(token.revoked_at),
        "revoked_by": token.revoked_by,
        "status": token.status(now),
    }


def _actor(token: TokenRecord) -> str:
    """Who a token acts as, as the audit trail names it."""
    if token.kind == "scim":
        return scim_actor(token.label)
    if token.system is not None:
        return service_actor(token.system, token.label)
    assert token.person is not None, "a person's token names its person"
    return token.person


class AccessService:
    def __init__(self, store: Store, *, registrars: Sequence[str] = ()) -> None:
        self.store = store
        self.registrars = tuple(r.strip().lower() for r in registrars if r.strip())
        self._noise = NoiseGate()
        self._noise_lock = threading.Lock()
        self._used: dict[int, datetime] = {}  # token id -> when this process last noted its use
        self._used_lock = threading.Lock()

    def authenticate(self, token: str | None, now: datetime, *, services: bool = False) -> str:
        """Who a live (not revoked, not expired) token acts as: the email of its active person,
        or — with `services`, for the API, whose routes for serving code take one — a service
        token's actor, `service:<system>/<label>`. The dashboard signs in people only; a SCIM
        token is refused (recorded) everywhere but /scim/v2 (`authenticate_scim`)."""
        record, person = self._live(token, now)
        if record.kind == "scim":
            where = "api" if services else "dashboard"
            raise self.refuse(
                _actor(record),
                f"sign in to the {where}",
                where,
                None,
                f"{record.prefix}… is a SCIM token: it provisions people and teams at /scim/v2 "
                "and signs nobody in anywhere else",
                now,
            )
        if person is None:
            if not services:
                raise ActionError(
                    "unauthenticated",
                    f"{record.prefix}… is a service token of {record.system}: it serves code "
                    "(the SDK, OpenTelemetry exporters) and signs nobody in; use your own token",
                )
            actor = _actor(record)
        else:
            actor = self.admit(person, "api", now)
        self._note_use(record, now)
        return actor

    def authenticate_scim(self, token: str | None, now: datetime, attempted: str) -> str:
        """The actor of a live SCIM token (`scim:<label>`), the only credential /scim/v2
        takes; a person's or a service token there is refused (403, recorded as its actor)."""
        record, _ = self._live(token, now)
        if record.kind != "scim":
            kind = "a service token" if record.system else "a person's token"
            raise self.refuse(
                _actor(record),
                attempted,
                "/scim/v2",
                record.system,
                f"{record.prefix}… is {kind}; /scim/v2 takes only a SCIM token, which an "
                "admin issues with `wk token create --scim`",
                now,
            )
        self._note_use(record, now)
        return _actor(record)

    def _live(self, token: str | None, now: datetime) -> tuple[TokenRecord, PersonRecord | None]:
        """A presented token that is known, neither revoked nor expired, and the person it acts
        as (none for a service or SCIM token); else 401 saying how to get a good one."""
        if not token:
            raise ActionError("unauthenticated", MISSING_TOKEN)
        with self.store.read() as unit:
            grant = unit.token_grant(token_digest(token))
        if grant is None or (grant[1] is None and grant[0].kind == "person"):
            raise ActionError("unauthenticated", UNKNOWN_TOKEN)
        record, person = grant
        status = record.status(now)
        if status != "active":
            when = record.revoked_at if status == "revoked" else record.expires_at
            again = {
                "service": "its owner or an admin for a new one "
                f"(`wk token create --service {record.system}`)",
                "scim": "an admin for a new one (`wk token create --scim`)",
                "person": f"an admin for a new one (`wk token create {record.person}`)",
            }[record.kind]
            raise ActionError(
                "unauthenticated",
                f"this API token ({record.prefix}…) was {status} at "
                f"{when.isoformat() if when else 'an unknown time'}; ask {again}",
            )
        return record, person

    def _note_use(self, token: TokenRecord, now: datetime) -> None:
        """Keep the token's `last used` within USED_GRAIN of the truth: one write per token per
        grain, however many requests (a thousand SDK processes polling on one service token)."""
        if token.last_used_at is not None and now - token.last_used_at < USED_GRAIN:
            return
        with self._used_lock:
            noted = self._used.get(token.id)
            if noted is not None and now - noted < USED_GRAIN:
                return
            self._used[token.id] = now
        with self.store.write() as unit:
            unit.token_used(token.id, now, USED_GRAIN)

    def admit(self, person: PersonRecord, where: str, now: datetime) -> str:
        """The email of a person whose credentials were good, if they may act here at all (are
        still active); else the refusal, recorded. `where` is the face: api, dashboard."""
        decision = may(person.email, "read", None, Directory.of([person]))
        if not decision.allowed:
            raise self.refuse(person.email, "read", where, None, decision.reason, now)
        return person.email

    def is_admin(self, email: str) -> bool:
        with self.store.read() as unit:
            person = unit.person(email)
        return bool(person and person.active and person.admin)

    def authorize(
        self,
        actor: str,
        action: Action,
        now: datetime,
        *,
        system: str | None = None,
        role: str | None = None,
        target: str | None = None,
        subject: str | None = None,
        assignee: str | None = None,
    ) -> Decision:
        """Allow, or record the refusal and raise it. `target` names what was acted on in the
        audit trail (default: the system). A service token is decided on names alone (its
        scope against `system`), before anything is read."""
        if service_system(actor) is not None:
            decision = may_serve(actor, action, system)
        else:
            with self.store.read() as unit:
                directory = directory_of(unit)
                manifest = _answerable(_system(unit, system)) if system is not None else None
            decision = may(
                actor,
                action,
                manifest,
                directory,
                role=role,
                registrars=self.registrars,
                subject=subject,
                assignee=assignee,
            )
        if not decision.allowed:
            where = target or system or "watchkeeper"
            raise self.refuse(actor, action, where, system, decision.reason, now)
        return decision

    def authorize_applying(self, actor: str, now: datetime) -> None:
        """Refuse, before anything is parsed, someone who may apply no manifest at all."""
        with self.store.read() as unit:
            directory = directory_of(unit)
            # the stored documents as they are: an owner must be able to re-apply a manifest
            # that a tightened rule made unreadable
            owners = [
                str(record.manifest.get("spec", {}).get("charter", {}).get("owner") or "")
                for record in unit.systems()
            ]
        decision = may_apply_anything(actor, owners, directory, self.registrars)
        if not decision.allowed:
            raise self.refuse(actor, "apply", "manifests", None, decision.reason, now)

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
                decision = (
                    may(actor, "system.apply", _answerable(stored), directory)
                    if stored
                    else may(
                        actor, "system.register", submitted, directory, registrars=self.registrars
                    )
                )
                if not decision.allowed:
                    refusals.append((submitted.name, submitted.name, decision.reason))
        if refusals:
            with self.store.write() as unit:
                for target, system, reason in refusals:
                    _record_refusal(unit, actor, "apply", target, system, reason, now)
            raise Refused("; ".join(reason for _, _, reason in refusals))

    def refuse_beyond_scope(
        self, actor: str, attempted: str, target: str, system: str | None, now: datetime
    ) -> Refused:
        """A service token at something no serving code does (`attempted`: "METHOD /path"):
        recorded, and the error names the token's scope."""
        return self.refuse(
            actor, attempted, target, system, out_of_scope(actor, attempted).reason, now
        )

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

    def refuse_anonymous(
        self,
        attempted: str,
        system: str | None,
        reason: str,
        client: str,
        now: datetime,
        *,
        every: bool = False,
    ) -> None:
        """Record a refusal of a caller without valid credentials (`attempted` is "METHOD
        /path"): each one when `every` (the kill switch), else through the noise gate — one
        row per kind, client and interval, with a count."""
        key = (attempted, reason, client)
        if every:
            rows = [Noise(key, 1, now, now)]
        else:
            with self._noise_lock:
                rows = self._noise.note(key, now)
        self._write_noise(rows, now, {key: system})

    def flush_noise(self, now: datetime) -> int:
        """Write the counts of noise intervals that are over (a scheduler job)."""
        with self._noise_lock:
            rows = self._noise.flush(now)
        self._write_noise(rows, now, {})
        return len(rows)

    def _write_noise(
        self, rows: Sequence[Noise], now: datetime, systems: dict[Key, str | None]
    ) -> None:
        if not rows:
            return
        with self.store.write() as unit:
            for row in rows:
                attempted, reason, client = row.key
                unit.audit(
                    now=now,
                    actor=ANONYMOUS,
                    action="access.denied",
                    target=attempted.partition(" ")[2] or attempted,
                    system=systems.get(row.key),
                    after={
                        "attempted": attempted,
                        "client": client,
                        "count": row.count,
                        "first": row.first.isoformat(),
                        "last": row.last.isoformat(),
                    },
                    reason=reason,
                )

    def create_token(
        self, email: str, actor: str, now: datetime, lifetime: timedelta | None = None
    ) -> IssuedToken:
        email = email.strip().lower()
        with self.store.write() as unit:
            person = unit.person(email)
            if person is None:
                raise ActionError(
                    "not_found", f"no person {email} in the store; apply People first"
                )
            if not person.active:
                raise ActionError("invalid", f"{email} is inactive (has left); no token issued")
            return _issue(unit, actor, now, lifetime, person=email)

    def create_service_token(
        self,
        system: str,
        name: str | None,
        actor: str,
        now: datetime,
        lifetime: timedelta | None = None,
    ) -> IssuedToken:
        """A token that serves `system` alone (see `may_serve`) and acts as nobody: it outlives
        whoever issued it, so serving code does not stop when a person leaves."""
        with self.store.write() as unit:
            _system(unit, system)
            return _issue(unit, actor, now, lifetime, system=system, name=name)

    def create_scim_token(
        self, name: str | None, actor: str, now: datetime, lifetime: timedelta | None = None
    ) -> IssuedToken:
        """A token for an identity provider (Okta, Entra ID) to keep people and teams in sync
        at /scim/v2, and nothing else; like a service token it acts as nobody, so it outlives
        the admin who issued it."""
        with self.store.write() as unit:
            return _issue(unit, actor, now, lifetime, name=name, scim=True)

    def tokens(
        self, person: str | None, now: datetime, system: str | None = None
    ) -> list[dict[str, Any]]:
        """Every token; one person's; or one system's service tokens."""
        with self.store.read() as unit:
            return [token_dict(t, now) for t in unit.tokens(person, system)]

    def find_token(self, ref: str) -> TokenRecord:
        """A token by its id or its prefix (as `wk token list` shows them)."""
        ref = ref.strip()
        with self.store.read() as unit:
            if re.fullmatch(r"[0-9]{1,9}", ref):  # an id (PostgreSQL's integer holds 9 digits)
                found = unit.token(int(ref))
                matches = [found] if found else []
            else:
                matches = unit.tokens_by_prefix(ref)
        if not matches:
            raise ActionError(
                "not_found", f"no token {ref!r}: give an id or a prefix from `wk token list`"
            )
        if len(matches) > 1:
            ids = ", ".join(str(t.id) for t in matches)
            raise ActionError("invalid", f"prefix {ref!r} matches tokens {ids}: give the id")
        return matches[0]

    def revoke_token(self, token: TokenRecord, actor: str, now: datetime) -> dict[str, Any]:
        """Revoke at once: the next request with it is refused (already revoked: unchanged)."""
        with self.store.write() as unit:
            revoked = unit.revoke_token(token.id, by=actor, now=now)
            if token.revoked_at is None:
                unit.audit(
                    now=now,
                    actor=actor,
                    action="token.revoked",
                    target=_actor(token),
                    system=token.system,
                    after={"token_id": token.id, "prefix": token.prefix},
                )
        return token_dict(revoked, now)

    def verify_audit(self) -> Verification:
        """Checkpoints are read before the log: each was written after its entry committed, so
        a log read afterwards holds every entry a checkpoint read here names."""
        seal = self.store.seal
        checkpoints = _checkpoints(seal.checkpoints) if seal.key is not None else None
        with self.store.read() as unit:
            entries, head = unit.audit_entries(), unit.audit_head()
        return verify_log(entries, head, seal.key, checkpoints, str(seal.checkpoints))

    def audit_entries(self, system: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest `limit` entries, oldest first."""
        with self.store.read() as unit:
            entries = unit.audit_entries(system=system)
        return entries[-limit:] if limit else []


def _checkpoints(path: Path | None) -> list[Checkpoint] | None:
    if path is None:
        return None
    try:
        return parse_checkpoints(path.read_text(encoding="ascii", errors="replace"))
    except FileNotFoundError:
        return []


def _answerable(record: SystemRecord) -> SystemManifest:
    """The stored manifest as authority reads it. One that a tightened rule made unreadable still
    names who answers for its system, so its owner may re-apply it and its data still flows:
    its charter and escalation are read on their own, and a part that no longer validates
    names nobody (admins decide)."""
    try:
        return manifest_of(record)
    except ValidationError:
        pass
    spec = record.manifest.get("spec") or {}
    charter = {"charter": spec.get("charter") or {}}
    escalation = {"runbook": {"escalation": (spec.get("runbook") or {}).get("escalation") or {}}}
    for salvaged in ({**charter, **escalation}, charter, escalation):
        try:
            return _manifest(record.name, salvaged)
        except ValidationError:
            continue
    return _manifest(record.name, {})


def _manifest(name: str, spec: dict[str, Any]) -> SystemManifest:
    document = {"apiVersion": "watchkeeper/v1", "kind": "AISystem", "metadata": {"name": name}}
    return SystemManifest.model_validate({**document, "spec": spec})


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


def _issue(
    unit: Unit,
    actor: str,
    now: datetime,
    lifetime: timedelta | None,
    *,
    person: str | None = None,
    system: str | None = None,
    name: str | None = None,
    scim: bool = False,
) -> IssuedToken:
    """A new token of any kind, stored as its digest and audited as `token.issued` (a person's
    under their email, the others under the actor they act as)."""
    token = new_token()
    record = unit.add_token(
        person=person,
        digest=token_digest(token),
        prefix=token_prefix(token),
        created_by=actor,
        now=now,
        expires_at=now + lifetime if lifetime else None,
        system=system,
        name=name,
        scim=scim,
    )
    unit.audit(
        now=now,
        actor=actor,
        action="token.issued",
        target=person or _actor(record),
        system=system,
        after={
            "token_id": record.id,
            "kind": record.kind,
            "prefix": record.prefix,
            "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        },
    )
    return IssuedToken(token, record)
