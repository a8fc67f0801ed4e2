"""The one store API: a Store opens units of work; a Unit reads and writes inside one transaction.

SQLite (default) and PostgreSQL run the same code. Writers serialise where they must: SQLite
write units begin IMMEDIATE, and audit appends on PostgreSQL take an advisory lock, so the hash
chain never forks between processes.

Change announcements (`Unit.notify`, `Store.listen`) ride on PostgreSQL LISTEN/NOTIFY, so every
server process hears them at commit; on SQLite they reach listeners of the same Store at commit,
and other processes find out by looking again when `Listener.wait` times out.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import ColumnElement, Engine, create_engine, event, func, or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from watchkeeper.audit import GENESIS, AuditEntry, AuditSeal, entry_hash
from watchkeeper.store._migrate import upgrade
from watchkeeper.store._records import (
    AckRecord,
    AuditHead,
    Deactivation,
    PersonRecord,
    SwitchRecord,
    SystemRecord,
    TeamRecord,
    TokenRecord,
)
from watchkeeper.store._rows import (
    AckRow,
    AuditHeadRow,
    AuditRow,
    PersonRow,
    SwitchRow,
    SystemRow,
    SystemVersionRow,
    TeamRow,
    TokenRow,
    per_system,
)

if TYPE_CHECKING:
    from watchkeeper.store._alerting import AlertingRepository
    from watchkeeper.store._care import CareRepository
    from watchkeeper.store._directory import DirectoryRepository
    from watchkeeper.store._ingest import IngestRepository
    from watchkeeper.store._monitoring import MonitoringRepository
    from watchkeeper.store._rehearsals import RehearsalRepository
    from watchkeeper.store._switch import SwitchProcessRepository

_AUDIT_LOCK = 0x5741_4144  # "WAAD"
_SWITCH_LOCK = 0x5753  # "WS", with the system's hash: one switch's moves take turns
_NOTIFY_KEY = "watchkeeper.notify"
_CHECKPOINT_KEY = "watchkeeper.audit_checkpoint"
log = logging.getLogger("watchkeeper.audit")
_CHANNEL_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class _Raced(Exception):
    """Another process compacted some of the same partials first."""


class StoreError(Exception):
    """The store layer's one error type: the database is unreachable or refused a write."""


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def create_store_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Listener(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until a change is announced (True) or `timeout` seconds pass (False)."""
        ...

    def close(self) -> None: ...


class _LocalListener:
    """Hears announcements made through the same Store object (SQLite: one process)."""

    def __init__(self, store: Store, channel: str) -> None:
        self._store, self._channel = store, channel
        self._event = threading.Event()

    def wake(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        heard = self._event.wait(timeout)
        self._event.clear()
        return heard

    def close(self) -> None:
        self._store._listeners.get(self._channel, set()).discard(self)


class _PgListener:
    """A dedicated autocommit connection doing LISTEN: hears commits from every process."""

    def __init__(self, url: str, channel: str) -> None:
        import psycopg

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {channel}")
        except psycopg.Error as exc:
            raise StoreError(f"cannot listen on {_safe(url)}: {exc}") from exc

    def wait(self, timeout: float) -> bool:
        import psycopg

        try:
            return any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
        except psycopg.Error as exc:
            raise StoreError(f"lost the notification connection: {exc}") from exc

    def close(self) -> None:
        self._conn.close()


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        self._listeners: dict[str, set[_LocalListener]] = {}
        self._listeners_lock = threading.Lock()
        self.seal = AuditSeal()

    def seal_audit(self, seal: AuditSeal) -> None:
        """Key the audit chain from now on and say where its checkpoints go (the application
        does this once, from the settings; a store left unsealed appends unkeyed entries)."""
        self.seal = seal

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect and, unless told not to, bring the schema to head (first use needs no step)."""
        try:
            engine = create_store_engine(url)
            if migrate:
                upgrade(engine)
        except Exception as exc:
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the store at {_safe(url)}: {exc}") from exc
        return cls(engine)

    @classmethod
    def open_existing(cls, url: str) -> Store | None:
        """`open`, for a caller that only reads: None when `url` is a SQLite file that does not
        exist, since a read must not leave an empty database in whatever directory it ran in.
        (A server database exists before any caller; opening it brings the schema to head, as
        on any first use.)"""
        return None if _missing_sqlite_file(url) else cls.open(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Unit]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield Unit(session, self.seal)

    @contextmanager
    def write(self) -> Iterator[Unit]:
        with Session(self._writer, expire_on_commit=False) as session:
            with session.begin():
                yield Unit(session, self.seal)
            head = session.info.pop(_CHECKPOINT_KEY, None)
            if head is not None:
                self._checkpoint(*head)
            for channel in session.info.pop(_NOTIFY_KEY, ()):
                with self._listeners_lock:
                    listeners = list(self._listeners.get(channel, ()))
                for listener in listeners:
                    listener.wake()

    def compact_partials(
        self, system: str, merged: Sequence[tuple[list[int], Any]], now: datetime
    ) -> bool:
        """Replace groups of window partials by their merges in a write unit of its own, rolled
        back whole if another process got to any of the same partials first (then they are
        merged already: nothing is lost or counted twice). Returns whether this one did it."""
        if not merged:
            return True
        try:
            with self.write() as unit:
                if not unit.ingest.compact_partials(system, merged, now):
                    raise _Raced
        except _Raced:
            return False
        return True

    def _checkpoint(self, seq: int, head: str) -> None:
        """Sign the committed head into the file outside the database. Only after the commit:
        a checkpoint for an append that was rolled back would later read as a truncation. A
        failure to write is logged, not raised: the change is committed, and a lagging
        checkpoint only narrows what truncation can be detected."""
        path = self.seal.checkpoints
        if path is None or self.seal.key is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="ascii") as file:
                file.write(self.seal.checkpoint_line(seq, head))
        except OSError as exc:
            log.error("cannot append the audit checkpoint for entry %s to %s: %s", seq, path, exc)

    def listen(self, channel: str) -> Listener:
        """Hear `Unit.notify(channel)` announcements from every writer that can reach us."""
        if not _CHANNEL_RE.match(channel):
            raise ValueError(f"{channel!r} is not a valid channel name")
        if self.dialect == "postgresql":
            return _PgListener(self.engine.url.render_as_string(hide_password=False), channel)
        listener = _LocalListener(self, channel)
        with self._listeners_lock:
            self._listeners.setdefault(channel, set()).add(listener)
        return listener


def _missing_sqlite_file(url: str) -> bool:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False  # not ours to judge here: opening it says what is wrong
    database = parsed.database
    return (
        parsed.get_backend_name() == "sqlite"
        and database not in (None, "", ":memory:")
        and not Path(database).exists()
    )


def _safe(url: str) -> str:
    """The URL without its password; a URL SQLAlchemy cannot parse is not echoed at all."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the configured URL (not a database URL)"


class Unit:
    """One transaction's worth of reads and writes. Methods return plain records.

    The core's tables (people, systems, acknowledgements, switches, tokens, audit) are read here;
    each stage's through its repository, which imports (and so maps) that stage's tables when a
    unit first asks for it: `wk kill`, `wk status` and the gate never map the twenty-odd tables
    of observations, alerts and care records they do not read."""

    def __init__(self, session: Session, seal: AuditSeal | None = None) -> None:
        self.session = session
        self._dialect = session.get_bind().dialect.name
        self._seal = seal or AuditSeal()

    @cached_property
    def ingest(self) -> IngestRepository:
        from watchkeeper.store._ingest import IngestRepository

        return IngestRepository(self.session)

    @cached_property
    def monitoring(self) -> MonitoringRepository:
        from watchkeeper.store._monitoring import MonitoringRepository

        return MonitoringRepository(self.session)

    @cached_property
    def alerting(self) -> AlertingRepository:
        from watchkeeper.store._alerting import AlertingRepository

        return AlertingRepository(self.session)

    @cached_property
    def care(self) -> CareRepository:
        from watchkeeper.store._care import CareRepository

        return CareRepository(self.session)

    @cached_property
    def rehearsals(self) -> RehearsalRepository:
        from watchkeeper.store._rehearsals import RehearsalRepository

        return RehearsalRepository(self.session)

    @cached_property
    def directory(self) -> DirectoryRepository:
        from watchkeeper.store._directory import DirectoryRepository

        return DirectoryRepository(self.session)

    @cached_property
    def switch_processes(self) -> SwitchProcessRepository:
        from watchkeeper.store._switch import SwitchProcessRepository

        return SwitchProcessRepository(self.session)

    def notify(self, channel: str, payload: str = "") -> None:
        """Announce a change on `channel`; listeners hear it only once this unit commits."""
        if self._dialect == "postgresql":
            self.session.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})
        else:
            self.session.info.setdefault(_NOTIFY_KEY, set()).add(channel)

    # --- people and teams ------------------------------------------------------------------

    def person(self, email: str) -> PersonRecord | None:
        row = self.session.get(PersonRow, email)
        return _person(row) if row else None

    def people(self) -> list[PersonRecord]:
        rows = self.session.scalars(select(PersonRow).order_by(PersonRow.email))
        return [_person(r) for r in rows]

    def save_person(self, person: PersonRecord, now: datetime) -> None:
        row = self.session.get(PersonRow, person.email) or PersonRow(email=person.email)
        if person.active:
            row.left_at = None
        elif row.active:  # active until now (a new row is None: when they left is unknown)
            row.left_at = now
        row.name, row.active, row.admin = person.name, person.active, person.admin
        row.channels, row.updated_at = list(person.channels), now
        row.slack, row.pagerduty = person.slack, person.pagerduty
        self.session.add(row)
        if not person.active:  # however they left, their dashboard sessions end with it
            self.alerting.end_sessions(person.email)

    def deactivation(self, email: str) -> Deactivation | None:
        row = self.session.get(PersonRow, email)
        if row is None or row.deactivated_at is None:
            return None
        return Deactivation(row.deactivated_at, row.deactivated_by or "")

    def set_deactivation(self, email: str, deactivation: Deactivation | None) -> None:
        """Record (or, with None, lift) a deliberate deactivation of a stored person."""
        row = self.session.get(PersonRow, email)
        if row is None:
            raise ValueError(f"no person {email}")
        row.deactivated_at = deactivation.at if deactivation else None
        row.deactivated_by = deactivation.by if deactivation else None

    def teams(self) -> list[TeamRecord]:
        rows = self.session.scalars(select(TeamRow).order_by(TeamRow.name))
        return [TeamRecord(r.name, list(r.members)) for r in rows]

    def save_team(self, team: TeamRecord, now: datetime) -> None:
        row = self.session.get(TeamRow, team.name) or TeamRow(name=team.name)
        row.members, row.updated_at = list(team.members), now
        self.session.add(row)

    # --- systems ---------------------------------------------------------------------------

    def system(self, name: str) -> SystemRecord | None:
        row = self.session.get(SystemRow, name)
        return _system(row) if row else None

    def systems(self) -> list[SystemRecord]:
        rows = self.session.scalars(select(SystemRow).order_by(SystemRow.name))
        return [_system(r) for r in rows]

    def save_system(
        self,
        manifest: dict[str, Any],
        *,
        digest: str,
        actor: str,
        now: datetime,
        live_since: datetime | None,
    ) -> int:
        """Store a new version of a system's manifest; returns the version number."""
        name = manifest["metadata"]["name"]
        row = self.session.get(SystemRow, name)
        version = (row.version + 1) if row else 1
        row = row or SystemRow(name=name)
        row.title = manifest["metadata"].get("title", "")
        row.tier = manifest["metadata"]["tier"]
        row.lifecycle = manifest["spec"]["lifecycle"]
        row.version, row.manifest, row.digest = version, manifest, digest
        row.applied_at, row.applied_by, row.live_since = now, actor, live_since
        self.session.add(row)
        self.session.add(
            SystemVersionRow(
                system=name,
                version=version,
                manifest=manifest,
                digest=digest,
                applied_at=now,
                applied_by=actor,
            )
        )
        return version

    def system_versions(self, name: str) -> list[SystemRecord]:
        rows = self.session.scalars(
            select(SystemVersionRow)
            .where(SystemVersionRow.system == name)
            .order_by(SystemVersionRow.version)
        )
        return [
            SystemRecord(
                r.system, r.version, r.manifest, r.digest, r.applied_at, r.applied_by, None
            )
            for r in rows
        ]

    # --- acknowledgements ------------------------------------------------------------------

    def acks(self, system: str | None = None) -> list[AckRecord]:
        """Acknowledgements in force (not voided), newest last."""
        return self._acks(*([] if system is None else [AckRow.system == system]))

    def acks_by_system(self, systems: Sequence[str]) -> dict[str, list[AckRecord]]:
        """`acks` of many systems in one query."""
        acks = self._acks(AckRow.system.in_(list(systems)))
        return per_system(systems, ((ack.system, ack) for ack in acks))

    def _acks(self, *where: ColumnElement[bool]) -> list[AckRecord]:
        """Columns, not mapped rows: a portfolio page reads every acknowledgement twice (the
        vacuum report and the roles), and building ORM objects for them was half the cost."""
        query = select(
            AckRow.system, AckRow.role, AckRow.holder, AckRow.acked_by, AckRow.acked_at
        ).where(AckRow.voided_at.is_(None), *where)
        rows = self.session.execute(query.order_by(AckRow.acked_at, AckRow.id))
        return [AckRecord(*row) for row in rows]

    def add_ack(self, ack: AckRecord) -> None:
        self.void_acks(ack.system, ack.role, ack.holder, now=ack.acked_at, reason="renewed")
        self.session.add(
            AckRow(
                system=ack.system,
                role=ack.role,
                holder=ack.holder,
                acked_by=ack.acked_by,
                acked_at=ack.acked_at,
            )
        )

    def void_acks(self, system: str, role: str, holder: str, *, now: datetime, reason: str) -> int:
        result = self.session.execute(
            update(AckRow)
            .where(
                AckRow.system == system,
                AckRow.role == role,
                AckRow.holder == holder,
                AckRow.voided_at.is_(None),
            )
            .values(voided_at=now, void_reason=reason)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # --- kill switches and API tokens -------------------------------------------------------

    def switch(self, system: str) -> SwitchRecord | None:
        row = self.session.get(SwitchRow, system)
        return _switch(row) if row else None

    def switches(self) -> list[SwitchRecord]:
        return [_switch(r) for r in self.session.scalars(select(SwitchRow))]

    def lock_switch(self, system: str) -> None:
        """Hold `system`'s switch until this unit ends: a flip and a drill each read the version
        and write the next, and on PostgreSQL two at once would both write the same next
        version (SQLite's write units already take turns)."""
        if self._dialect == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:k, hashtext(:s))"),
                {"k": _SWITCH_LOCK, "s": system},
            )

    def save_switch(self, switch: SwitchRecord) -> None:
        if switch.changed_by is None or switch.changed_at is None:
            raise ValueError("a stored switch says who flipped it and when")
        row = self.session.get(SwitchRow, switch.system) or SwitchRow(system=switch.system)
        row.state, row.version, row.reason = switch.state, switch.version, switch.reason
        row.changed_by, row.changed_at = switch.changed_by, switch.changed_at
        self.session.add(row)

    def add_token(
        self,
        *,
        person: str | None,
        digest: str,
        prefix: str,
        created_by: str,
        now: datetime,
        expires_at: datetime | None = None,
        system: str | None = None,
        name: str | None = None,
        scim: bool = False,
    ) -> TokenRecord:
        """A person's token, or with `system` (and no person) a service token, or with `scim`
        (and neither) a SCIM provisioning token."""
        if scim and (person is not None or system is not None):
            raise ValueError("a SCIM token acts as no person and serves no system")
        if not scim and (person is None) == (system is None):
            raise ValueError("a token acts as a person or serves a system, one of the two")
        row = TokenRow(
            person=person,
            digest=digest,
            prefix=prefix,
            created_at=now,
            created_by=created_by,
            expires_at=expires_at,
            kind="scim" if scim else "person" if system is None else "service",
            system=system,
            name=name,
        )
        self.session.add(row)
        self.session.flush()
        return _token(row)

    def token_grant(self, digest: str) -> tuple[TokenRecord, PersonRecord | None] | None:
        """An API token (by digest) and the person it acts as (none for a service token): one
        indexed read."""
        found = self.session.execute(
            select(TokenRow, PersonRow)
            .outerjoin(PersonRow, TokenRow.person == PersonRow.email)
            .where(TokenRow.digest == digest)
        ).first()
        if found is None:
            return None
        return _token(found[0]), _person(found[1]) if found[1] is not None else None

    def token_holder(self, digest: str, now: datetime) -> PersonRecord | None:
        """The person a token acts as, if the token is neither revoked nor expired at `now`;
        a service token acts as nobody."""
        grant = self.token_grant(digest)
        if grant is None or grant[0].status(now) != "active":
            return None
        return grant[1]

    def token_used(self, token_id: int, now: datetime, grain: timedelta) -> None:
        """Note that the token was used at `now`, unless it was already within `grain` of it:
        a token polled by a thousand processes is written at most once per grain."""
        self.session.execute(
            update(TokenRow)
            .where(
                TokenRow.id == token_id,
                or_(TokenRow.last_used_at.is_(None), TokenRow.last_used_at <= now - grain),
            )
            .values(last_used_at=now)
        )

    def tokens(self, person: str | None = None, system: str | None = None) -> list[TokenRecord]:
        """Every token; one person's; or one system's service tokens."""
        query = select(TokenRow).order_by(TokenRow.id)
        if person is not None:
            query = query.where(TokenRow.person == person)
        if system is not None:
            query = query.where(TokenRow.system == system)
        return [_token(r) for r in self.session.scalars(query)]

    def tokens_by_prefix(self, prefix: str) -> list[TokenRecord]:
        rows = self.session.scalars(select(TokenRow).where(TokenRow.prefix == prefix))
        return [_token(r) for r in rows]

    def token(self, token_id: int) -> TokenRecord | None:
        row = self.session.get(TokenRow, token_id)
        return _token(row) if row else None

    def revoke_token(self, token_id: int, *, by: str, now: datetime) -> TokenRecord:
        row = self.session.get(TokenRow, token_id)
        if row is None:
            raise ValueError(f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = now, by
        self.session.flush()
        return _token(row)

    # --- audit -----------------------------------------------------------------------------

    def audit(
        self,
        *,
        now: datetime,
        actor: str,
        action: str,
        target: str,
        system: str | None = None,
        before: Any = None,
        after: Any = None,
        reason: str | None = None,
    ) -> AuditEntry:
        """Append an entry linked to the chain's head (not to the last row left: a deleted tail
        stays a visible gap). The seq is assigned here, so a rolled-back append leaves no hole."""
        if self._dialect == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK})
        head = self.session.get(AuditHeadRow, 1)
        prev, seq = (head.hash, head.seq + 1) if head else (GENESIS, 1)
        key = self._seal.key
        fields = dict(
            at=now,
            actor=actor,
            action=action,
            target=target,
            system=system,
            before=before,
            after=after,
            reason=reason,
        )
        row = AuditRow(
            **fields,
            seq=seq,
            prev_hash=prev,
            hash=entry_hash(prev, key=key, **fields),
            keyed=key is not None,
        )
        head = head or AuditHeadRow(id=1)
        head.seq, head.hash = seq, row.hash
        self.session.add_all([row, head])
        self.session.flush()
        self.session.info[_CHECKPOINT_KEY] = (seq, row.hash)
        return _audit(row)

    def audit_head(self) -> AuditHead | None:
        head = self.session.get(AuditHeadRow, 1)
        return AuditHead(head.seq, head.hash) if head else None

    def audit_entries(
        self, *, system: str | None = None, since: datetime | None = None
    ) -> list[AuditEntry]:
        query = select(AuditRow)
        if system is not None:
            query = query.where(AuditRow.system == system)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        return [_audit(r) for r in self.session.scalars(query.order_by(AuditRow.seq))]

    def audit_range(self, first: int, last: int) -> list[AuditEntry]:
        """Entries `first`..`last` of the whole chain, every system's: a stretch of the chain
        can be checked only whole."""
        query = select(AuditRow).where(AuditRow.seq >= first, AuditRow.seq <= last)
        return [_audit(r) for r in self.session.scalars(query.order_by(AuditRow.seq))]

    def actors_since(
        self, systems: Sequence[str], since: datetime, actions: Collection[str]
    ) -> dict[str, set[str]]:
        """Who took one of `actions` on each system since `since` (for the bus factor): the
        distinct pairs only, so the audit entries' documents are never loaded."""
        rows = self.session.execute(
            select(AuditRow.system, AuditRow.actor)
            .where(
                AuditRow.system.in_(list(systems)),
                AuditRow.at >= since,
                AuditRow.action.in_(sorted(actions)),
            )
            .group_by(AuditRow.system, AuditRow.actor)
        )
        pairs = [(system, actor) for system, actor in rows if system is not None]
        return {name: set(actors) for name, actors in per_system(systems, pairs).items()}

    def count(self, table: str) -> int:
        model = {"audit_log": AuditRow, "systems": SystemRow, "people": PersonRow}[table]
        return int(self.session.scalar(select(func.count()).select_from(model)) or 0)


def _person(row: PersonRow) -> PersonRecord:
    return PersonRecord(
        row.email,
        row.name,
        row.active,
        row.admin,
        list(row.channels or []),
        row.left_at,
        row.slack,
        row.pagerduty,
    )


def _system(row: SystemRow) -> SystemRecord:
    return SystemRecord(
        row.name,
        row.version,
        row.manifest,
        row.digest,
        row.applied_at,
        row.applied_by,
        row.live_since,
    )


def _switch(row: SwitchRow) -> SwitchRecord:
    return SwitchRecord(
        row.system, row.state, row.version, row.reason, row.changed_by, row.changed_at
    )


_TOKEN_KINDS: dict[str, Literal["person", "service", "scim"]] = {
    "service": "service",
    "scim": "scim",
}


def _token(row: TokenRow) -> TokenRecord:
    return TokenRecord(
        row.id,
        row.person,
        row.prefix,
        row.created_at,
        row.created_by,
        row.expires_at,
        row.revoked_at,
        row.revoked_by,
        _TOKEN_KINDS.get(row.kind, "person"),
        row.system,
        row.name,
        row.last_used_at,
    )


def _audit(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.target,
        row.system,
        row.before,
        row.after,
        row.reason,
        row.prev_hash,
        row.hash,
        bool(row.keyed),
    )
