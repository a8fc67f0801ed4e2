"""The audit trail holds: changing or deleting any row makes `wk audit verify` fail at that row."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from tests.server._world import ROLES, SYSTEM, build_world
from watchkeeper.access import verify_log
from watchkeeper.app import Watchkeeper
from watchkeeper.audit import GENESIS, AuditEntry, entry_hash
from watchkeeper.errors import ActionError
from watchkeeper.store import AuditHead
from watchkeeper.store._tables import AuditRow
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
    code, result = verify(wk)
    assert (code, result["ok"], result["checked"]) == (0, True, len(rows(trail)))
    code, out, _ = wk("audit", "verify")
    assert code == 0 and "intact" in out


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
    assert "BROKEN at entry 3: content was changed after it was written" in out


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
