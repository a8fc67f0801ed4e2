"""SCIM 2.0 at /scim/v2 through the real server on a real socket: the python-scim project's
conformance checker (scim2-tester) and client (scim2-client) against it, then the requests Okta
and Entra ID send, deprovisioning (roles vacant, owners or admins told, audited), the SCIM
token's reach, and bad input answered in SCIM's error format, audited, with nothing changed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from alembic import command
from alembic.config import Config
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ListResponse, SearchRequest
from scim2_tester import Status, check_server
from sqlalchemy import text

import watchkeeper.store
from tests.conftest import SQLITE_ONLY
from tests.server._world import ROLES, SYSTEM, World
from watchkeeper.access import directory_of
from watchkeeper.app import Operations
from watchkeeper.charter.roles import vacant_roles
from watchkeeper.server import LiveServer
from watchkeeper.store import manifest_of

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ACTOR = "scim:okta"
MIGRATIONS = Path(watchkeeper.store.__file__).parent / "migrations"


@pytest.fixture
def token(world: World) -> str:
    setup = world.app.access
    return setup.create_scim_token("okta", ROLES["admin"], world.app.clock.now()).token


class Scim:
    """Plain HTTP to /scim/v2 on the live server, as an identity provider's connector sends."""

    def __init__(self, url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=f"{url}/scim/v2", headers=headers, timeout=30)

    def __call__(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["json"] = body
            kwargs.setdefault("headers", {})["Content-Type"] = SCIM_JSON
        return self.client.request(method, path, **kwargs)

    def user(self, email: str) -> dict[str, Any]:
        found = self("GET", "/Users", params={"filter": f'userName eq "{email}"'}).json()
        assert found["totalResults"] == 1, found
        return dict(found["Resources"][0])

    def patch(self, path: str, *operations: dict[str, Any]) -> httpx.Response:
        return self("PATCH", path, {"schemas": [PATCH], "Operations": list(operations)})


@pytest.fixture
def live(world: World) -> Iterator[LiveServer]:
    with LiveServer(world.app) as server:
        yield server


@pytest.fixture
def scim(live: LiveServer, token: str) -> Iterator[Scim]:
    client = Scim(live.url, token)
    yield client
    client.client.close()


def new_user(email: str, name: str = "New Person", **more: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": email, "name": {"formatted": name}, **more}


def audit(world: World, action: str | None = None) -> list[Any]:
    with world.app.store.read() as unit:
        return [e for e in unit.audit_entries() if action is None or e.action == action]


def vacant(world: World) -> list[str]:
    with world.app.store.read() as unit:
        record = unit.system(SYSTEM)
        assert record is not None
        return vacant_roles(manifest_of(record).spec.charter, directory_of(unit))


def told(world: World) -> dict[str, str]:
    """Who was told of a vacancy, and its title (by recipient)."""
    with world.app.store.read() as unit:
        return {
            d.recipient: d.title
            for d in unit.alerting.deliveries(system=SYSTEM)
            if d.purpose == "vacancy"
        }


def people(world: World) -> list[Any]:
    with world.app.store.read() as unit:
        return unit.people()


# --- a conformance checker and a client from PyPI --------------------------------------------


@SQLITE_ONLY
def test_the_scim2_tester_conformance_checks_pass(live: LiveServer, token: str) -> None:
    """Discovery, CRUD, queries with attributes, and PATCH add/replace/remove on Users and
    Groups, as the checker drives them from what our Schemas publish. Its random userNames
    are made emails, as an identity provider's are (Watchkeeper names people by email)."""
    http = httpx2.Client(
        base_url=f"{live.url}/scim/v2", headers={"Authorization": f"Bearer {token}"}
    )
    client = SyncSCIMClient(http)
    client.discover()
    user_model = client.get_resource_model("User")
    assert user_model is not None
    user_model.model_fields["user_name"].examples = [
        f"user{random.randrange(10**12)}@corp.example" for _ in range(10_000)
    ]
    results = check_server(client)
    failed = [(r.title, r.resource_type, r.reason) for r in results if r.status == Status.ERROR]
    passed = [r for r in results if r.status == Status.SUCCESS]
    # The one departure, chosen: `remove active` would leave a person neither active nor not
    # (read back as the default, active), so it is refused; false deprovisions, true restores.
    refused_remove = "Failed to remove attribute 'active': Operations[0]: active cannot be removed"
    assert [(t, k, r[: len(refused_remove)]) for t, k, r in failed] == [
        ("check_remove_attribute", "User", refused_remove)
    ], "\n".join(map(str, failed))
    assert len(passed) >= 20, [(r.title, r.status) for r in results]
    http.close()


def test_the_scim2_client_creates_finds_and_groups_people(
    world: World, live: LiveServer, token: str
) -> None:
    http = httpx2.Client(
        base_url=f"{live.url}/scim/v2", headers={"Authorization": f"Bearer {token}"}
    )
    client = SyncSCIMClient(http)
    client.discover()
    user_model, group_model = client.get_resource_model("User"), client.get_resource_model("Group")
    assert user_model is not None and group_model is not None
    created = client.create(
        user_model(user_name="Nia@Corp.example", display_name="Nia New", external_id="00u1")
    )
    assert created.user_name == "nia@corp.example" and created.id and created.active is True
    assert created.meta.resource_type == "User"
    assert created.meta.location == f"{live.url}/scim/v2/Users/{created.id}"

    found = client.query(user_model, query_parameters=SearchRequest(filter='externalId eq "00u1"'))
    assert isinstance(found, ListResponse) and [u.id for u in found.resources] == [created.id]
    assert client.query(user_model, created.id).display_name == "Nia New"

    group = client.create(group_model(display_name="Fraud ML", members=[{"value": created.id}]))
    assert group.display_name == "Fraud ML" and [m.value for m in group.members] == [created.id]
    with world.app.store.read() as unit:
        assert {t.name: t.members for t in unit.teams()}["fraud-ml"] == ["nia@corp.example"]
        person = unit.person("nia@corp.example")
    assert person is not None and person.name == "Nia New" and person.active
    http.close()


# --- discovery and paging ---------------------------------------------------------------------


@SQLITE_ONLY
def test_discovery_and_paging_answer_in_scims_format(scim: Scim, world: World) -> None:
    config = scim("GET", "/ServiceProviderConfig")
    assert config.headers["content-type"].startswith(SCIM_JSON)
    assert config.json()["patch"]["supported"] is True
    assert config.json()["filter"] == {"supported": True, "maxResults": 1000}
    kinds = scim("GET", "/ResourceTypes").json()
    assert {r["name"]: r["endpoint"] for r in kinds["Resources"]} == {
        "User": "/Users",
        "Group": "/Groups",
    }
    assert scim("GET", f"/Schemas/{USER}").json()["attributes"][0]["name"] == "userName"

    everyone = sorted(p.email for p in people(world))
    page = scim("GET", "/Users", params={"startIndex": 3, "count": 4}).json()
    assert page["totalResults"] == len(everyone) and page["startIndex"] == 3
    assert [u["userName"] for u in page["Resources"]] == everyone[2:6]
    only = scim("GET", "/Users", params={"attributes": "userName", "count": 1}).json()
    assert set(only["Resources"][0]) == {"schemas", "id", "userName"}
    either = 'userName eq "OLGA@corp.example" or emails.value eq "kim@corp.example"'
    found = scim("GET", "/Users", params={"filter": either}).json()
    assert sorted(u["userName"] for u in found["Resources"]) == [
        ROLES["kill_authority"],
        ROLES["owner"],
    ]
    team = scim("GET", "/Groups", params={"filter": 'displayName eq "oncall"'}).json()
    [oncall] = team["Resources"]
    tess = scim.user(ROLES["kill_authority_via_team"])
    assert [m["value"] for m in oncall["members"]] == [tess["id"]]


# --- deprovisioning ---------------------------------------------------------------------------


def test_okta_deactivating_the_owner_vacates_their_roles_and_tells_the_admins(
    scim: Scim, world: World, live: LiveServer
) -> None:
    olga = scim.user(ROLES["owner"])
    assert "owner" not in vacant(world)
    answer = scim.patch(f"/Users/{olga['id']}", {"op": "replace", "value": {"active": False}})
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert "owner" in vacant(world)
    # the owner left: the admins must fill it
    assert told(world) == {ROLES["admin"]: f"{SYSTEM}: owner vacant ({ROLES['owner']} left)"}
    [entry] = [e for e in audit(world, "person.updated") if e.target == ROLES["owner"]]
    assert entry.actor == ACTOR and entry.after["active"] is False
    refused = httpx.get(
        f"{live.url}/api/v1/systems",
        headers={"Authorization": f"Bearer {world.token('owner')}"},
    )
    assert refused.status_code == 403  # her API token stopped with her

    # people.yaml still says she is active: the deprovisioning holds
    Operations(world.app, ROLES["admin"], world.app.clock.now(), enforce=True).apply(
        [str(world.people_file)]
    )
    assert scim.user(ROLES["owner"])["active"] is False

    back = scim.patch(f"/Users/{olga['id']}", {"op": "replace", "path": "active", "value": True})
    assert back.json()["active"] is True and "owner" not in vacant(world)


def test_entra_deactivating_a_role_holder_tells_the_owner(scim: Scim, world: World) -> None:
    quinn = scim.user(ROLES["other_role_holder"])
    answer = scim.patch(
        f"/Users/{quinn['id']}", {"op": "Replace", "path": "active", "value": "False"}
    )
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert vacant(world) == ["quality_monitor"]
    assert told(world) == {
        ROLES["owner"]: f"{SYSTEM}: quality_monitor vacant ({ROLES['other_role_holder']} left)"
    }


def test_delete_deprovisions_and_the_user_is_gone(scim: Scim, world: World) -> None:
    rita = scim.user("rita@corp.example")
    assert scim("DELETE", f"/Users/{rita['id']}").status_code == 204
    assert "retraining_decider" in vacant(world)
    gone = scim("GET", f"/Users/{rita['id']}")
    assert gone.status_code == 404 and gone.json()["schemas"] == [ERROR]
    assert told(world) == {
        ROLES["owner"]: f"{SYSTEM}: retraining_decider vacant (rita@corp.example left)"
    }
    with world.app.store.read() as unit:
        person = unit.person("rita@corp.example")
    assert person is not None and not person.active  # kept, for the audit trail
    again = scim("POST", "/Users", new_user("rita@corp.example", "Rita Again"))
    assert again.status_code == 201 and again.json()["id"] == rita["id"]
    assert again.json()["active"] is True and "retraining_decider" not in vacant(world)


def test_an_admins_deactivation_is_not_undone_by_the_identity_provider(
    scim: Scim, world: World
) -> None:
    ivy = scim.user(ROLES["inactive"])  # deactivated by hand in the world
    answer = scim("PUT", f"/Users/{ivy['id']}", new_user(ROLES["inactive"], "Ivy", active=True))
    assert answer.status_code == 200 and answer.json()["active"] is False


# --- groups: Okta's and Entra's member changes --------------------------------------------------


def test_group_members_change_as_okta_and_entra_send_them(scim: Scim, world: World) -> None:
    uma, zed = scim.user(ROLES["unrelated"]), scim.user("zed@corp.example")
    created = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Risk Reviewers"})
    assert created.status_code == 201 and created.headers["location"].endswith(created.json()["id"])
    group = f"/Groups/{created.json()['id']}"
    # Entra: Add with a list of values
    scim.patch(group, {"op": "Add", "path": "members", "value": [{"value": uma["id"]}]})
    # Okta: add, then remove by filter
    scim.patch(group, {"op": "add", "path": "members", "value": [{"value": zed["id"]}]})

    def members() -> list[str]:
        with world.app.store.read() as unit:
            return {t.name: t.members for t in unit.teams()}["risk-reviewers"]

    assert members() == [ROLES["unrelated"], "zed@corp.example"]
    scim.patch(group, {"op": "remove", "path": f'members[value eq "{uma["id"]}"]'})
    assert members() == ["zed@corp.example"]
    # Entra: Remove with the value in the body
    scim.patch(group, {"op": "Remove", "path": "members", "value": [{"value": zed["id"]}]})
    assert members() == []
    renamed = scim.patch(group, {"op": "replace", "value": {"displayName": "Risk Board"}})
    assert renamed.json()["displayName"] == "Risk Board" and members() == []  # same team
    assert scim("DELETE", group).status_code == 204
    assert scim("GET", group).status_code == 404


# --- the SCIM token's reach -------------------------------------------------------------------


@SQLITE_ONLY
def test_only_a_scim_token_opens_scim_and_it_opens_nothing_else(
    live: LiveServer, world: World, token: str
) -> None:
    nobody = Scim(live.url, None)
    answer = nobody("GET", "/Users")
    assert answer.status_code == 401 and answer.json()["schemas"] == [ERROR]
    assert answer.json()["status"] == "401"

    person = Scim(live.url, world.token("admin"))
    refused = person("GET", "/Users")
    assert refused.status_code == 403 and "only a SCIM token" in refused.json()["detail"]
    [entry] = [e for e in audit(world, "access.denied") if e.target == "/scim/v2"]
    assert entry.actor == ROLES["admin"]

    api = httpx.get(f"{live.url}/api/v1/systems", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403 and "SCIM token" in api.json()["detail"]
    assert any(e.actor == ACTOR for e in audit(world, "access.denied"))

    with world.app.store.read() as unit:
        [record] = [t for t in unit.tokens() if t.kind == "scim"]
    world.app.access.revoke_token(record, ROLES["admin"], world.app.clock.now())
    revoked = Scim(live.url, token)("GET", "/Users")
    assert revoked.status_code == 401 and "wk token create --scim" in revoked.json()["detail"]


@SQLITE_ONLY
def test_wk_token_create_scim_issues_one_locally(wk: Any, world: World) -> None:
    code, out, err = wk("token", "create", "--scim", "--name", "entra", "--expires", "365d")
    assert code == 0 and out.startswith("wk_") and "for scim:entra" in err
    code, out, _ = wk("token", "list", "--json", user=ROLES["admin"])
    assert code == 0 and '"kind": "scim"' in out
    code, _, err = wk("token", "create", "--scim", ROLES["owner"])
    assert code == 2 and "one of the two" in err


@SQLITE_ONLY
def test_wk_token_create_scim_through_the_server_is_for_admins(remote: Any, world: World) -> None:
    code, out, err = remote("token", "create", "--scim", "--name", "okta",
                            token=world.token("admin"))  # fmt: skip
    assert code == 0 and out.startswith("wk_"), err
    answer = Scim(remote.url, out.strip())("GET", "/Users")
    assert answer.status_code == 200
    code, _, err = remote("token", "create", "--scim", token=world.token("owner"))
    assert code == 2 and "only admins may issue API tokens" in err


# --- bad input: SCIM's error format, audited, nothing changed --------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "scim_type"),
    [
        (
            "POST",
            "/Users",
            {"schemas": [USER, "urn:example:custom:2.0:User"], "userName": "x@corp.example"},
            400,
            "invalidValue",
        ),
        ("POST", "/Users", new_user("OLGA@corp.example"), 409, "uniqueness"),
        ("POST", "/Users", new_user("not-an-email"), 400, "invalidValue"),
        (
            "PATCH",
            "{olga}",
            {"op": "replace", "path": "active", "value": "maybe"},
            400,
            "invalidValue",
        ),
        ("PATCH", "{olga}", {"op": "replace", "path": "members", "value": []}, 400, "invalidPath"),
        ("PATCH", "{olga}", {"op": "replace", "path": "emails[[", "value": 1}, 400, "invalidPath"),
        (
            "PATCH",
            "{oncall}",
            {"op": "replace", "path": 'members[value eq "nobody"].type', "value": "User"},
            400,
            "noTarget",
        ),
        ("PATCH", "{olga}", {"op": "remove"}, 400, "noTarget"),
        ("PUT", "{olga}", new_user("someone-else@corp.example"), 400, "mutability"),
        ("PUT", "/Users/no-such-id", new_user(ROLES["owner"]), 404, None),
        ("POST", "/Groups", {"schemas": [GROUP], "displayName": "oncall"}, 409, "uniqueness"),
        (
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": "x", "members": [{"value": "nobody"}]},
            400,
            "invalidValue",
        ),
    ],
)
@SQLITE_ONLY
def test_bad_input_is_a_scim_error_audited_with_nothing_changed(
    scim: Scim,
    world: World,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    scim_type: str | None,
) -> None:
    olga = scim.user(ROLES["owner"])
    [oncall] = scim("GET", "/Groups", params={"filter": 'displayName eq "oncall"'}).json()[
        "Resources"
    ]
    path = path.replace("{olga}", f"/Users/{olga['id']}").replace(
        "{oncall}", f"/Groups/{oncall['id']}"
    )
    if method == "PATCH":
        body = {"schemas": [PATCH], "Operations": [body]}
    before = (people(world), scim("GET", "/Groups").json()["Resources"])
    answer = scim(method, path, body)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["schemas"] == [ERROR] and error["status"] == str(status)
    assert error.get("scimType") == scim_type and error["detail"]
    assert answer.headers["content-type"].startswith(SCIM_JSON)
    assert (people(world), scim("GET", "/Groups").json()["Resources"]) == before
    [entry] = [e for e in audit(world, "access.denied") if e.actor == ACTOR]
    assert entry.after["attempted"] == f"{method} /scim/v2{path}" and str(status) in entry.reason


@pytest.mark.parametrize(
    ("flt", "says"),
    [
        ("userName eq", "ends"),
        ('userName like "x"', "not a SCIM operator"),
        ('(userName eq "x"', "missing ')'"),
        ("userName eq bare", "not a value"),
    ],
)
@SQLITE_ONLY
def test_an_invalid_filter_is_invalid_filter(scim: Scim, flt: str, says: str) -> None:
    answer = scim("GET", "/Users", params={"filter": flt})
    assert answer.status_code == 400
    assert answer.json()["scimType"] == "invalidFilter" and says in answer.json()["detail"]


@SQLITE_ONLY
def test_unknown_ids_and_endpoints_are_404s(scim: Scim) -> None:
    for path in ("/Users/nope", "/Groups/nope", "/Nothing", "/Schemas/urn:x"):
        answer = scim("GET", path)
        assert answer.status_code == 404 and answer.json()["status"] == "404", path
    assert scim("POST", "/.search", {"schemas": []}).status_code == 501


@SQLITE_ONLY
def test_a_body_that_is_not_json_is_invalid_syntax(scim: Scim) -> None:
    answer = scim("POST", "/Users", content=b"{nope", headers={"Content-Type": SCIM_JSON})
    assert answer.status_code == 400 and answer.json()["scimType"] == "invalidSyntax"


# --- the migration ----------------------------------------------------------------------------


def test_the_migration_gives_everyone_a_lasting_id(world: World) -> None:
    """Going back drops what SCIM added; coming forward gives every person and team an id."""
    store = world.app.store
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def migrate(step: Any, to: str) -> None:
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            step(config, to)

    migrate(command.downgrade, "0017")
    migrate(command.upgrade, "head")
    with store.engine.connect() as conn:
        ids = conn.execute(text("SELECT scim_id FROM people")).scalars().all()
        teams = conn.execute(text("SELECT scim_id FROM teams")).scalars().all()
    assert len(ids) == len(set(ids)) == 10 and all(ids) and teams and all(teams)


@SQLITE_ONLY
def test_a_body_over_the_limit_is_refused_in_scims_format(scim: Scim, world: World) -> None:
    """The body limit stands in front of every route; under /scim/v2 its 413 is still one an
    identity provider's connector can parse, declared length or streamed."""
    huge = new_user("big@corp.example") | {"displayName": "x" * (2 * 1024 * 1024)}
    before = people(world)
    declared = scim("POST", "/Users", huge)
    streamed = scim(
        "POST",
        "/Users",
        content=iter([json.dumps(huge).encode()]),
        headers={"Content-Type": SCIM_JSON},
    )
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"].startswith(SCIM_JSON)
        error = answer.json()
        assert error["schemas"] == [ERROR] and error["status"] == "413"
        assert "over the limit of 1 MiB" in error["detail"]
    assert people(world) == before
