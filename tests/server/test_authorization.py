"""The authorization matrix: every mutating endpoint x every role -> allowed, or 403 with the
refusal in the audit trail (401 without a token)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server._world import ROLES, SYSTEM, SYSTEM_YAML, Api, World, api_for
from watchkeeper.errors import ActionError
from watchkeeper.server import create_app
from watchkeeper.server._routes import Acting

CHANGED_PEOPLE = """\
apiVersion: watchkeeper/v1
kind: People
people:
  - {email: zed@corp.example, name: Zed Renamed}
"""
# (name, method, path, body, the roles allowed). Ordered so each allowed call leaves the next
# meaningful: the token for zed is issued before zed is deactivated.
ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None, set[str]]] = [
    (
        "apply system",
        "POST",
        "/api/v1/apply",
        {"files": [{"name": "watchkeeper.yaml", "text": SYSTEM_YAML}]},
        {"owner", "admin"},
    ),
    (
        "apply people",
        "POST",
        "/api/v1/apply",
        {"files": [{"name": "people.yaml", "text": CHANGED_PEOPLE}]},
        {"admin"},
    ),
    (
        "ack own role",
        "POST",
        f"/api/v1/systems/{SYSTEM}/acks",
        {"role": "quality_monitor"},
        {"other_role_holder"},
    ),
    (
        "ack every role held",
        "POST",
        f"/api/v1/systems/{SYSTEM}/acks",
        {"role": "all"},
        {"owner", "kill_authority", "kill_authority_via_team", "other_role_holder"},
    ),
    (
        "disable",
        "POST",
        f"/api/v1/systems/{SYSTEM}/switch",
        {"state": "disabled", "reason": "matrix"},
        {"kill_authority", "kill_authority_via_team"},
    ),
    (
        "enable",
        "POST",
        f"/api/v1/systems/{SYSTEM}/switch",
        {"state": "enabled", "reason": "matrix"},
        {"kill_authority", "kill_authority_via_team"},
    ),
    ("issue token", "POST", "/api/v1/tokens", {"email": "zed@corp.example"}, {"admin"}),
    ("deactivate", "POST", "/api/v1/people/zed@corp.example/deactivate", None, {"admin"}),
]


def refusals(world: World) -> list[tuple[str, str | None]]:
    with world.app.store.read() as unit:
        return [(e.actor, e.reason) for e in unit.audit_entries() if e.action == "access.denied"]


def test_every_mutating_endpoint_for_every_role(world: World, api: Api) -> None:
    outcomes: dict[tuple[str, str], int] = {}
    for name, method, path, body, allowed in ENDPOINTS:
        for role in [*ROLES, "nobody"]:
            before = refusals(world)
            token = world.token(role) if role in ROLES else None
            response = api(method, path, token, json=body)
            outcomes[name, role] = response.status_code
            detail = response.json().get("detail") if response.status_code >= 400 else None
            if role == "nobody":
                assert response.status_code == 401, (name, detail)
                assert response.headers["www-authenticate"] == "Bearer"
                assert "no API token" in detail
            elif role in allowed:
                assert response.status_code in (200, 201), (name, role, detail)
            else:
                assert response.status_code == 403, (name, role, response.text)
                assert refusals(world)[len(before) :] == [(ROLES[role], detail)], (name, role)
    denied = sum(1 for code in outcomes.values() if code == 403)
    assert denied == sum(len(ROLES) - len(allowed) for *_, allowed in ENDPOINTS)


@pytest.mark.parametrize(
    ("role", "fragment"),
    [
        ("owner", "is not a kill authority of triage-bot; only kim@corp.example, tess@corp"),
        ("inactive", "ivy@corp.example is inactive (has left)"),
        ("unrelated", "only admins may issue API tokens"),
    ],
)
def test_a_403_says_what_is_missing(world: World, api: Api, role: str, fragment: str) -> None:
    path, body = (
        ("/api/v1/tokens", {"email": "zed@corp.example"})
        if role == "unrelated"
        else (f"/api/v1/systems/{SYSTEM}/switch", {"state": "disabled", "reason": "x"})
    )
    response = api("POST", path, world.token(role), json=body)
    assert response.status_code == 403
    assert response.json()["kind"] == "forbidden"
    assert fragment in response.json()["detail"]


def test_reads_need_an_active_person(world: World, api: Api) -> None:
    assert api("GET", "/api/v1/systems", world.token("unrelated")).status_code == 200
    refused = api("GET", "/api/v1/systems", world.token("inactive"))
    assert refused.status_code == 403 and "inactive" in refused.json()["detail"]
    assert refusals(world)[-1][0] == ROLES["inactive"]
    unknown = api("GET", "/api/v1/systems", "wk_not-a-real-token")
    assert unknown.status_code == 401 and "unknown API token" in unknown.json()["detail"]
    malformed = api("GET", "/api/v1/systems", headers={"Authorization": "Basic YTpi"})
    assert (
        malformed.status_code == 401 and "expected `Bearer <token>`" in (malformed.json()["detail"])
    )


def test_a_refused_apply_changes_nothing(world: World, api: Api) -> None:
    takeover = SYSTEM_YAML.replace("owner: olga@corp.example", "owner: uma@corp.example")
    response = api(
        "POST",
        "/api/v1/apply",
        world.token("unrelated"),
        json={"files": [{"name": "x.yaml", "text": takeover}]},
    )
    assert response.status_code == 403
    assert "only its owner (olga@corp.example) or an admin" in response.json()["detail"]
    status = api("GET", f"/api/v1/systems/{SYSTEM}", world.token("unrelated")).json()
    assert status["version"] == 1


def test_anyone_may_register_a_new_system_they_own(world: World, api: Api) -> None:
    mine = SYSTEM_YAML.replace("name: triage-bot", "name: uma-bot").replace(
        "owner: olga@corp.example", "owner: uma@corp.example"
    )
    body = {"files": [{"name": "uma.yaml", "text": mine}]}
    assert api("POST", "/api/v1/apply", world.token("unrelated"), json=body).status_code == 200
    theirs = mine.replace("name: uma-bot", "name: olga-bot").replace(
        "owner: uma@corp.example", "owner: olga@corp.example"
    )
    body = {"files": [{"name": "olga.yaml", "text": theirs}]}
    assert api("POST", "/api/v1/apply", world.token("unrelated"), json=body).status_code == 403


def test_any_other_403_is_recorded_too(world: World) -> None:
    """A refusal raised by some other service (not decided by `access`) is audited by the
    server's error handling, so no 403 goes unrecorded whichever code path raised it."""
    server = create_app(world.app)

    @server.post("/api/v1/systems/{name}/elsewhere")
    def elsewhere(name: str, ops: Acting) -> None:
        raise ActionError("forbidden", f"{ops.actor} may not do that to {name}")

    for api in api_for(server):
        response = api("POST", f"/api/v1/systems/{SYSTEM}/elsewhere", world.token("unrelated"))
        assert response.status_code == 403
    with world.app.store.read() as unit:
        entry = unit.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.system) == (
        "access.denied",
        ROLES["unrelated"],
        SYSTEM,
    )
    assert entry.reason == f"{ROLES['unrelated']} may not do that to {SYSTEM}"
    assert entry.after == {"attempted": f"POST /api/v1/systems/{SYSTEM}/elsewhere"}
