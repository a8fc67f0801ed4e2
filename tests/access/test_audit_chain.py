"""The audit trail holds: changing or deleting any row makes `wk audit verify` fail at that row."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from tests.server._world import ROLES, SYSTEM, build_world
from watchkeeper.access import audit_seal, verify_log
from watchkeeper.app import Watchkeeper, build
from watchkeeper.audit import GENESIS, AuditEntry, entry_hash
from watchkeeper.clock import FixedClock
from watchkeeper.errors import ActionError
from watchkeeper.settings import Settings
from watchkeeper.store import AuditHead, Store
from watchkeeper.store._tables import AuditHeadRow, AuditRow
from watchkeeper.testing import T0


@pytest.fixture
def trail(app: Watchkeeper, tmp_path: Path) -> Watchkeeper:
    """Every kind of entry: people, team, system, tokens, a flip, a refusal, a deactivation."""
    build_world(app, tmp_path / "org")
    now = app.clock.now()
    app.switch.set(SYSTEM, "disabled", "harmful answers", ROLES["kill_authority"], now)
    with pytest.raises(ActionError):
        app.switch.set(SYSTEM, "enabled", "let me", ROLES["unrelated"], now)
    return app


def rows(app: Watchkeeper) -> list[dict[str, Any]]:
    with app.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(AuditRow.__table__))]


def verify(wk: Any) -> tuple[int, dict[str, Any]]:
    code, out, _ = wk("audit", "verify", "--json")
    return code, json.loads(out)


def test_an_intact_trail_verifies(trail: Watchkeeper, wk: Any) -> None:
    """Without a secret the chain still holds, but the report says it is integrity only."""
    code, result = verify(wk)
    assert (code, result["ok"], result["checked"]) == (0, True, len(rows(trail)))
    assert result["state"] == "unkeyed"
    code, out, _ = wk("audit", "verify")
    assert code == 0 and "UNKEYED" in out and "integrity only" in out


def test_changing_any_row_fails_at_that_row(trail: Watchkeeper, wk: Any) -> None:
    table = AuditRow.__table__
    columns = ["actor", "reason", "target", "after", "at", "hash", "prev_hash"]
    for i, row in enumerate(rows(trail)):
        column = columns[i % len(columns)]
        forged = {
            "actor": "mallory@corp.example",
            "reason": "nothing to see",
            "target": "elsewhere",
            "after": {"forged": True},
            "at": row["at"] + timedelta(seconds=1),
            "hash": "f" * 64,
            "prev_hash": "e" * 64,
        }[column]
        with trail.store.engine.begin() as conn:
            conn.execute(update(table).where(table.c.seq == row["seq"]).values({column: forged}))
        code, result = verify(wk)
        assert (code, result["ok"], result["broken_at"]) == (1, False, row["seq"]), column
        with trail.store.engine.begin() as conn:
            conn.execute(update(table).where(table.c.seq == row["seq"]).values(row))
    assert verify(wk)[1]["ok"]


def test_deleting_any_row_fails_naming_that_row(trail: Watchkeeper, wk: Any) -> None:
    table = AuditRow.__table__
    every = rows(trail)
    for row in every:
        with trail.store.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.seq == row["seq"]))
        code, result = verify(wk)
        assert (code, result["ok"]) == (1, False)
        seq = row["seq"]
        assert f"{seq}..{seq} are missing" in result["reason"]
        # the entry after a hole is where the chain visibly breaks; a lost tail is named itself
        assert result["broken_at"] == (seq + 1 if seq < len(every) else seq)
        with trail.store.engine.begin() as conn:
            conn.execute(insert(table).values(row))
    code, result = verify(wk)
    assert (code, result["ok"]) == (0, True)


def test_the_text_report_names_the_broken_entry(trail: Watchkeeper, wk: Any) -> None:
    table = AuditRow.__table__
    with trail.store.engine.begin() as conn:
        conn.execute(update(table).where(table.c.seq == 3).values(actor="mallory@corp.example"))
    code, out, _ = wk("audit", "verify")
    assert code == 1
    assert "ALTERED at entry 3: content was changed after it was written" in out


def test_appends_after_a_deleted_tail_keep_the_hole_visible(trail: Watchkeeper, wk: Any) -> None:
    table = AuditRow.__table__
    last = rows(trail)[-1]["seq"]
    with trail.store.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.seq == last))
    trail.switch.set(SYSTEM, "enabled", "fixed", ROLES["kill_authority"], trail.clock.now())
    code, result = verify(wk)
    assert (code, result["broken_at"]) == (1, last + 1)
    assert f"{last}..{last} are missing" in result["reason"]


def _entry(seq: int, prev: str, actor: str = "a") -> AuditEntry:
    fields: dict[str, Any] = dict(
        at=T0,
        actor=actor,
        action="x",
        target="t",
        system=None,
        before=None,
        after=None,
        reason=None,
    )
    return AuditEntry(seq, prev_hash=prev, hash=entry_hash(prev, **fields), **fields)


def test_a_rewritten_tail_is_caught_by_the_head() -> None:
    first = _entry(1, GENESIS)
    second = _entry(2, first.hash)
    rewritten = _entry(2, first.hash, actor="mallory")  # consistent hash, different content
    head = AuditHead(2, second.hash)
    assert verify_log([first, second], head).ok
    result = verify_log([first, rewritten], head)
    assert (result.ok, result.broken_at) == (False, 2)
    assert "recorded head" in result.reason
    assert not verify_log([first], AuditHead(2, second.hash)).ok
    assert verify_log([], None).ok
    assert verify_log([first], None).reason == "the chain's head record is missing"


SECRET = "audit-test-secret"


@pytest.fixture
def keyed(
    db_url: str, store: Store, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Watchkeeper:
    """A trail written with WATCHKEEPER_SECRET, its checkpoints in a file outside the database;
    `wk` (the `wk` fixture) verifies with the same settings."""
    checkpoints = str(tmp_path / "checkpoints" / "audit.log")
    monkeypatch.setenv("WATCHKEEPER_SECRET", SECRET)
    monkeypatch.setenv("WATCHKEEPER_AUDIT_CHECKPOINTS", checkpoints)
    settings = Settings(db=db_url, secret=SECRET, audit_checkpoints=checkpoints)
    app = build(settings, store=store, clock=clock)
    build_world(app, tmp_path / "org")
    app.switch.set(SYSTEM, "disabled", "harmful answers", ROLES["kill_authority"], clock.now())
    return app


def rehash_from(app: Watchkeeper, seq: int, **changes: Any) -> None:
    """What someone with write access to the database but not the secret can do: change an
    entry, then recompute every hash after it (and the head) so the chain links up again."""
    table = AuditRow.__table__
    every = sorted(rows(app), key=lambda r: r["seq"])
    prev = next((r["hash"] for r in every if r["seq"] == seq - 1), GENESIS)
    with app.store.engine.begin() as conn:
        for row in every:
            if row["seq"] < seq:
                continue
            fields = {
                k: row[k]
                for k in ("at", "actor", "action", "target", "system", "before", "after", "reason")
            }
            if row["seq"] == seq:
                fields.update(changes)
            fields["at"] = (
                fields["at"].replace(tzinfo=UTC) if fields["at"].tzinfo is None else fields["at"]
            )
            digest = entry_hash(prev, **fields)
            conn.execute(
                update(table)
                .where(table.c.seq == row["seq"])
                .values(**{**fields, "prev_hash": prev, "hash": digest})
            )
            prev = digest
        conn.execute(update(AuditHeadRow.__table__).values(hash=prev))


def test_a_keyed_trail_verifies_against_its_checkpoints(keyed: Watchkeeper, wk: Any) -> None:
    last = max(r["seq"] for r in rows(keyed))
    assert all(r["keyed"] for r in rows(keyed))
    code, result = verify(wk)
    assert (code, result["ok"], result["state"], result["checkpoint"]) == (0, True, "intact", last)
    code, out, _ = wk("audit", "verify")
    assert code == 0 and f"intact: {last} entries" in out and f"checkpoint at entry {last}" in out


def test_rehashing_after_an_edit_is_caught_when_the_chain_is_keyed(
    keyed: Watchkeeper, wk: Any
) -> None:
    rehash_from(keyed, 3, actor="mallory@corp.example")
    code, result = verify(wk)
    assert (code, result["ok"], result["state"], result["broken_at"]) == (1, False, "altered", 3)
    code, out, _ = wk("audit", "verify")
    assert code == 1 and "ALTERED at entry 3" in out


def test_an_emptied_log_is_reported_truncated(keyed: Watchkeeper, wk: Any) -> None:
    last = max(r["seq"] for r in rows(keyed))
    with keyed.store.engine.begin() as conn:
        conn.execute(delete(AuditRow.__table__))
        conn.execute(delete(AuditHeadRow.__table__))
    code, result = verify(wk)
    assert (code, result["ok"], result["state"]) == (1, False, "truncated")
    assert result["checkpoint"] == last
    assert f"checkpoint at entry {last}" in result["reason"]
    code, out, _ = wk("audit", "verify")
    assert code == 1 and "TRUNCATED" in out


def test_a_cut_tail_with_a_rewritten_head_is_truncated(keyed: Watchkeeper, wk: Any) -> None:
    every = sorted(rows(keyed), key=lambda r: r["seq"])
    keep = every[-3]
    with keyed.store.engine.begin() as conn:
        conn.execute(delete(AuditRow.__table__).where(AuditRow.__table__.c.seq > keep["seq"]))
        conn.execute(update(AuditHeadRow.__table__).values(seq=keep["seq"], hash=keep["hash"]))
    code, result = verify(wk)
    assert (code, result["state"], result["checkpoint"]) == (1, "truncated", every[-1]["seq"])


def test_relabelling_keyed_entries_as_unkeyed_is_caught(keyed: Watchkeeper, wk: Any) -> None:
    with keyed.store.engine.begin() as conn:
        conn.execute(
            update(AuditRow.__table__).where(AuditRow.__table__.c.seq >= 4).values(keyed=False)
        )
    rehash_from(keyed, 4)
    code, result = verify(wk)
    assert (code, result["state"], result["broken_at"]) == (1, "altered", 4)


def test_a_forged_checkpoint_is_caught(keyed: Watchkeeper, wk: Any) -> None:
    path = Path(keyed.settings.audit_checkpoints or "")
    lines = path.read_text().splitlines()
    seq, digest, mac = lines[-1].split()
    path.write_text("\n".join([*lines, f"{int(seq) + 5} {digest} {mac}"]) + "\n")
    code, result = verify(wk)
    assert (code, result["state"]) == (1, "altered")
    assert "checkpoint" in result["reason"] and "signature" in result["reason"]


def test_entries_written_before_the_secret_keep_verifying(
    app: Watchkeeper, tmp_path: Path, wk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(app, tmp_path / "org")
    unkeyed = len(rows(app))
    code, result = verify(wk)
    assert (code, result["ok"], result["state"]) == (0, True, "unkeyed")
    code, out, _ = wk("audit", "verify")
    assert code == 0 and "UNKEYED" in out and "WATCHKEEPER_SECRET" in out
    checkpoints = str(tmp_path / "audit.checkpoints")
    monkeypatch.setenv("WATCHKEEPER_SECRET", SECRET)
    monkeypatch.setenv("WATCHKEEPER_AUDIT_CHECKPOINTS", checkpoints)
    later = build(
        Settings(db=app.settings.db, secret=SECRET, audit_checkpoints=checkpoints),
        store=app.store,
        clock=app.clock,
    )
    later.switch.set(SYSTEM, "disabled", "now keyed", ROLES["kill_authority"], app.clock.now())
    code, result = verify(wk)
    assert (code, result["ok"], result["state"]) == (0, True, "intact")
    assert result["unkeyed_through"] == unkeyed
    code, out, _ = wk("audit", "verify")
    assert code == 0 and f"unkeyed up to seq {unkeyed}" in out


def test_checkpoints_sit_beside_a_sqlite_store_by_default(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'data' / 'wk.db'}"
    assert (
        audit_seal(Settings(db=db, secret=SECRET)).checkpoints
        == tmp_path / "data" / "wk.db.audit-checkpoints"
    )
    assert audit_seal(Settings(db="postgresql+psycopg://x@h/db", secret=SECRET)).checkpoints is None
    assert audit_seal(Settings(db=db)).key is None
