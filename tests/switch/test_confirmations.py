"""Who obeyed a flip: real SDK processes report the switch version they hold with their polls,
and a flip says "confirmed by k of n live processes in t ms" and names the stragglers — in
`wk kill`, in the API and in the audit trail. A revoked token or an unknown system is refused and
counted; a client's clock plays no part; a new server process reads the same roll call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.sdk._wait import until
from tests.server._world import ROLES, SYSTEM, Api, World
from tests.switch._serving import HEARTBEAT, Serving
from watchkeeper.access import token_prefix
from watchkeeper.app import Watchkeeper, build
from watchkeeper.clock import FixedClock
from watchkeeper.server import LiveServer
from watchkeeper.settings import Settings
from watchkeeper.store import ProcessRecord, Store

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)


def flip(server: LiveServer, token: str, state: str, wait: float) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/api/v1/systems/{SYSTEM}/switch",
        params={"wait": wait},
        json={"state": state, "reason": "drill"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def live_now(app: Watchkeeper) -> int:
    return app.switch.confirmations(SYSTEM, app.clock.now()).live


def wk(server: LiveServer, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATCHKEEPER_URL": server.url, "WATCHKEEPER_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "watchkeeper.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_three_processes_confirm_a_flip_and_one_killed_is_named_a_straggler(
    live_app: tuple[World, LiveServer], serving: Callable[..., Serving], db_url: str
) -> None:
    world, server = live_app
    processes = [serving(f"svc-{name}") for name in "abc"]
    until(lambda: live_now(world.app) == 3)
    authority = world.token("kill_authority")

    done = wk(server, authority, "kill", SYSTEM, "--reason", "harm", "--wait", "10")
    assert done.returncode == 0, done.stderr
    assert f"{SYSTEM}: DISABLED (version 1)" in done.stdout
    assert "confirmed by 3 of 3 live processes in " in done.stdout
    assert "straggler" not in done.stdout

    gone = processes[1]
    gone.process.send_signal(signal.SIGKILL)
    gone.process.wait()
    answer = flip(server, authority, "enabled", wait=3 * HEARTBEAT + 1)
    confirmed = answer["confirmations"]
    assert (confirmed["version"], confirmed["live"], confirmed["confirmed"]) == (2, 3, 2)
    assert confirmed["summary"].startswith("confirmed by 2 of 3 live processes in ")
    assert not confirmed["complete"]
    [straggler] = confirmed["stragglers"]
    assert (straggler["service"], straggler["pid"], straggler["version"]) == (
        "svc-b", gone.process.pid, 1
    )  # fmt: skip
    assert straggler["name"].endswith(f"/{gone.process.pid}/svc-b")
    assert straggler["live"] is False, "silent for three heartbeats by the end of the wait"

    with world.app.store.read() as unit:
        kept = [e for e in unit.audit_entries(system=SYSTEM) if e.action == "switch.confirmed"]
    assert [(e.after["version"], e.after["live"], e.after["confirmed"]) for e in kept] == [
        (1, 3, 3),
        (2, 3, 2),
    ]
    assert kept[1].after["stragglers"] == [straggler["name"]]
    assert kept[1].actor == ROLES["kill_authority"]

    # another server process (a restart) reads the same roll call from the store
    again = build(Settings(db=db_url), store=Store.open(db_url))
    try:
        reread = again.switch.confirmations(SYSTEM, again.clock.now())
        assert (reread.version, reread.live, reread.confirmed) == (2, 3, 2)
        assert [s.process.pid for s in reread.stragglers] == [gone.process.pid]
    finally:
        again.close()


def test_a_client_whose_clock_is_a_year_off_confirms_by_version(
    live_app: tuple[World, LiveServer], serving: Callable[..., Serving]
) -> None:
    world, server = live_app
    serving("ahead", offset=365 * 86400)
    serving("behind", offset=-365 * 86400)
    until(lambda: live_now(world.app) == 2)
    answer = flip(server, world.token("kill_authority"), "disabled", wait=10)
    confirmed = answer["confirmations"]
    assert (confirmed["live"], confirmed["confirmed"], confirmed["stragglers"]) == (2, 2, [])
    assert 0 <= confirmed["confirmed_in_ms"] < 10_000


# --- faults, in-process -------------------------------------------------------------------


SERVICE = {"Watchkeeper-Service": "checkout"}


def report_headers(process: str = "p" * 32, **extra: str) -> dict[str, str]:
    return {
        "Watchkeeper-Process": process,
        "Watchkeeper-Host": "web-1",
        "Watchkeeper-Pid": "4242",
        "Watchkeeper-Sdk": "0.1.0",
        "Watchkeeper-Holds": "0",
        "Watchkeeper-Fail-Mode": "closed",
        "Watchkeeper-Heartbeat": "30",
        **extra,
    }


def refused(api: Api) -> dict[str, float]:
    text = api("GET", "/metrics").text
    counts = {}
    for line in text.splitlines():
        if line.startswith("watchkeeper_switch_refused_total{"):
            labels, _, value = line.partition("} ")
            counts[labels.split('reason="')[1].rstrip('"')] = float(value)
    return counts


def stored(world: World) -> list[ProcessRecord]:
    world.app.switch.drain(timeout=5)
    with world.app.store.read() as unit:
        return unit.switch_processes.processes(SYSTEM)


def test_a_poll_reports_its_process_and_a_flip_without_a_wait_says_so_later(
    world: World, api: Api, clock: FixedClock
) -> None:
    path = f"/api/v1/systems/{SYSTEM}/switch"
    token = world.token("other_role_holder")
    assert api("GET", path, token, headers=report_headers(**SERVICE)).status_code == 200
    [process] = stored(world)
    assert (process.host, process.pid, process.service, process.version) == (
        "web-1", 4242, "checkout", 0
    )  # fmt: skip
    body = {"state": "disabled", "reason": "harm"}
    flipped = api("POST", path, world.token("kill_authority"), json=body).json()
    assert flipped["confirmations"] is None
    clock.advance(timedelta(milliseconds=250))
    headers = report_headers(**SERVICE, **{"Watchkeeper-Holds": "1"})
    assert api("GET", path, token, headers=headers).status_code == 200
    stored(world)
    confirmed = api("GET", f"{path}/confirmations", token).json()
    assert (confirmed["live"], confirmed["confirmed"], confirmed["confirmed_in_ms"]) == (1, 1, 250)


def test_a_revoked_token_or_an_unknown_system_is_refused_and_counted(
    world: World, api: Api
) -> None:
    before = refused(api)
    token = world.token("other_role_holder")
    world.app.access.revoke_token(
        world.app.access.find_token(token_prefix(token)), ROLES["admin"], world.app.clock.now()
    )
    answer = api("GET", f"/api/v1/systems/{SYSTEM}/switch", token, headers=report_headers())
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    answer = api("GET", "/api/v1/systems/ghost/switch", world.token("unrelated"),
                 headers=report_headers("q" * 32))  # fmt: skip
    assert answer.status_code == 404 and "ghost" in answer.json()["detail"]
    after = refused(api)
    assert after.get("unauthenticated", 0) == before.get("unauthenticated", 0) + 1
    assert after.get("unknown_system", 0) == before.get("unknown_system", 0) + 1
    assert stored(world) == []


def test_a_malformed_report_is_a_400_naming_the_header(world: World, api: Api) -> None:
    headers = report_headers(**{"Watchkeeper-Pid": "not-a-pid"})
    answer = api("GET", f"/api/v1/systems/{SYSTEM}/switch", world.token("unrelated"),
                 headers=headers)  # fmt: skip
    assert answer.status_code == 400
    assert "Watchkeeper-Pid" in answer.json()["detail"]
