"""The HTTP API in-process: health, the document, reads, changes, and clear 4xx for bad input."""

from __future__ import annotations

from pathlib import Path

from tests.server._world import ROLES, SYSTEM, Api, World, api_for
from watchkeeper.app import Operations, build
from watchkeeper.server import create_app
from watchkeeper.settings import Settings
from watchkeeper.store import Store


def test_health_and_readiness(api: Api, world: World) -> None:
    assert api("GET", "/healthz").json() == {"status": "ok"}
    ready = api("GET", "/readyz").json()
    assert ready["status"] == "ready" and ready["database"] == world.app.store.dialect


def test_not_ready_until_the_schema_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = build(Settings(db=url), store=Store.open(url, migrate=False))
    for api in api_for(create_app(app)):
        response = api("GET", "/readyz")
        assert response.status_code == 503
        assert "wk db upgrade" in response.json()["detail"]
    app.close()


def test_the_document_names_every_route_and_the_bearer_scheme(api: Api) -> None:
    doc = api("GET", "/openapi.json").json()
    for path in (
        "/healthz",
        "/readyz",
        "/api/v1/systems",
        "/api/v1/systems/{name}/switch",
        "/api/v1/apply",
        "/api/v1/systems/{name}/acks",
        "/api/v1/people/{email}/deactivate",
        "/api/v1/tokens",
        "/api/v1/audit/verify",
        "/api/v1/vacuum",
    ):
        assert path in doc["paths"], path
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    responses = doc["paths"]["/api/v1/systems/{name}/switch"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(responses) and "422" not in responses


def test_reads_return_what_local_mode_returns(api: Api, world: World) -> None:
    token = world.token("unrelated")
    local = Operations(world.app, ROLES["unrelated"], world.app.clock.now(), enforce=False)
    assert api("GET", "/api/v1/systems", token).json() == local.status()
    assert api("GET", f"/api/v1/systems/{SYSTEM}", token).json() == local.status(SYSTEM)[0]
    assert api("GET", "/api/v1/vacuum", token).json() == local.vacuum()
    assert api("GET", "/api/v1/audit/verify", token).json() == local.verify_audit()
    entries = api("GET", "/api/v1/audit", token, params={"limit": 2}).json()
    assert entries == local.audit(limit=2) and len(entries) == 2


def test_the_switch_reads_and_flips(api: Api, world: World) -> None:
    path = f"/api/v1/systems/{SYSTEM}/switch"
    state = api("GET", path, world.token("unrelated")).json()
    assert state == {
        "system": SYSTEM,
        "state": "enabled",
        "version": 0,
        "reason": None,
        "changed_by": None,
        "changed_at": None,
        "fail_mode": "closed",
        "fallback": "Send every ticket to a person",
        "drill": None,
    }
    body = {"state": "disabled", "reason": "harmful answers"}
    flipped = api("POST", path, world.token("kill_authority"), json=body).json()
    assert (flipped["state"], flipped["version"], flipped["changed"]) == ("disabled", 1, True)
    assert flipped["changed_by"] == ROLES["kill_authority"]
    assert api("GET", path, world.token("unrelated")).json()["state"] == "disabled"


def test_acks_and_deactivation(api: Api, world: World) -> None:
    acked = api(
        "POST", f"/api/v1/systems/{SYSTEM}/acks", world.token("owner"), json={"role": "all"}
    ).json()
    assert [(a["role"], a["ack"]) for a in acked] == [("owner", "acknowledged")]
    gone = api("POST", "/api/v1/people/olga@corp.example/deactivate", world.token("admin"))
    assert gone.json()["action"] == "updated"
    assert any("now vacant: triage-bot:owner" in d for d in gone.json()["details"])


def test_bad_input_names_the_field_and_index(api: Api, world: World) -> None:
    token = world.token("admin")
    response = api(
        "POST", "/api/v1/apply", token, json={"files": [{"name": "a.yaml", "text": ""}, {}]}
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.files[1].name", "body.files[1].text"}
    extra = api("POST", f"/api/v1/systems/{SYSTEM}/switch", token, json={"state": "disabled"})
    assert extra.status_code == 400 and "body.reason" in extra.json()["detail"]
    wait = api("GET", f"/api/v1/systems/{SYSTEM}/switch", token, params={"wait": "-1"})
    assert wait.status_code == 400 and wait.json()["errors"][0]["field"] == "query.wait"
    not_json = api(
        "POST", "/api/v1/tokens", token, content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    nul = api("POST", "/api/v1/tokens", token, json={"email": "a\x00@corp.example"})
    assert nul.status_code == 400 and nul.json()["errors"][0]["field"] == "body.email"
    role = api("POST", f"/api/v1/systems/{SYSTEM}/acks", token, json={"role": "boss"})
    assert role.status_code == 400 and "unknown role 'boss'" in role.json()["detail"]


def test_manifest_problems_are_located_in_the_submitted_files(api: Api, world: World) -> None:
    broken = "apiVersion: watchkeeper/v1\nkind: AISystem\nmetadata: {name: Bad Name}\n"
    response = api(
        "POST",
        "/api/v1/apply",
        world.token("admin"),
        json={"files": [{"name": "repo/watchkeeper.yaml", "text": broken}]},
    )
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert problems and all(p["file"] == "repo/watchkeeper.yaml" for p in problems)
    assert problems[0]["line"] == 3 and "not a valid name" in problems[0]["message"]
    assert "nothing was changed" in response.json()["detail"]


def test_unknown_things_are_404(api: Api, world: World) -> None:
    token = world.token("admin")
    for path in ("/api/v1/systems/ghost", "/api/v1/systems/ghost/switch", "/api/v1/nowhere"):
        response = api("GET", path, token)
        assert response.status_code == 404 and response.json()["kind"] == "not_found", path
    gone = api("POST", "/api/v1/people/nobody@corp.example/deactivate", token)
    assert gone.status_code == 404
