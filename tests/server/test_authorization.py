"""The authorization matrix: every mutating endpoint x every role -> allowed, or 403 with the
refusal in the audit trail (401 without a token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import SQLITE_ONLY
from tests.server._world import ROLES, SYSTEM, SYSTEM_YAML, Api, World, api_for
from watchkeeper.app import build
from watchkeeper.errors import ActionError
from watchkeeper.server import create_app
from watchkeeper.server._routes import Acting
from watchkeeper.settings import Settings

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
@SQLITE_ONLY
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
    assert "uma@corp.example may apply nothing" in response.json()["detail"]
    status = api("GET", f"/api/v1/systems/{SYSTEM}", world.token("unrelated")).json()
    assert status["version"] == 1


def _register(api: Api, world: World, role: str, name: str, owner: str) -> httpx.Response:
    """`role` applies a new system `name` (the example's, under that name) owned by `owner`."""
    text = SYSTEM_YAML.replace("name: triage-bot", f"name: {name}").replace(
        "owner: olga@corp.example", f"owner: {owner}"
    )
    body = {"files": [{"name": f"{name}.yaml", "text": text}]}
    return api("POST", "/api/v1/apply", world.token(role), json=body)


def test_registering_a_new_system_is_a_right_the_operator_grants(world: World, api: Api) -> None:
    """Naming oneself owner no longer registers a system: only admins and the registrars of
    WATCHKEEPER_REGISTRARS may (none by default); each refusal says so and is audited."""
    response = _register(api, world, "unrelated", "uma-bot", ROLES["unrelated"])
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "WATCHKEEPER_REGISTRARS" in detail and "may apply nothing" in detail
    assert refusals(world)[-1] == (ROLES["unrelated"], detail)
    with world.app.store.read() as unit:
        assert unit.system("uma-bot") is None
    admin = _register(api, world, "admin", "adam-bot", ROLES["unrelated"])
    assert admin.status_code == 200
    again = _register(api, world, "unrelated", "adam-bot", ROLES["unrelated"])
    assert again.status_code == 200, "re-applying a system one owns keeps today's rule"


def test_registrars_are_people_or_teams_named_in_the_setting(world: World, store: Any) -> None:
    settings = Settings(db=world.app.settings.db, registrars=("oncall", "Uma@corp.example"))
    app = build(settings, store=store, clock=world.app.clock)
    for api in api_for(create_app(app)):
        for role in ("unrelated", "kill_authority_via_team"):
            name = f"{role.replace('_', '-')}-bot"
            response = _register(api, world, role, name, ROLES["owner"])
            assert response.status_code == 200, (role, response.text)
        refused = _register(api, world, "kill_authority", "kim-bot", ROLES["kill_authority"])
        assert refused.status_code == 403
        assert "WATCHKEEPER_REGISTRARS (oncall, uma@corp.example)" in refused.json()["detail"]
        inactive = _register(api, world, "inactive", "ivy-bot", ROLES["inactive"])
        assert inactive.status_code == 403


SILENCE = {"matchers": {"rule": "drop"}, "hours": 2, "reason": "retraining tonight"}


def test_a_silence_for_one_system_needs_someone_answerable_for_it(world: World, api: Api) -> None:
    """Owner, quality monitor, kill authorities and the escalation path may mute a system;
    nobody else, and only an admin may mute every system at once."""
    body = {**SILENCE, "system": SYSTEM}
    for role in (
        "owner",
        "other_role_holder",
        "kill_authority",
        "kill_authority_via_team",
        "admin",
    ):
        response = api("POST", "/api/v1/silences", world.token(role), json=body)
        assert response.status_code == 201, (role, response.text)
    for role in ("unrelated", "inactive"):
        before = refusals(world)
        response = api("POST", "/api/v1/silences", world.token(role), json=body)
        assert response.status_code == 403, role
        assert refusals(world)[len(before) :] == [(ROLES[role], response.json()["detail"])]
    retrain = api("POST", "/api/v1/silences", world.tokens["rita@corp.example"], json=body)
    assert retrain.status_code == 403
    assert "may not silence triage-bot" in retrain.json()["detail"]
    for role in ("owner", "kill_authority", "unrelated"):
        response = api("POST", "/api/v1/silences", world.token(role), json=SILENCE)
        assert response.status_code == 403, role
        assert "every system" in response.json()["detail"]
    assert api("POST", "/api/v1/silences", world.token("admin"), json=SILENCE).status_code == 201
    with world.app.store.read() as unit:
        made = [e for e in unit.audit_entries() if e.action == "silence.created"]
    assert len(made) == 6


def test_a_systems_data_is_written_by_those_who_answer_for_it(world: World, api: Api) -> None:
    """Observations, feedback and flags drive a system's alerts and playbooks, up to disabling
    it: its role holders, its escalation path and admins write them, not any active person."""
    writes = [
        (f"/api/v1/systems/{SYSTEM}/observations", {"items": [{"id": "w1"}]}),
        (f"/api/v1/systems/{SYSTEM}/feedback", {"observation_id": "w1", "label": "ok"}),
        (f"/api/v1/systems/{SYSTEM}/flags", {"observation_id": "w1", "reason": "odd"}),
    ]
    for path, body in writes:
        before = refusals(world)
        refused = api("POST", path, world.token("unrelated"), json=body)
        assert refused.status_code == 403, path
        assert "may not" in refused.json()["detail"] and "escalation path" in refused.text
        assert refusals(world)[len(before) :] == [(ROLES["unrelated"], refused.json()["detail"])]
        for role in ("other_role_holder", "kill_authority_via_team", "admin"):
            response = api("POST", path, world.token(role), json=body)
            assert response.status_code in (200, 201), (path, role, response.text)


def test_only_the_owner_signs_off_a_review(world: World, api: Api) -> None:
    path, body = f"/api/v1/systems/{SYSTEM}/reviews", {"verdict": "healthy"}
    refused = api("POST", path, world.token("other_role_holder"), json=body)
    assert refused.status_code == 403
    assert "only its owner (olga@corp.example) or an admin may" in refused.json()["detail"]
    assert refusals(world)[-1] == (ROLES["other_role_holder"], refused.json()["detail"])
    assert api("POST", path, world.token("owner"), json=body).status_code == 201


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


def anonymous_refusals(world: World) -> list[Any]:
    with world.app.store.read() as unit:
        return [
            e
            for e in unit.audit_entries()
            if e.action == "access.denied" and e.actor == "anonymous"
        ]


def test_every_unauthenticated_attempt_on_the_switch_is_audited(world: World, api: Api) -> None:
    path = f"/api/v1/systems/{SYSTEM}/switch"
    body = {"state": "disabled", "reason": "let me in"}
    attempts = [
        api("POST", path, json=body),
        api("POST", path, "wk_not-a-real-token", json=body),
        api("POST", path, headers={"Authorization": "Basic YTpi"}, json=body),
        api("POST", path, "wk_not-a-real-token", json=body),
    ]
    assert [r.status_code for r in attempts] == [401] * 4
    recorded = anonymous_refusals(world)
    assert [e.reason for e in recorded] == [r.json()["detail"] for r in attempts]
    assert {(e.system, e.target) for e in recorded} == {(SYSTEM, path)}
    assert all(e.after["attempted"] == f"POST {path}" and e.after["client"] for e in recorded)
    assert api("POST", path, world.token("kill_authority"), json=body).status_code == 200


def test_noise_from_the_unauthenticated_is_one_row_per_interval_with_a_count(world: World) -> None:
    """300 bad credentials (or bad signatures) in a burst write one row; the count of the rest
    follows once the interval is over, with the next row of the same kind."""
    server = create_app(world.app)

    @server.get("/api/v1/signed/{name}")
    def signed(name: str) -> None:
        raise ActionError("forbidden", "this link is not valid (wrong or old link)")

    clock: Any = world.app.clock
    for api in api_for(server):
        for _ in range(300):
            assert api("GET", "/api/v1/systems", "wk_guess").status_code == 401
            assert api("GET", f"/api/v1/signed/{SYSTEM}").status_code == 403
        first = anonymous_refusals(world)
        assert sorted((e.target, e.after["count"]) for e in first) == [
            ("/api/v1/signed/triage-bot", 1),
            ("/api/v1/systems", 1),
        ]
        clock.advance(timedelta(minutes=2))
        assert api("GET", "/api/v1/systems", "wk_guess").status_code == 401
        after = anonymous_refusals(world)[len(first) :]
    counts = sorted((e.target, e.after["count"]) for e in after)
    assert counts == [
        ("/api/v1/signed/triage-bot", 299),
        ("/api/v1/systems", 1),
        ("/api/v1/systems", 299),
    ]
    assert all(e.after["client"] == "127.0.0.1" for e in after)


def test_re_applying_people_keeps_a_deactivated_person_out(world: World, api: Api) -> None:
    ivy = world.token("inactive")
    body = {"files": [{"name": "people.yaml", "text": world.people_file.read_text()}]}
    applied = api("POST", "/api/v1/apply", world.token("admin"), json=body)
    assert applied.status_code == 200
    [change] = [c for c in applied.json() if c["name"] == ROLES["inactive"]]
    assert any(d.startswith("not reactivated") for d in change["details"])
    assert api("GET", "/api/v1/systems", ivy).status_code == 403
    path = f"/api/v1/people/{ROLES['inactive']}/reactivate"
    refused = api("POST", path, world.token("owner"))
    assert refused.status_code == 403 and "only admins may reactivate" in refused.json()["detail"]
    assert refusals(world)[-1] == (ROLES["owner"], refused.json()["detail"])
    assert api("POST", path, world.token("admin")).json()["action"] == "updated"
    assert api("GET", "/api/v1/systems", ivy).status_code == 200


def test_tokens_are_listed_and_revoked_by_their_holder_or_an_admin(world: World, api: Api) -> None:
    uma, olga, admin = (world.token(r) for r in ("unrelated", "owner", "admin"))
    second = api(
        "POST", "/api/v1/tokens", admin, json={"email": ROLES["unrelated"], "expires": "90d"}
    )
    assert second.status_code == 201
    issued = second.json()
    assert issued["expires_at"] == (world.app.clock.now() + timedelta(days=90)).isoformat()
    mine = api("GET", "/api/v1/tokens", uma).json()
    assert {t["prefix"] for t in mine} == {uma[:10], issued["prefix"]}
    assert all(t["person"] == ROLES["unrelated"] and t["status"] == "active" for t in mine)
    assert "token" not in mine[0] and "digest" not in mine[0]
    refused = api("GET", f"/api/v1/tokens?person={ROLES['owner']}", uma)
    assert refused.status_code == 403
    everyone = api("GET", "/api/v1/tokens", admin).json()
    assert len(everyone) == len(world.tokens) + 1
    theirs = api("POST", f"/api/v1/tokens/{olga[:10]}/revoke", uma)
    assert theirs.status_code == 403 and refusals(world)[-1][0] == ROLES["unrelated"]
    revoked = api("POST", f"/api/v1/tokens/{issued['id']}/revoke", uma)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    refused_now = api("GET", "/api/v1/systems", issued["token"])
    assert refused_now.status_code == 401 and "revoked" in refused_now.json()["detail"]
    assert api("GET", "/api/v1/systems", uma).status_code == 200
    by_admin = api("POST", f"/api/v1/tokens/{olga[:10]}/revoke", admin)
    assert by_admin.json()["revoked_by"] == ROLES["admin"]
    assert api("GET", "/api/v1/systems", olga).status_code == 401
    assert api("POST", "/api/v1/tokens/wk_nothing/revoke", admin).status_code == 404
    with world.app.store.read() as unit:
        actions = [e.action for e in unit.audit_entries()]
    assert actions.count("token.revoked") == 2


def test_an_expired_token_is_refused_at_once(world: World, api: Api) -> None:
    short = api(
        "POST",
        "/api/v1/tokens",
        world.token("admin"),
        json={"email": ROLES["owner"], "expires": "1d"},
    )
    token = short.json()["token"]
    assert api("GET", "/api/v1/systems", token).status_code == 200
    world.app.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    expired = api("GET", "/api/v1/systems", token)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    bad = api(
        "POST",
        "/api/v1/tokens",
        world.token("admin"),
        json={"email": ROLES["owner"], "expires": "soon"},
    )
    assert bad.status_code == 400 and "expires" in bad.json()["detail"]
