"""Kill-switch drills end to end (issue 17 item 3): real SDK processes confirm a drill as they
would a kill, while serving exactly as before; the drill's outcome goes to its record, the audit
trail and the vacuum report, which holds an overdue or failed drill against the system."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Cli
from tests.sdk._wait import until
from tests.server._world import ROLES, SYSTEM, SYSTEM_YAML, World
from tests.switch._serving import HEARTBEAT, Serving
from tests.switch.test_confirmations import wk
from watchkeeper.app import Operations
from watchkeeper.server import LiveServer

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

DECLARED = "kill_switch: {fail_mode: closed, fallback: Send every ticket to a person}"
Live = tuple[World, LiveServer]


def drilled_every(world: World, every: str) -> None:
    """Re-apply the system asking for a drill every `every`."""
    assert DECLARED in SYSTEM_YAML
    text = SYSTEM_YAML.replace(DECLARED, DECLARED[:-1] + f", drill_every: {every}}}")
    world.system_file.write_text(text, encoding="utf-8")
    setup = Operations(world.app, ROLES["owner"], world.app.clock.now(), enforce=False)
    setup.apply([str(world.system_file)])


def holding(world: World) -> int:
    """How many processes are live and hold a switch state (before any move, any state is the
    current one): those a drill counts on."""
    return world.app.switch.confirmations(SYSTEM, world.app.clock.now()).confirmed


def drill_check(world: World, days_later: float = 0) -> dict[str, Any]:
    now = world.app.clock.now() + timedelta(days=days_later)
    report = Operations(world.app, ROLES["owner"], now, enforce=True).vacuum()
    [system] = [s for s in report["systems"] if s["system"] == SYSTEM]
    [check] = [c for c in system["checks"] if c["id"] == "switch.drilled"]
    return check


def drill_entries(world: World, action: str = "switch.drill.finished") -> list[Any]:
    with world.app.store.read() as unit:
        return [e for e in unit.audit_entries(system=SYSTEM) if e.action == action]


def test_three_processes_confirm_a_drill_and_none_stops_serving(
    live_app: Live, serving: Callable[..., Serving]
) -> None:
    world, server = live_app
    drilled_every(world, "30d")
    processes = [serving(f"svc-{name}") for name in "abc"]
    until(lambda: holding(world) == 3)
    assert all(p.report()["switch"]["version"] == 0 for p in processes)

    done = wk(server, world.token("kill_authority"), "drill", SYSTEM, "--wait", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"drill of {SYSTEM}: confirmed by 3 of 3 live processes in " in done.stdout
    assert "passed: switch version 1" in done.stdout and "state enabled throughout" in done.stdout
    assert "straggler" not in done.stdout

    for process in processes:
        said = process.report()
        assert said["switch"]["version"] == 1 and said["switch"]["state"] == "enabled"
        assert said["switch"]["drill"]["by"] == ROLES["kill_authority"]
        assert said["enabled_seen"] == [True], "enabled() never changed during the drill"
        assert said["fallbacks"] == 0 and said["calls"] > 0, "no request went to the fallback"

    [start] = drill_entries(world, "switch.drill")
    assert start.actor == ROLES["kill_authority"] and start.reason == "kill-switch drill"
    assert (start.before, start.after) == (
        {"state": "enabled", "version": 0},
        {"state": "enabled", "version": 1},
    )
    [entry] = drill_entries(world)
    assert entry.actor == ROLES["kill_authority"] and entry.reason == "kill-switch drill"
    assert (entry.after["passed"], entry.after["live"], entry.after["confirmed"]) == (True, 3, 3)
    assert entry.after["summary"].startswith("confirmed by 3 of 3 live processes in ")

    check = drill_check(world)
    assert check["passed"] is True and check["detail"].startswith("last passed drill ")
    overdue = drill_check(world, days_later=31)
    assert overdue["passed"] is False and "overdue by 1d" in overdue["detail"]
    assert overdue["fix"] == f"a kill authority runs `wk drill {SYSTEM}`"

    vacuum = wk(server, world.token("owner"), "vacuum")
    assert "Ownership vacuum report" in vacuum.stdout, vacuum.stderr
    assert "switch.drilled" not in vacuum.stdout, "a passed drill is no gap"
    listed = httpx.get(
        f"{server.url}/api/v1/systems/{SYSTEM}/switch/drills",
        headers={"Authorization": f"Bearer {world.token('unrelated')}"},
        timeout=10,
    ).json()
    assert [(d["version"], d["passed"], d["confirmed"]) for d in listed] == [(1, True, 3)]


def test_a_killed_process_fails_the_drill_and_is_named_in_the_vacuum_report(
    live_app: Live, serving: Callable[..., Serving], wk: Cli
) -> None:
    world, _ = live_app
    drilled_every(world, "90d")
    # the one to die promises a slow heartbeat: still counted live when the drill starts
    processes = [serving("svc-a"), serving("svc-b"), serving("svc-c", heartbeat=10)]
    until(lambda: holding(world) == 3)
    gone = processes[2]
    gone.process.send_signal(signal.SIGKILL)
    gone.process.wait()

    # on the database directly: the server hears of the drill as of any move made elsewhere
    authority = ROLES["kill_authority_via_team"]
    wait = str(3 * HEARTBEAT + 1)  # the others confirm within a heartbeat or three
    code, out, err = wk("drill", SYSTEM, "--reason", "after the upgrade", "--wait", wait,
                        user=authority)  # fmt: skip
    assert code == 1, out + err
    assert f"drill of {SYSTEM}: confirmed by 2 of 3 live processes in " in out
    assert "FAILED: switch version 1" in out
    assert f"straggler {socket.gethostname()}/{gone.process.pid}/svc-c: holds version 0" in out
    for process in processes[:2]:
        said = process.report()
        assert (said["switch"]["version"], said["enabled_seen"], said["fallbacks"]) == (
            1,
            [True],
            0,
        )

    [entry] = drill_entries(world)
    assert (entry.actor, entry.reason, entry.after["passed"]) == (authority, "after the upgrade",
                                                                  False)  # fmt: skip
    assert entry.after["stragglers"] == [f"{socket.gethostname()}/{gone.process.pid}/svc-c"]

    check = drill_check(world)
    assert (
        check["passed"] is False and "FAILED: confirmed by 2 of 3 live processes" in check["detail"]
    )
    assert f"stragglers: {socket.gethostname()}/{gone.process.pid}/svc-c" in check["detail"]
    assert check["fix"].startswith("find out why the stragglers did not confirm")
    code, out, _ = wk("vacuum", user=ROLES["owner"])
    assert f"gap {SYSTEM} switch.drilled: last drill " in out and "FAILED" in out
    assert "fix: find out why the stragglers did not confirm" in out


def test_a_drill_nobody_can_confirm_proves_nothing_and_fails(wk: Cli, world: World) -> None:
    code, out, _ = wk("drill", SYSTEM, "--wait", "1", user=ROLES["kill_authority"])
    assert code == 1
    assert f"drill of {SYSTEM}: no live SDK process of this system was known" in out
    assert "it proved nothing" in out and "FAILED" in out and "then drill again" in out
    state = world.app.switch.state(SYSTEM)
    assert (state.state, state.version, state.changed_by) == ("enabled", 1, None)
    assert state.drill is not None and state.drill.by == ROLES["kill_authority"]


def test_only_kill_authorities_drill_and_a_refusal_is_audited(wk: Cli, world: World) -> None:
    code, _, err = wk("drill", SYSTEM, user=ROLES["owner"])
    assert code == 2
    assert "olga@corp.example is not a kill authority of triage-bot" in err
    with world.app.store.read() as unit:
        [denied] = [e for e in unit.audit_entries() if e.action == "access.denied"]
    assert (denied.actor, denied.target) == (ROLES["owner"], f"{SYSTEM}/switch/drill")
    assert world.app.switch.state(SYSTEM).version == 0, "nothing moved"
    assert wk("drill", "ghost", user=ROLES["kill_authority"])[0] == 2
    code, _, err = wk("drill", SYSTEM, "--wait", "31", user=ROLES["kill_authority"])
    assert code == 2 and "--wait" in err
