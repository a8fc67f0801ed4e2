"""Flipping the switch: authority-bound, reasoned, versioned, audited, announced."""

from __future__ import annotations

import pytest

from tests.conftest import SQLITE_ONLY
from tests.server._world import ROLES, SYSTEM, World
from watchkeeper.access import Refused
from watchkeeper.app import Watchkeeper
from watchkeeper.errors import ActionError


def denials(app: Watchkeeper) -> list[tuple[str, str, str | None]]:
    with app.store.read() as unit:
        return [
            (e.actor, e.target, e.reason)
            for e in unit.audit_entries(system=SYSTEM)
            if e.action == "access.denied"
        ]


def test_a_never_flipped_switch_is_enabled_and_carries_the_manifest_fail_mode(
    world: World,
) -> None:
    state = world.app.switch.state(SYSTEM)
    assert (state.state, state.version, state.changed_by) == ("enabled", 0, None)
    assert (state.fail_mode, state.fallback) == ("closed", "Send every ticket to a person")


def test_a_kill_authority_flips_and_each_flip_is_versioned_and_audited(world: World) -> None:
    app, now = world.app, world.app.clock.now()
    off = app.switch.set(SYSTEM, "disabled", " harmful answers ", ROLES["kill_authority"], now)
    assert off.changed and off.state.version == 1 and off.state.reason == "harmful answers"
    on = app.switch.set(SYSTEM, "enabled", "fixed", ROLES["kill_authority_via_team"], now)
    assert (on.state.state, on.state.version, on.state.changed_by) == (
        "enabled",
        2,
        ROLES["kill_authority_via_team"],
    )
    with app.store.read() as unit:
        flips = [e for e in unit.audit_entries(system=SYSTEM) if e.action == "switch.changed"]
    assert [(e.actor, e.before, e.after, e.reason) for e in flips] == [
        (
            ROLES["kill_authority"],
            {"state": "enabled", "version": 0},
            {"state": "disabled", "version": 1},
            "harmful answers",
        ),
        (
            ROLES["kill_authority_via_team"],
            {"state": "disabled", "version": 1},
            {"state": "enabled", "version": 2},
            "fixed",
        ),
    ]


def test_repeating_a_flip_changes_nothing(world: World) -> None:
    app, now = world.app, world.app.clock.now()
    app.switch.set(SYSTEM, "disabled", "first", ROLES["kill_authority"], now)
    again = app.switch.set(SYSTEM, "disabled", "second", ROLES["kill_authority"], now)
    assert not again.changed
    assert (again.state.version, again.state.reason) == (1, "first")


@pytest.mark.parametrize("role", ["owner", "admin", "other_role_holder", "unrelated", "inactive"])
@SQLITE_ONLY
def test_everyone_else_is_refused_and_the_refusal_recorded(world: World, role: str) -> None:
    app = world.app
    with pytest.raises(Refused) as refused:
        app.switch.set(SYSTEM, "disabled", "I think so", ROLES[role], app.clock.now())
    assert refused.value.kind == "forbidden"
    assert app.switch.state(SYSTEM).version == 0
    assert denials(app) == [(ROLES[role], f"{SYSTEM}/switch", refused.value.message)]


@pytest.mark.parametrize(
    ("state", "reason", "message"),
    [
        ("disabled", "   ", "a reason is required"),
        ("off", "why", "state must be enabled or disabled"),
        ("disabled", "x" * 2001, "at most 2000"),
    ],
)
def test_bad_input_is_invalid_not_forbidden(
    world: World, state: str, reason: str, message: str
) -> None:
    with pytest.raises(ActionError) as error:
        world.app.switch.set(SYSTEM, state, reason, ROLES["kill_authority"], world.app.clock.now())
    assert error.value.kind == "invalid" and message in error.value.message


def test_an_unknown_system_is_not_found(world: World) -> None:
    with pytest.raises(ActionError) as error:
        world.app.switch.state("ghost")
    assert error.value.kind == "not_found"


def test_a_pre_authorised_playbook_disables_and_says_so_in_the_audit_trail(world: World) -> None:
    app = world.app
    change = app.switch.auto_disable(SYSTEM, "harm", "alert harm fired", app.clock.now())
    assert change.state.state == "disabled" and change.state.changed_by == "playbook:harm"
    with app.store.read() as unit:
        entry = [e for e in unit.audit_entries(system=SYSTEM) if e.action == "switch.changed"][-1]
    assert entry.actor == "playbook:harm"
    assert entry.after == {"state": "disabled", "version": 1, "automatic": True, "playbook": "harm"}
    assert entry.reason == "alert harm fired"


@pytest.mark.parametrize("playbook", ["drop", "ghost"])
def test_a_playbook_without_pre_authorisation_is_refused_and_recorded(
    world: World, playbook: str
) -> None:
    app = world.app
    with pytest.raises(Refused) as refused:
        app.switch.auto_disable(SYSTEM, playbook, "alert fired", app.clock.now())
    assert app.switch.state(SYSTEM).state == "enabled"
    assert denials(app) == [(f"playbook:{playbook}", f"{SYSTEM}/switch", refused.value.message)]
