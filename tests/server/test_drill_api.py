"""The drill's routes in-process: `POST …/switch/drill` (kill authorities; waits for the roll
call and answers with the outcome it recorded) and `GET …/switch/drills`; what the switch says
while its version is a drill's; refusals audited, bad input a 400 naming the field."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from tests.sdk._wait import until
from tests.server._world import ROLES, SYSTEM, Api, World
from watchkeeper.clock import FixedClock

SWITCH = f"/api/v1/systems/{SYSTEM}/switch"
PROCESS = {
    "Watchkeeper-Process": "p" * 32,
    "Watchkeeper-Host": "web-1",
    "Watchkeeper-Pid": "4242",
    "Watchkeeper-Service": "checkout",
    "Watchkeeper-Heartbeat": "30",
}


def poll(api: Api, world: World, holds: int) -> None:
    """One SDK process's poll, saying it holds version `holds`; stored before this returns."""
    headers = {**PROCESS, "Watchkeeper-Holds": str(holds)}
    answer = api("GET", SWITCH, world.token("other_role_holder"), headers=headers)
    assert answer.status_code == 200, answer.text
    world.app.switch.drain(timeout=5)


def test_a_drill_every_live_process_confirms_passes(
    api: Api, world: World, clock: FixedClock
) -> None:
    poll(api, world, holds=0)
    clock.advance(timedelta(milliseconds=300))

    def obey() -> None:  # the process hears version 1 and says so, while the drill waits
        until(lambda: world.app.switch.state(SYSTEM).version == 1)
        poll(api, world, holds=1)

    obeying = threading.Thread(target=obey)
    obeying.start()
    body = {"reason": "quarterly drill"}
    answer = api("POST", f"{SWITCH}/drill", world.token("kill_authority"), json=body)
    obeying.join()
    assert answer.status_code == 200, answer.text
    drill = answer.json()
    assert (drill["version"], drill["state"], drill["reason"]) == (1, "enabled", "quarterly drill")
    assert (drill["live"], drill["confirmed"], drill["passed"]) == (1, 1, True)
    assert drill["confirmed_in_ms"] == 0 and drill["stragglers"] == []
    assert drill["summary"] == "confirmed by 1 of 1 live processes in 0 ms"
    assert drill["started_by"] == ROLES["kill_authority"] and drill["finished_at"]

    state = api("GET", SWITCH, world.token("unrelated")).json()
    assert (state["version"], state["state"], state["changed_by"]) == (1, "enabled", None)
    assert state["drill"]["by"] == ROLES["kill_authority"]
    assert state["drill"]["reason"] == "quarterly drill"
    confirmed = api("GET", f"{SWITCH}/confirmations", world.token("unrelated")).json()
    assert (confirmed["version"], confirmed["confirmed"], confirmed["live"]) == (1, 1, 1)

    flipped = api("POST", SWITCH, world.token("kill_authority"),
                  json={"state": "disabled", "reason": "harm"}).json()  # fmt: skip
    assert (flipped["version"], flipped["drill"]) == (2, None), "a flip after a drill goes on"


def test_a_drill_of_a_disabled_switch_keeps_it_off_and_its_reason(api: Api, world: World) -> None:
    kill = {"state": "disabled", "reason": "harmful answers"}
    assert api("POST", SWITCH, world.token("kill_authority"), json=kill).status_code == 200
    poll(api, world, holds=1)
    answer = api("POST", f"{SWITCH}/drill", world.token("kill_authority_via_team"),
                 params={"wait": 1})  # fmt: skip
    drill = answer.json()
    assert answer.status_code == 200 and (drill["version"], drill["state"]) == (2, "disabled")
    assert drill["reason"] == "kill-switch drill", "no body: the default reason"
    assert (drill["live"], drill["confirmed"], drill["passed"]) == (1, 0, False)
    [straggler] = drill["stragglers"]
    assert (straggler["name"], straggler["version"]) == ("web-1/4242/checkout", 1)
    assert drill["summary"] == "confirmed by 0 of 1 live processes"
    state = api("GET", SWITCH, world.token("unrelated")).json()
    assert (state["state"], state["reason"], state["version"]) == ("disabled", "harmful answers", 2)

    listed = api("GET", f"{SWITCH}/drills", world.token("unrelated")).json()
    assert [(d["version"], d["passed"]) for d in listed] == [(2, False)]
    assert listed[0]["stragglers"][0]["name"] == "web-1/4242/checkout"


def test_drills_are_listed_newest_first(api: Api, world: World) -> None:
    for _ in range(3):
        answer = api("POST", f"{SWITCH}/drill", world.token("kill_authority"), params={"wait": 1})
        assert answer.status_code == 200 and answer.json()["passed"] is False  # nobody serves
    listed = api("GET", f"{SWITCH}/drills", world.token("unrelated")).json()
    assert [d["version"] for d in listed] == [3, 2, 1]
    assert all("proved nothing" in d["summary"] for d in listed)
    one = api("GET", f"{SWITCH}/drills", world.token("unrelated"), params={"limit": 1}).json()
    assert [d["version"] for d in one] == [3]


def denied(world: World) -> list[Any]:
    with world.app.store.read() as unit:
        return [e for e in unit.audit_entries() if e.action == "access.denied"]


def test_only_kill_authorities_drill_and_every_refusal_is_audited(api: Api, world: World) -> None:
    for role in ("owner", "admin", "inactive"):
        answer = api("POST", f"{SWITCH}/drill", world.token(role), params={"wait": 1})
        assert answer.status_code in (401, 403), (role, answer.text)
    refused = api("POST", f"{SWITCH}/drill", world.token("owner"), params={"wait": 1})
    assert refused.status_code == 403
    assert "olga@corp.example is not a kill authority of triage-bot" in refused.json()["detail"]
    anonymous = api("POST", f"{SWITCH}/drill", params={"wait": 1})
    assert anonymous.status_code == 401
    rows = denied(world)
    people = [(e.actor, e.target) for e in rows if "@" in e.actor]
    assert (ROLES["owner"], f"{SYSTEM}/switch/drill") in people
    assert (ROLES["admin"], f"{SYSTEM}/switch/drill") in people
    assert any(e.after.get("attempted", "").startswith("POST ") for e in rows), "anonymous too"
    assert world.app.switch.state(SYSTEM).version == 0, "nothing moved"
    with world.app.store.read() as unit:
        assert unit.switch_processes.drills(SYSTEM) == []


def test_bad_input_and_unknown_systems(api: Api, world: World) -> None:
    token = world.token("kill_authority")
    ghost = api("POST", "/api/v1/systems/ghost/switch/drill", token, params={"wait": 1})
    assert ghost.status_code == 404 and "ghost" in ghost.json()["detail"]
    listed = api("GET", "/api/v1/systems/ghost/switch/drills", token)
    assert listed.status_code == 404
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        ({"reason": ""}, {}, "body.reason"),
        ({"reason": "x" * 2001}, {}, "body.reason"),
        ({"reason": "a\x00b"}, {}, "body.reason"),
        ({"why": "typo"}, {}, "body.why"),
        ({}, {"wait": 0}, "query.wait"),
        ({}, {"wait": 31}, "query.wait"),
    ]
    for body, params, field in cases:
        answer = api("POST", f"{SWITCH}/drill", token, json=body, params=params)
        assert answer.status_code == 400, (body, params)
        assert field in {e["field"] for e in answer.json()["errors"]}, (field, answer.json())
    blank = api("POST", f"{SWITCH}/drill", token, json={"reason": "   "}, params={"wait": 1})
    assert blank.status_code == 400 and "a reason is required" in blank.json()["detail"]
    limit = api("GET", f"{SWITCH}/drills", token, params={"limit": 0})
    assert limit.status_code == 400 and limit.json()["errors"][0]["field"] == "query.limit"
    assert world.app.switch.state(SYSTEM).version == 0
