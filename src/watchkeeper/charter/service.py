"""The charter's shell: reads the store, calls the pure rubrics, writes changes with audit entries.

Every method takes `now` and the acting person; nothing here reads a clock or the environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from watchkeeper.access import Directory, directory_of, holding_roles
from watchkeeper.charter import gate, vacuum
from watchkeeper.charter._digest import manifest_digest
from watchkeeper.charter._evidence import Applied, gather
from watchkeeper.charter.roles import (
    Assignment,
    assignments,
    declared,
    person_record,
    vacancy,
    vacant_roles,
    voided_by_change,
)
from watchkeeper.errors import ActionError
from watchkeeper.manifest import ROLES, Loaded, SystemManifest
from watchkeeper.store import (
    AckRecord,
    Deactivation,
    PersonRecord,
    Store,
    SystemRecord,
    TeamRecord,
    Unit,
    manifest_of,
)

if TYPE_CHECKING:  # alerting (and its HTTP client) loads only when a notice is made
    from watchkeeper.alerting.outbox import Notice, Outbox


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str  # created | updated | unchanged
    details: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "details": self.details,
        }


@dataclass(frozen=True)
class Unreadable:
    """A stored manifest this code no longer validates (a rule tightened since it was applied,
    such as a regex RE2 cannot run). It is that system's own problem: reports show it beside
    the others, with what the stored document still says about it."""

    record: SystemRecord
    reason: str

    @property
    def title(self) -> str | None:
        return _stored(self.record.manifest, "metadata", "title")

    @property
    def tier(self) -> str:
        return _stored(self.record.manifest, "metadata", "tier") or "unknown"

    @property
    def lifecycle(self) -> str:
        return _stored(self.record.manifest, "spec", "lifecycle") or "unknown"

    @property
    def owner(self) -> str | None:
        return _stored(self.record.manifest, "spec", "charter", "owner")


def read_applied(records: Iterable[SystemRecord]) -> tuple[list[Applied], list[Unreadable]]:
    """Each stored manifest validated once: those this code reads, and those it cannot."""
    applied: list[Applied] = []
    unreadable: list[Unreadable] = []
    for record in records:
        try:
            applied.append((record, manifest_of(record)))
        except ValidationError as exc:
            unreadable.append(Unreadable(record, _reason(exc)))
    return applied, unreadable


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )


def _stored(document: Any, *path: str) -> str | None:
    """A text the stored document holds at `path`, if it holds one there."""
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document if isinstance(document, str) else None


def vacuum_report(
    unit: Unit,
    systems: Sequence[Applied],
    directory: Directory,
    now: datetime,
    unreadable: Sequence[Unreadable] = (),
) -> list[vacuum.SystemVacuum]:
    """The vacuum report's lines: first the `unreadable` systems' (each with its critical
    gap), then those of `systems` (retired ones have none: nobody owes them care), in their
    order. Callers pass manifests they validated already, so a page that also shows the
    systems validates each once; the evidence is read for all of them together."""
    judged = [
        (record, manifest) for record, manifest in systems if manifest.spec.lifecycle != "retired"
    ]
    evidence = gather(unit, judged, now)
    broken = [vacuum.unreadable(u.record.name, u.lifecycle, u.owner, u.reason) for u in unreadable]
    return broken + [
        vacuum.assess(manifest, directory, evidence[record.name], now)
        for record, manifest in judged
    ]


def system_vacuum(
    unit: Unit, record: SystemRecord, manifest: SystemManifest, directory: Directory, now: datetime
) -> vacuum.SystemVacuum | None:
    """One system's line of the vacuum report, exactly as the whole report has it (the same
    reads, filtered to it); None for a retired system, which the report leaves out."""
    return next(iter(vacuum_report(unit, [(record, manifest)], directory, now)), None)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable field changes, e.g. `spec.charter.owner: ana@x -> ben@x`."""
    old, new = _flatten(before), _flatten(after)
    lines = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    return lines


def _short(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


class CharterService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # --- reading manifests against what the store knows -----------------------------------

    def load(self, paths: Iterable[str]) -> Loaded:
        with self.store.read() as unit:
            people = [p.email for p in unit.people()]
            teams = [t.name for t in unit.teams()]
        from watchkeeper.manifest import load_paths  # the YAML reader, only when reading files

        return load_paths(paths, known_people=people, known_teams=teams)

    def gate(self, loaded: Loaded, now: datetime) -> list[gate.GateReport]:
        with self.store.read() as unit:
            directory = declared(loaded, directory_of(unit))
            acks = {system.name: unit.acks(system.name) for system in loaded.systems}
            rehearsals = {
                system.name: unit.rehearsals.of(system.name, scenario="quality-drop", limit=50)
                for system in loaded.systems
            }
        return gate.evaluate_all(loaded, directory, acks, now, rehearsals)

    # --- changes ----------------------------------------------------------------------------

    def apply(
        self, loaded: Loaded, actor: str, now: datetime, justification: str | None = None
    ) -> list[Change]:
        """All or nothing. A system under a serious incident's evidence hold (EU AI Act
        Art. 73(6)) changes only with a `justification`, recorded on the incident."""
        changes: list[Change] = []
        with self.store.write() as unit:
            for person in loaded.people:
                changes.append(self._apply_person(unit, person_record(person), actor, now))
            for team in loaded.teams:
                changes.append(self._apply_team(unit, team.name, list(team.members), actor, now))
            for system in loaded.systems:
                changes.append(self._apply_system(unit, system, actor, now, justification))
        return changes

    def _apply_person(self, unit: Unit, person: PersonRecord, actor: str, now: datetime) -> Change:
        old = unit.person(person.email)
        kept = _kept_out(person, unit.deactivation(person.email))
        if kept is not None:
            person = replace(person, active=False)
        if old is not None:  # when someone left is the store's record, not the file's to say
            person = replace(person, left_at=old.left_at)
        if old == person:
            return Change("person", person.email, "unchanged", [kept] if kept else [])
        before = _person_dict(old) if old else None
        unit.save_person(person, now)
        unit.audit(
            now=now,
            actor=actor,
            action="person.updated" if old else "person.created",
            target=person.email,
            before=before,
            after=_person_dict(person),
        )
        details = diff(before or {}, _person_dict(person)) if old else []
        if old and old.active and not person.active:
            details.append(self._vacated_note(unit, person.email))
        if kept is not None:
            details.append(kept)
        return Change("person", person.email, "updated" if old else "created", details)

    def _apply_team(
        self, unit: Unit, name: str, members: list[str], actor: str, now: datetime
    ) -> Change:
        old = next((t for t in unit.teams() if t.name == name), None)
        if old and old.members == members:
            return Change("team", name, "unchanged")
        unit.save_team(TeamRecord(name, members), now)
        unit.audit(
            now=now,
            actor=actor,
            action="team.updated" if old else "team.created",
            target=name,
            before={"members": old.members} if old else None,
            after={"members": members},
        )
        return Change("team", name, "updated" if old else "created")

    def _apply_system(
        self,
        unit: Unit,
        system: SystemManifest,
        actor: str,
        now: datetime,
        justification: str | None,
    ) -> Change:
        document = system.model_dump(mode="json", by_alias=True)
        digest = manifest_digest(system)
        old = unit.system(system.name)
        if old and old.digest == digest:
            return Change("system", system.name, "unchanged")
        details = diff(old.manifest, document) if old else []
        old_charter = manifest_of(old).spec.charter if old else None
        for role, holder in voided_by_change(old_charter, system.spec.charter):
            if unit.void_acks(system.name, role, holder, now=now, reason="role reassigned"):
                details.append(f"acknowledgement of {role} by {holder} voided (reassigned)")
        live_since = old.live_since if old else None
        if system.spec.lifecycle == "live" and live_since is None:
            live_since = now
        version = unit.save_system(
            document, digest=digest, actor=actor, now=now, live_since=live_since
        )
        unit.audit(
            now=now,
            actor=actor,
            action="system.applied",
            target=system.name,
            system=system.name,
            before={"version": old.version, "digest": old.digest} if old else None,
            after={"version": version, "digest": digest, "changes": details},
        )
        if old is not None:  # only an applied system can have incidents holding it
            # alerting (and its HTTP client) only here: status, vacuum and gate never load it
            from watchkeeper.alerting.serious import change_under_hold

            what = f"manifest version {version} applied: " + "; ".join(details[:10])
            held = change_under_hold(unit, system.name, "apply", what, justification, actor, now)
            details = details + [f"change #{n} under a serious incident's hold" for n in held]
        return Change("system", system.name, "updated" if old else "created", details)

    def acknowledge(self, system: str, role: str, actor: str, now: datetime) -> list[Assignment]:
        """Record that `actor` accepts `role` (or `all` the roles they hold) on `system`."""
        if role not in (*ROLES, "all"):
            raise ActionError(
                "invalid", f"unknown role {role!r}; one of: {', '.join(ROLES)}, or all"
            )
        with self.store.write() as unit:
            record = self._system(unit, system)
            charter = manifest_of(record).spec.charter
            directory = directory_of(unit)
            person = unit.person(actor)
            if person is None or not person.active:
                raise ActionError(
                    "forbidden", f"{actor} is not an active person in the store; apply People first"
                )
            mine = [
                (r, h) for r, h in holding_roles(charter, directory, actor) if role in (r, "all")
            ]
            if not mine:
                holders = ", ".join(charter.holders(role)) or "nobody"
                raise ActionError(
                    "forbidden",
                    f"{actor} does not hold {role} on {system} (held by {holders}); only a "
                    "holder can acknowledge a role",
                )
            for held_role, holder in mine:
                unit.add_ack(AckRecord(system, held_role, holder, actor, now))
                unit.audit(
                    now=now,
                    actor=actor,
                    action="role.acknowledged",
                    target=f"{system}/{held_role}",
                    system=system,
                    after={"role": held_role, "holder": holder},
                )
            acked = set(mine)
            return [
                a
                for a in assignments(charter, directory, unit.acks(system), now)
                if (a.role, a.holder) in acked
            ]

    def deactivate(
        self, email: str, actor: str, now: datetime, outbox: Outbox | None = None
    ) -> Change:
        """A deliberate deactivation: it holds until `reactivate`, whatever people.yaml says.
        With an `outbox` (sent by the caller once this commits), each system where a role fell
        vacant gets a notice to its owner, or to the admins when nobody active owns it."""
        with self.store.write() as unit:
            person = self._person(unit, email)
            if unit.deactivation(person.email) is None:
                unit.set_deactivation(person.email, Deactivation(now, actor))
            if not person.active:
                return Change("person", person.email, "unchanged", ["already inactive"])
            before = directory_of(unit)
            change = self._apply_person(unit, replace(person, active=False), actor, now)
            if outbox is not None:
                applied, _ = read_applied(unit.systems())
                after = directory_of(unit)
                outbox.notices.extend(vacated_notices(person.email, actor, applied, before, after))
            return change

    def provision(
        self,
        actor: str,
        now: datetime,
        mark: Callable[[Unit], None],
        *,
        person: PersonRecord | None = None,
        team: TeamRecord | None = None,
    ) -> Change:
        """A person or a team as an identity provider sends them (SCIM), saved and audited as
        people.yaml's are — a deliberate deactivation still holds — with `mark` recording, in
        the same unit, what the provider knows them by."""
        with self.store.write() as unit:
            if person is not None:
                change = self._apply_person(unit, person, actor, now)
            elif team is not None:
                change = self._apply_team(unit, team.name, list(team.members), actor, now)
            else:
                raise ValueError("provision a person or a team")
            mark(unit)
            return change

    def reactivate(self, email: str, actor: str, now: datetime) -> Change:
        """The one way back from `deactivate`: the person (and their unrevoked tokens) act again."""
        with self.store.write() as unit:
            person = self._person(unit, email)
            if person.active and unit.deactivation(person.email) is None:
                return Change("person", person.email, "unchanged", ["already active"])
            unit.set_deactivation(person.email, None)
            unit.save_person(replace(person, active=True), now)
            unit.audit(
                now=now,
                actor=actor,
                action="person.reactivated",
                target=person.email,
                before=_person_dict(person),
                after=_person_dict(replace(person, active=True)),
            )
            return Change("person", person.email, "updated", ["active: False -> True"])

    @staticmethod
    def _person(unit: Unit, email: str) -> PersonRecord:
        person = unit.person(email.strip().lower())
        if person is None:
            raise ActionError("not_found", f"no person {email} in the store")
        return person

    def _vacated_note(self, unit: Unit, email: str) -> str:
        held = [
            f"{record.name}:{role}"
            for record in unit.systems()
            for role in ROLES
            if email in manifest_of(record).spec.charter.holders(role)
        ]
        return f"now vacant: {', '.join(held)}" if held else "held no roles"

    # --- reports ----------------------------------------------------------------------------

    def status(self, now: datetime, system: str | None = None) -> list[dict[str, Any]]:
        """Each system's charter and what is missing; a system whose stored manifest this code
        cannot read shows that as what is missing, and the others show as ever."""
        with self.store.read() as unit:
            records = [self._system(unit, system)] if system else unit.systems()
            directory = directory_of(unit)
            applied, unreadable = read_applied(records)
            result = [
                _status_row(
                    u.record,
                    u.title,
                    u.tier,
                    u.lifecycle,
                    [],
                    [f"manifest: {vacuum.unreadable_detail(u.reason)}"],
                )
                for u in unreadable
            ]
            for record, manifest in applied:
                charter = manifest.spec.charter
                states = assignments(charter, directory, unit.acks(record.name), now)
                missing = [
                    f"vacant: {vacancy(charter, r, directory)}"
                    for r in vacant_roles(charter, directory)
                ]
                missing += [
                    f"{a.role}: {a.holder} {a.ack}"
                    for a in states
                    if a.active and a.ack != "acknowledged"
                ]
                missing += [f"{a.role}: {a.holder} inactive" for a in states if not a.active]
                meta = manifest.metadata
                result.append(
                    _status_row(
                        record, meta.title, meta.tier, manifest.spec.lifecycle, states, missing
                    )
                )
            return result

    def vacuum(self, now: datetime) -> list[vacuum.SystemVacuum]:
        with self.store.read() as unit:
            applied, unreadable = read_applied(unit.systems())
            return vacuum_report(unit, applied, directory_of(unit), now, unreadable)

    @staticmethod
    def _system(unit: Unit, name: str) -> SystemRecord:
        record = unit.system(name)
        if record is None:
            known = ", ".join(r.name for r in unit.systems()) or "none applied yet"
            raise ActionError("not_found", f"no system {name!r} (known: {known})")
        return record


def vacated_notices(
    email: str, actor: str, applied: Sequence[Applied], before: Directory, after: Directory
) -> list[Notice]:
    """What each system whose roles `email` leaving made vacant tells: its owner, or — when the
    owner was the one who left, or nobody active owns it — the admins, who must fill it."""
    from watchkeeper.alerting.notifiers import Message
    from watchkeeper.alerting.outbox import Notice

    admins = sorted(p.email for p in after.people.values() if p.active and p.admin)
    notices: list[Notice] = []
    for record, manifest in applied:
        charter = manifest.spec.charter
        was_vacant = set(vacant_roles(charter, before))
        vacated = [r for r in vacant_roles(charter, after) if r not in was_vacant]
        if not vacated:
            continue
        owners = [o for o in charter.holders("owner") if after.is_active(o)]
        body = (
            f"{after.display(email)} was deactivated by {actor}. On {record.name} these roles "
            f"are now vacant: {', '.join(vacancy(charter, r, after) for r in vacated)}.\n\n"
            f"Name someone in spec.charter of {record.name}'s manifest and apply it; until then "
            "`wk vacuum` lists the vacancy."
        )
        title = f"{record.name}: {', '.join(vacated)} vacant ({email} left)"
        message = Message("notice", record.name, title, "warning", body, "")
        notices.append(Notice(message, owners or admins, None, "vacancy"))
    return notices


def _status_row(
    record: SystemRecord,
    title: str | None,
    tier: str,
    lifecycle: str,
    states: Sequence[Assignment],
    missing: list[str],
) -> dict[str, Any]:
    return {
        "system": record.name,
        "title": title,
        "tier": tier,
        "lifecycle": lifecycle,
        "version": record.version,
        "applied_at": record.applied_at.isoformat(),
        "applied_by": record.applied_by,
        "live_since": record.live_since.isoformat() if record.live_since else None,
        "assignments": [a.to_dict() for a in states],
        "missing": missing,
    }


def _kept_out(person: PersonRecord, deactivation: Deactivation | None) -> str | None:
    """Why a person listed as active stays inactive: a deliberate deactivation outranks the
    file (else re-applying an old people.yaml would silently let someone who left back in)."""
    if deactivation is None or not person.active:
        return None
    return (
        f"not reactivated: deactivated by {deactivation.by} at {deactivation.at.isoformat()} "
        f"with `wk people deactivate`; only `wk people reactivate {person.email}` (an admin) "
        "reverses that"
    )


def _person_dict(person: PersonRecord) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "active": person.active,
        "admin": person.admin,
        "channels": person.channels,
        "slack": person.slack,
        "pagerduty": person.pagerduty,
    }
