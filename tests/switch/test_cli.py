"""`wk kill` / `wk restore` on the database directly: the acting person (WATCHKEEPER_USER) must
still be a kill authority, and a reason is required."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.server._world import ROLES, SYSTEM, World
from watchkeeper.access import token_digest
from watchkeeper.store._tables import TokenRow


def test_a_kill_authority_kills_and_restores(world: World, wk: Any) -> None:
    code, out, _ = wk("kill", SYSTEM, "--reason", "harmful answers", user=ROLES["kill_authority"])
    assert code == 0
    assert f"{SYSTEM}: DISABLED (version 1) by {ROLES['kill_authority']}" in out
    assert "serving falls back to: Send every ticket to a person" in out
    code, out, _ = wk("kill", SYSTEM, "--reason", "again", user=ROLES["kill_authority"])
    assert code == 0 and "unchanged: already so" in out
    code, out, _ = wk(
        "restore", SYSTEM, "--reason", "fixed", "--json", user=ROLES["kill_authority_via_team"]
    )
    assert code == 0
    result = json.loads(out)
    assert (result["state"], result["version"], result["changed"]) == ("enabled", 2, True)


def test_anyone_else_is_refused_with_what_is_missing(world: World, wk: Any) -> None:
    code, _, err = wk("kill", SYSTEM, "--reason", "I own it", user=ROLES["owner"])
    assert code == 2
    assert f"is not a kill authority of {SYSTEM}" in err
    assert world.app.switch.state(SYSTEM).version == 0
    with world.app.store.read() as unit:
        assert unit.audit_entries()[-1].action == "access.denied"


def test_a_reason_is_required(world: World, wk: Any) -> None:
    code, _, err = wk("kill", SYSTEM, user=ROLES["kill_authority"])
    assert code == 2 and "--reason" in err
    code, _, err = wk("kill", SYSTEM, "--reason", " ", user=ROLES["kill_authority"])
    assert code == 2 and "a reason is required" in err


def test_an_unknown_system_is_named(world: World, wk: Any) -> None:
    code, _, err = wk("restore", "ghost", "--reason", "x", user=ROLES["kill_authority"])
    assert code == 2 and "no system 'ghost'" in err


def test_token_create_shows_the_token_once_and_stores_only_its_digest(
    world: World, wk: Any
) -> None:
    code, out, err = wk("token", "create", ROLES["unrelated"])
    token = out.strip()
    assert code == 0 and token.startswith("wk_") and "not shown again" in err
    assert world.app.access.authenticate(token, world.app.clock.now()) == ROLES["unrelated"]
    with world.app.store.engine.connect() as conn:
        stored = [dict(r._mapping) for r in conn.execute(select(TokenRow.__table__))]
    assert token not in repr(stored)
    assert token_digest(token) in [row["digest"] for row in stored]
    code, _, err = wk("token", "create", "nobody@corp.example")
    assert code == 2 and "no person nobody@corp.example" in err
    code, _, err = wk("token", "create", ROLES["inactive"])
    assert code == 2 and "inactive" in err
