"""The rehearsal routes in-process: `POST …/rehearsals` (those who answer for the system; 201
with the record it kept) and `GET …/rehearsals` (newest first); files rehearsed before they are
applied; refusals audited; bad input a 400 naming the field; both in the OpenAPI document with
their models, and the answers as those models say."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from tests.conftest import SQLITE_ONLY
from tests.server._world import PEOPLE_YAML, ROLES, SYSTEM, SYSTEM_YAML, Api, World
from tests.server.test_openapi_models import closed
from watchkeeper.server import _rehearsal_routes

REHEARSALS = f"/api/v1/systems/{SYSTEM}/rehearsals"
TEMPLATE = "/api/v1/systems/{name}/rehearsals"
QUICK = {"budget": 60}
FILES = [
    {"name": "people.yaml", "text": PEOPLE_YAML},
    {"name": "watchkeeper.yaml", "text": SYSTEM_YAML.replace("drop: 20%", "below: 0.1")},
]


def conforms(api: Api, method: str, status: int, answer: Any) -> list[str]:
    """What in `answer` the document's schema for that response does not allow (every object
    closed to undeclared keys)."""
    document = api("GET", "/openapi.json").json()
    declared = document["paths"][TEMPLATE][method]["responses"][str(status)]
    schema = {
        **closed(declared["content"]["application/json"]["schema"]),
        "components": closed(document["components"]),
    }
    return [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(answer)]


def refusals(world: World) -> list[tuple[str, str | None]]:
    with world.app.store.read() as unit:
        return [(e.actor, e.reason) for e in unit.audit_entries() if e.action == "access.denied"]


def test_the_owner_rehearses_and_everyone_reads_the_record(api: Api, world: World) -> None:
    answer = api("POST", REHEARSALS, world.token("owner"), json=QUICK)
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert (record["system"], record["scenario"]) == (SYSTEM, "quality-drop")
    assert record["rehearsed_by"] == ROLES["owner"] and record["version"] == 1
    assert record["passed"] == record["report"]["passed"]
    assert record["report"]["timeline"] and record["report"]["verdict"]
    assert conforms(api, "post", 201, record) == []

    again = api("POST", REHEARSALS, world.token("admin"), json={"scenario": "drift", **QUICK})
    assert again.status_code == 201, again.text
    listed = api("GET", REHEARSALS, world.token("unrelated"))
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [again.json()["id"], record["id"]]
    assert listed.json()[1] == record
    assert conforms(api, "get", 200, listed.json()) == []
    newest = api("GET", REHEARSALS, world.token("unrelated"), params={"limit": 1}).json()
    assert [r["scenario"] for r in newest] == ["drift"]


def test_files_sent_are_rehearsed_before_they_are_applied(api: Api, world: World) -> None:
    """The sent runbook, not the applied one: without its drop rule nobody is paged."""
    body = {"files": FILES, **QUICK}
    answer = api("POST", REHEARSALS, world.token("owner"), json=body)
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert record["version"] is None and record["passed"] is False
    assert record["report"]["missed"] and record["time_to_page_s"] is None
    with world.app.store.read() as unit:
        applied = unit.system(SYSTEM)
    assert applied is not None and applied.version == 1, "nothing was applied"

    broken = [{"name": "watchkeeper.yaml", "text": SYSTEM_YAML.replace("tier: high", "tier: x")}]
    refused = api("POST", REHEARSALS, world.token("owner"), json={"files": broken})
    assert refused.status_code == 400
    assert refused.json()["problems"][0]["file"] == "watchkeeper.yaml"


def test_someone_holding_no_role_is_refused_and_it_is_audited(api: Api, world: World) -> None:
    answer = api("POST", REHEARSALS, world.token("unrelated"), json=QUICK)
    assert answer.status_code == 403 and answer.json()["kind"] == "forbidden"
    assert ROLES["unrelated"] in answer.json()["detail"]
    assert refusals(world) == [(ROLES["unrelated"], answer.json()["detail"])]
    assert api("GET", REHEARSALS, world.token("unrelated")).json() == []
    assert api("POST", REHEARSALS, None, json=QUICK).status_code == 401


def test_an_unknown_system_is_404(api: Api, world: World) -> None:
    for method, body in (("POST", QUICK), ("GET", None)):
        answer = api(method, "/api/v1/systems/nope/rehearsals", world.token("admin"), json=body)
        assert answer.status_code == 404, (method, answer.text)
        assert "nope" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "params", "field"),
    [
        ({"scenario": "quality-drop", "colour": "red"}, None, "body.colour"),
        ({"budget": 0}, None, "body.budget"),
        ({"budget": 601}, None, "body.budget"),
        ({"files": []}, None, "body.files"),
        (None, {"limit": 0}, "query.limit"),
        (None, {"limit": 201}, "query.limit"),
    ],
)
@SQLITE_ONLY
def test_bad_input_is_a_400_naming_the_field(
    api: Api, world: World, body: dict[str, Any] | None, params: dict[str, int] | None, field: str
) -> None:
    """Malformed requests are 400s here, as on every route (FastAPI's 422 is not used)."""
    method = "POST" if body is not None else "GET"
    answer = api(method, REHEARSALS, world.token("owner"), json=body, params=params)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_an_unknown_scenario_is_a_400_naming_it(api: Api, world: World) -> None:
    answer = api("POST", REHEARSALS, world.token("owner"), json={"scenario": "meteor"})
    assert answer.status_code == 400 and "meteor" in answer.json()["detail"]


def test_a_server_busy_rehearsing_refuses_another_rather_than_queue_it(
    api: Api, world: World
) -> None:
    held = [_rehearsal_routes._running.acquire(blocking=False) for _ in range(2)]
    try:
        assert held == [True, True]
        answer = api("POST", REHEARSALS, world.token("owner"), json=QUICK)
        assert answer.status_code == 409 and "already running" in answer.json()["detail"]
    finally:
        for _ in held:
            _rehearsal_routes._running.release()
    assert api("POST", REHEARSALS, world.token("owner"), json=QUICK).status_code == 201
