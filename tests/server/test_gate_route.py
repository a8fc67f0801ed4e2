"""POST /api/v1/gate: the readiness gate over manifests a CI runner sends, judged by the people,
teams and acknowledgements the server records — read-only, for anyone authenticated."""

from __future__ import annotations

from typing import Any

from tests.server._world import ROLES, SYSTEM, SYSTEM_YAML, Api, World, rehearsed

# The repo's manifest once Ivy (who left) is no longer named a kill authority.
CURRENT = SYSTEM_YAML.replace(", ivy@corp.example]", "]")
# Who holds a role in it: one person each, Tess for her team oncall.
HOLDERS = (
    *("olga@corp.example", "quinn@corp.example", "rita@corp.example", "dan@corp.example"),
    *("kim@corp.example", "tess@corp.example"),
)


def _files(text: str, name: str = "repo/watchkeeper.yaml") -> dict[str, Any]:
    return {"files": [{"name": name, "text": text}]}


def _check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    [check] = [c for c in report["checks"] if c["id"] == check_id]
    return check


def _local(world: World, text: str) -> list[dict[str, object]]:
    """What the gate says over the server's store directly, for the same manifest."""
    path = world.folder / "sent.yaml"
    path.write_text(text, encoding="utf-8")
    charter = world.app.charter
    return [r.to_dict() for r in charter.gate(charter.load([str(path)]), world.app.clock.now())]


def test_not_ready_until_the_holders_acknowledge_through_the_server(api: Api, world: World) -> None:
    token = world.token("owner")  # those who may apply may ask
    [before] = api("POST", "/api/v1/gate", token, json=_files(CURRENT)).json()
    assert (before["system"], before["ready"], before["not_checked"]) == (SYSTEM, False, [])
    acknowledged = _check(before, "charter.acknowledged")
    assert acknowledged["passed"] is False and acknowledged["detail"].startswith("6 of 6 not")
    assert "olga@corp.example runs `wk ack triage-bot all`" in acknowledged["fix"]
    assert [before] == _local(world, CURRENT)

    acks = f"/api/v1/systems/{SYSTEM}/acks"
    for holder in HOLDERS:
        response = api("POST", acks, world.tokens[holder], json={"role": "all"})
        assert response.status_code == 200, response.text

    rehearsed(world.app, CURRENT)
    [after] = api("POST", "/api/v1/gate", token, json=_files(CURRENT)).json()
    assert (after["ready"], after["score"]) == (True, 100)
    assert _check(after, "charter.acknowledged") == {
        **acknowledged,
        "passed": True,
        "detail": "all 6 acknowledged",
        "fix": "",
    }
    assert [after] == _local(world, CURRENT)
    # the stored manifest still names Ivy, who left and cannot acknowledge: the gate judges the
    # files sent, not what was applied
    [stored] = api("POST", "/api/v1/gate", token, json=_files(SYSTEM_YAML)).json()
    assert stored["ready"] is False
    assert (
        "ivy@corp.example (kill_authority pending)"
        in _check(stored, "charter.acknowledged")["detail"]
    )


def test_the_gate_applies_and_records_nothing(api: Api, world: World) -> None:
    audited = len(world.app.access.audit_entries(None, 1000))
    renamed = CURRENT.replace("title: Ticket triage", "title: Renamed")
    response = api("POST", "/api/v1/gate", world.token("owner"), json=_files(renamed))
    assert response.status_code == 200
    status = api("GET", f"/api/v1/systems/{SYSTEM}", world.token("owner")).json()
    assert (status["title"], status["version"]) == ("Ticket triage", 1)
    assert len(world.app.access.audit_entries(None, 1000)) == audited


def test_manifest_problems_come_back_located_in_the_sent_files(api: Api, world: World) -> None:
    broken = "apiVersion: watchkeeper/v1\nkind: AISystem\nmetadata: {name: Bad Name}\n"
    stranger = CURRENT.replace("data_liaison: dan@corp.example", "data_liaison: nob@corp.example")
    for text, line, fragment in (
        (broken, 3, "not a valid name"),
        (stranger, stranger.splitlines().index("    data_liaison: nob@corp.example") + 1, "nob@"),
    ):
        response = api("POST", "/api/v1/gate", world.token("owner"), json=_files(text))
        assert response.status_code == 400, response.text
        [problem] = response.json()["problems"]
        assert (problem["file"], problem["line"]) == ("repo/watchkeeper.yaml", line)
        assert fragment in problem["message"]
    empty = api("POST", "/api/v1/gate", world.token("owner"), json={"files": []})
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "body.files"


def test_the_gate_needs_an_active_person(api: Api, world: World) -> None:
    for token in (None, "wk_not-a-real-token"):
        response = api("POST", "/api/v1/gate", token, json=_files(CURRENT))
        assert response.status_code == 401, token
        assert response.json()["kind"] == "unauthenticated"
    gone = api("POST", "/api/v1/gate", world.token("inactive"), json=_files(CURRENT))
    assert gone.status_code == 403 and "inactive" in gone.json()["detail"]


def test_someone_who_may_apply_nothing_is_refused_before_the_yaml_is_parsed(
    api: Api, world: World
) -> None:
    """The gate parses what it is sent, as apply does: only those who may apply get that."""
    unparseable = {"files": [{"name": "x.yaml", "text": "a: [" * 2000}]}
    refused = api("POST", "/api/v1/gate", world.token("unrelated"), json=unparseable)
    assert refused.status_code == 403
    with world.app.store.read() as unit:
        [denial] = [e for e in unit.audit_entries() if e.action == "access.denied"][-1:]
    assert denial.actor == ROLES["unrelated"]
