"""Service tokens through the real server: issued by a system's owner or an admin, they feed
that one system (observations, feedback, flags, OTLP) and read its kill switch, and everything
else — another system, any other route — is a recorded 403 naming the token's scope; expiry
and revocation are a 401 at once; `wk token` issues, lists and revokes them; the SDK serves on
one over a real socket."""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

import watchkeeper.store
from tests.conftest import SQLITE_ONLY
from tests.sdk._wait import until
from tests.server._world import ROLES, SYSTEM, Api, World
from watchkeeper import Client
from watchkeeper.access import token_digest
from watchkeeper.app import Operations
from watchkeeper.clock import FixedClock
from watchkeeper.errors import ActionError
from watchkeeper.server import LiveServer
from watchkeeper.store import PersonRecord, Store

MIGRATIONS = Path(watchkeeper.store.__file__).parent / "migrations"

OTHER = "other-bot"
OTHER_YAML = f"""\
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {{name: {OTHER}}}
spec:
  charter: {{owner: {ROLES["unrelated"]}}}
"""
ACTOR = f"service:{SYSTEM}/checkout"
REPORT = {
    "Watchkeeper-Process": "p" * 32,
    "Watchkeeper-Host": "web-1",
    "Watchkeeper-Pid": "4242",
    "Watchkeeper-Service": "checkout",
    "Watchkeeper-Holds": "0",
}


@pytest.fixture
def other(world: World) -> str:
    """A second system, owned by someone else, for the token to stay out of."""
    path = world.folder / "other.yaml"
    path.write_text(OTHER_YAML, encoding="utf-8")
    Operations(world.app, ROLES["admin"], world.app.clock.now(), enforce=True).apply([str(path)])
    return OTHER


def issue(api: Api, by: str, **body: Any) -> httpx.Response:
    return api("POST", "/api/v1/tokens", by, json=body)


def checkout(world: World, api: Api, **body: Any) -> str:
    """A service token of SYSTEM named checkout, issued by its owner."""
    issued = issue(api, world.token("owner"), service=SYSTEM, name="checkout", **body)
    assert issued.status_code == 201, issued.text
    return str(issued.json()["token"])


def denied(world: World) -> list[tuple[str, str, str | None]]:
    with world.app.store.read() as unit:
        return [
            (e.actor, e.after["attempted"], e.reason)
            for e in unit.audit_entries()
            if e.action == "access.denied"
        ]


def observations(world: World, system: str) -> int:
    with world.app.store.read() as unit:
        return unit.ingest.observation_count(system)


def switch_refusals(api: Api) -> dict[str, float]:
    counts = {}
    for line in api("GET", "/metrics").text.splitlines():
        if line.startswith("watchkeeper_switch_refused_total{"):
            labels, _, value = line.partition("} ")
            counts[labels.split('reason="')[1].rstrip('"')] = float(value)
    return counts


def test_a_systems_owner_or_an_admin_issues_one_and_nobody_else(world: World, api: Api) -> None:
    issued = issue(api, world.token("owner"), service=SYSTEM, name="checkout", expires="90d")
    assert issued.status_code == 201
    token = issued.json()
    assert token["token"].startswith("wk_") and token["prefix"] == token["token"][:10]
    assert (token["kind"], token["person"], token["system"], token["name"], token["actor"]) == (
        "service", None, SYSTEM, "checkout", ACTOR
    )  # fmt: skip
    assert token["expires_at"] == (world.app.clock.now() + timedelta(days=90)).isoformat()
    unnamed = issue(api, world.token("admin"), service=SYSTEM).json()
    assert unnamed["actor"] == f"service:{SYSTEM}/{unnamed['prefix']}"

    refused = issue(api, world.token("unrelated"), service=SYSTEM)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"{ROLES['unrelated']} may not issue service tokens for {SYSTEM}: only its owner "
        f"({ROLES['owner']}) or an admin may"
    )
    assert denied(world)[-1] == (ROLES["unrelated"], "token.create", refused.json()["detail"])
    kill_authority = issue(api, world.token("kill_authority"), service=SYSTEM)
    assert kill_authority.status_code == 403
    ghost = issue(api, world.token("admin"), service="ghost")
    assert ghost.status_code == 404 and "no system 'ghost'" in ghost.json()["detail"]
    for body, says in (
        ({"service": SYSTEM, "email": ROLES["owner"]}, "give one of"),
        ({}, "give one of"),
        ({"email": ROLES["owner"], "name": "x"}, "`name` labels a service or SCIM token"),
        ({"service": SYSTEM, "name": "two words"}, "body.name"),
        ({"service": SYSTEM, "expires": "soon"}, "body.expires"),
    ):
        bad = issue(api, world.token("admin"), **body)
        assert bad.status_code == 400 and says in bad.json()["detail"], (body, bad.text)

    with world.app.store.read() as unit:
        issues = [e for e in unit.audit_entries() if e.action == "token.issued"]
    assert (issues[-2].actor, issues[-2].target, issues[-2].system) == (
        ROLES["owner"], ACTOR, SYSTEM
    )  # fmt: skip
    assert issues[-2].after["kind"] == "service"


def test_it_feeds_its_system_and_reads_its_switch(world: World, api: Api) -> None:
    token = checkout(world, api)
    base = f"/api/v1/systems/{SYSTEM}"
    items = [{"id": "o-1", "inputs": {"q": "refund?"}, "output": "billing"}, {"id": "o-2"}]
    taken = api("POST", f"{base}/observations", token, json={"items": items})
    assert taken.status_code == 200 and taken.json()["accepted"] == 2
    feedback = api("POST", f"{base}/feedback", token, json={"observation_id": "o-1", "label": "x"})
    assert feedback.status_code == 200 and feedback.json()["accepted"] == 1
    flagged = api("POST", f"{base}/flags", token, json={"observation_id": "o-2", "reason": "odd"})
    assert flagged.status_code == 200
    assert flagged.json()["reason"] == f"flagged by {ACTOR}: odd"
    switch = api("GET", f"{base}/switch", token, headers=REPORT)
    assert switch.status_code == 200 and switch.json()["state"] == "enabled"
    report = api("POST", f"{base}/switch/report", token, headers=REPORT)
    assert report.status_code == 204
    assert observations(world, SYSTEM) == 2
    world.app.switch.drain(timeout=5)
    with world.app.store.read() as unit:
        [process] = unit.switch_processes.processes(SYSTEM)
        [item] = unit.care.triage_items(SYSTEM)
        [first] = unit.ingest.observations_by_id(SYSTEM, ["o-1"])
    assert (process.host, process.service) == ("web-1", "checkout")
    assert item.observation_id == "o-2" and first.feedback == {"label": "x"}
    assert denied(world) == []


def test_another_system_or_any_other_route_is_a_recorded_403_naming_its_scope(
    world: World, api: Api, other: str
) -> None:
    token = checkout(world, api)
    scope = (
        f"{ACTOR} is a service token of {SYSTEM}: it may only write observations, feedback and "
        f"flags of {SYSTEM} and read its kill switch, not "
    )
    before = switch_refusals(api)
    elsewhere = api("POST", f"/api/v1/systems/{other}/observations", token, json=[{"id": "x"}])
    assert elsewhere.status_code == 403
    assert elsewhere.json()["detail"] == f"{scope}write observations of {other}"
    poll = api("GET", f"/api/v1/systems/{other}/switch", token, headers=REPORT)
    assert poll.status_code == 403
    assert poll.json()["detail"] == f"{scope}read the kill switch of {other}"
    assert switch_refusals(api).get("forbidden", 0) == before.get("forbidden", 0) + 1
    ghost = api("GET", "/api/v1/systems/ghost/switch", token)
    assert ghost.status_code == 403  # whether a system exists is not the token's to learn
    assert observations(world, other) == 0

    routes = [
        ("GET", "/api/v1/systems", None),
        ("GET", f"/api/v1/systems/{SYSTEM}", None),
        ("GET", f"/api/v1/systems/{SYSTEM}/observations", None),
        ("GET", f"/api/v1/systems/{SYSTEM}/switch/confirmations", None),
        ("GET", "/api/v1/audit", None),
        ("GET", "/api/v1/tokens", None),
        ("POST", "/api/v1/tokens", {"service": SYSTEM}),
        ("POST", f"/api/v1/systems/{SYSTEM}/switch", {"state": "disabled", "reason": "x"}),
        ("POST", f"/api/v1/systems/{SYSTEM}/switch/drill", None),
        ("POST", f"/api/v1/systems/{SYSTEM}/acks", {"role": "all"}),
        ("POST", "/api/v1/tick", None),
    ]
    for method, path, body in routes:
        answer = api(method, path, token, json=body)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["detail"] == f"{scope}{method} {path}"
    assert world.app.switch.state(SYSTEM).state == "enabled"
    recorded = denied(world)
    assert all(actor == ACTOR for actor, _, _ in recorded)
    assert [attempted for _, attempted, _ in recorded] == [
        "observations.write",
        "read",
        "read",
        *(f"{method} {path}" for method, path, _ in routes),
    ]


def _llm_span(system: str) -> dict[str, Any]:
    def attr(key: str, value: str) -> dict[str, Any]:
        return {"key": key, "value": {"stringValue": value}}

    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "chat",
        "kind": 3,
        "startTimeUnixNano": "1767600000000000000",
        "endTimeUnixNano": "1767600000250000000",
        "attributes": [
            attr("gen_ai.system", "anthropic"),
            attr("input.value", "Hi"),
            attr("output.value", "Yo"),
        ],
    }
    resource = {"attributes": [attr("service.name", system)]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}


def test_otlp_is_taken_only_for_the_tokens_system(world: World, api: Api, other: str) -> None:
    token = checkout(world, api)
    ours = api("POST", "/v1/traces", token, json=_llm_span(SYSTEM))
    assert ours.status_code == 200 and ours.json() == {}
    theirs = api("POST", "/v1/traces", token, json=_llm_span(other))
    assert theirs.status_code == 403
    assert theirs.json()["code"] == 7  # google.rpc.Code PERMISSION_DENIED
    assert theirs.json()["message"].endswith(f"not write observations of {other}")
    assert (observations(world, SYSTEM), observations(world, other)) == (1, 0)
    assert denied(world)[-1][:2] == (ACTOR, "observations.write")

    both = _llm_span(SYSTEM)
    both["resourceSpans"] += _llm_span(other)["resourceSpans"]
    assert api("POST", "/v1/traces", token, json=both).status_code == 403
    assert observations(world, SYSTEM) == 1  # taken whole or not at all: its own span too
    nowhere = api("POST", "/v1/traces", token, json=_llm_span("no-such-system"))
    assert nowhere.status_code == 403  # not even a dead letter outside its system


def test_expiry_and_revocation_are_a_401_at_once_and_counted(
    world: World, api: Api, clock: FixedClock
) -> None:
    path = f"/api/v1/systems/{SYSTEM}/switch"
    short = checkout(world, api, expires="1d")
    assert api("GET", path, short, headers=REPORT).status_code == 200
    before = switch_refusals(api)
    clock.advance(timedelta(days=1))
    expired = api("GET", path, short, headers=REPORT)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert f"wk token create --service {SYSTEM}" in expired.json()["detail"]
    assert switch_refusals(api).get("unauthenticated", 0) == before.get("unauthenticated", 0) + 1
    with world.app.store.read() as unit:
        [noise] = [e for e in unit.audit_entries() if e.action == "access.denied"]
    assert noise.actor == "anonymous" and noise.reason == expired.json()["detail"]

    token = checkout(world, api)
    prefix = token[:10]
    theirs = api("POST", f"/api/v1/tokens/{prefix}/revoke", world.token("unrelated"))
    assert theirs.status_code == 403 and "only its owner" in theirs.json()["detail"]
    revoked = api("POST", f"/api/v1/tokens/{prefix}/revoke", world.token("owner"))
    assert revoked.status_code == 200
    assert (revoked.json()["status"], revoked.json()["revoked_by"]) == ("revoked", ROLES["owner"])
    answer = api("POST", f"/api/v1/systems/{SYSTEM}/observations", token, json=[{"id": "late"}])
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    assert observations(world, SYSTEM) == 0
    with world.app.store.read() as unit:
        [entry] = [e for e in unit.audit_entries() if e.action == "token.revoked"]
    assert (entry.actor, entry.target, entry.system) == (ROLES["owner"], ACTOR, SYSTEM)
    assert api("GET", "/api/v1/systems", world.token("owner")).status_code == 200


def test_the_list_shows_kind_system_name_and_last_use(
    world: World, api: Api, clock: FixedClock
) -> None:
    token = checkout(world, api)
    owner, admin, uma = (world.token(r) for r in ("owner", "admin", "unrelated"))

    def listed() -> dict[str, Any]:
        [found] = [t for t in api("GET", "/api/v1/tokens", admin).json() if t["kind"] == "service"]
        return dict(found)

    assert listed()["last_used_at"] is None
    assert {t["kind"] for t in api("GET", "/api/v1/tokens", admin).json()} == {"person", "service"}
    used_at = clock.now()
    path = f"/api/v1/systems/{SYSTEM}/switch"
    assert api("GET", path, token).status_code == 200
    assert listed()["last_used_at"] == used_at.isoformat()
    clock.advance(timedelta(seconds=30))
    api("GET", path, token)
    assert listed()["last_used_at"] == used_at.isoformat()  # kept to the minute: no write
    clock.advance(timedelta(seconds=31))
    api("GET", path, token)
    assert listed()["last_used_at"] == clock.now().isoformat()

    systems = api("GET", f"/api/v1/tokens?service={SYSTEM}", owner)
    assert [(t["actor"], t["status"]) for t in systems.json()] == [(ACTOR, "active")]
    refused = api("GET", f"/api/v1/tokens?service={SYSTEM}", uma)
    assert refused.status_code == 403 and "list the service tokens of" in refused.json()["detail"]
    assert {t["kind"] for t in api("GET", "/api/v1/tokens", uma).json()} == {"person"}
    both = api("GET", f"/api/v1/tokens?service={SYSTEM}&person={ROLES['owner']}", admin)
    assert both.status_code == 400


@SQLITE_ONLY
def test_it_signs_nobody_in_and_person_tokens_are_unchanged(world: World, api: Api) -> None:
    token = checkout(world, api)
    form = re.search(r'name="csrf" value="([^"]+)"', api("GET", "/signin").text)
    assert form is not None
    signin = api("POST", "/signin", data={"csrf": form.group(1), "token": token, "next": "/"})
    assert signin.status_code == 401 and "signs nobody in" in html.unescape(signin.text)
    with pytest.raises(ActionError) as raised:
        world.app.access.authenticate(token, world.app.clock.now())
    assert raised.value.kind == "unauthenticated"
    assert f"is a service token of {SYSTEM}" in raised.value.message
    assert (
        world.app.access.authenticate(world.token("owner"), world.app.clock.now())
        == (ROLES["owner"])
    )
    with world.app.store.read() as unit:
        assert unit.token_holder(token_digest(token), world.app.clock.now()) is None
    assert api("GET", "/api/v1/systems", world.token("unrelated")).status_code == 200


@SQLITE_ONLY
def test_the_sdk_serves_on_one_over_a_real_socket(
    world: World, api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world.app.clock.set(datetime.now(UTC))  # type: ignore[attr-defined]
    token = checkout(world, api)
    with LiveServer(world.app) as live:
        client = Client(url=live.url, token=token, system=SYSTEM, cache_dir=tmp_path / "a")
        elsewhere = Client(
            url=live.url, token=token, system=OTHER, cache_dir=tmp_path / "b", fail_mode="closed"
        )
        try:
            assert client.enabled()
            first = client.log({"q": "where is my parcel?"}, "shipping")
            client.feedback(first, label="shipping")
            client.flag(first, "check the tone")
            assert client.flush(30)
            world.app.switch.set(
                SYSTEM, "disabled", "harm", ROLES["kill_authority"], world.app.clock.now()
            )
            until(lambda: not client.enabled())

            def confirmed() -> tuple[int, int]:
                world.app.switch.drain(timeout=5)
                roll = world.app.switch.confirmations(SYSTEM, world.app.clock.now())
                return roll.live, roll.confirmed

            until(lambda: confirmed() == (1, 1))  # its confirmation counts: one live, obeyed
            with caplog.at_level(logging.WARNING, "watchkeeper.sdk"):
                assert not elsewhere.enabled()
                until(lambda: "HTTP 404" in caplog.text or "HTTP 403" in caplog.text)
        finally:
            client.close()
            elsewhere.close()
    assert observations(world, SYSTEM) == 1
    with world.app.store.read() as unit:
        [stored] = unit.ingest.observations_by_id(SYSTEM, [first])
        [item] = unit.care.triage_items(SYSTEM)
    assert stored.feedback == {"label": "shipping"} and ACTOR in item.reason


@SQLITE_ONLY
def test_wk_token_issues_lists_and_revokes_them(world: World, wk: Any) -> None:
    code, out, err = wk(
        "token", "create", "--service", SYSTEM, "--name", "checkout", "--expires", "90d", "--json"
    )
    assert code == 0, err
    issued = json.loads(out)
    assert (issued["kind"], issued["actor"]) == ("service", ACTOR)
    assert world.app.access.authenticate(issued["token"], world.app.clock.now(), services=True) == (
        ACTOR
    )
    code, out, err = wk("token", "create", "--service", SYSTEM)
    assert code == 0 and out.startswith("wk_") and f"for service:{SYSTEM}/wk_" in err
    for args, says in (
        (["--service", SYSTEM, ROLES["owner"]], "one of the two"),
        ([], "one of the two"),
        ([ROLES["owner"], "--name", "checkout"], "--name labels a service token"),
        (["--service", SYSTEM, "--name", "two words"], "--name"),
        (["--service", "ghost"], "no system 'ghost'"),
    ):
        code, _, err = wk("token", "create", *args)
        assert code == 2 and says in err, (args, err)

    code, out, _ = wk("token", "list")
    assert code == 0 and "service" in out and "checkout" in out and issued["prefix"] in out
    code, out, _ = wk("token", "list", "--service", SYSTEM, "--json")
    assert [t["kind"] for t in json.loads(out)] == ["service", "service"]
    code, out, _ = wk("token", "revoke", issued["prefix"])
    assert code == 0 and f"of {ACTOR}: revoked" in out
    code, out, _ = wk("token", "list", "--service", SYSTEM, "--json")
    assert [t["status"] for t in json.loads(out)] == ["revoked", "active"]


@SQLITE_ONLY
def test_wk_token_through_the_server_is_for_the_owner(world: World, remote: Any) -> None:
    code, out, err = remote(
        "token", "create", "--service", SYSTEM, "--name", "checkout", token=world.token("owner")
    )
    assert code == 0 and out.startswith("wk_") and ACTOR in err
    code, _, err = remote("token", "create", "--service", SYSTEM, token=world.token("unrelated"))
    assert code == 2 and "may not issue service tokens" in err
    code, out, _ = remote(
        "token", "list", "--service", SYSTEM, "--json", token=world.token("owner")
    )
    assert [t["actor"] for t in json.loads(out)] == [ACTOR]
    code, _, err = remote("token", "list", "--service", SYSTEM, token="wk_unknown")
    assert code == 2 and "unknown API token" in err


def test_the_migration_keeps_person_tokens_and_drops_service_tokens_going_back(
    db_url: str,
) -> None:
    store = Store.open(db_url)
    now = datetime(2026, 1, 6, tzinfo=UTC)
    with store.write() as unit:
        unit.save_person(PersonRecord("p@x.example", "P", True, False), now)
        for person, system, secret in (("p@x.example", None, "p"), (None, "bot", "s")):
            unit.add_token(
                person=person,
                digest=token_digest(secret),
                prefix=f"wk_{secret}",
                created_by="ops",
                now=now,
                system=system,
            )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def migrate(step: Any, to: str) -> None:
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            step(config, to)

    migrate(command.downgrade, "0015")
    with store.engine.connect() as conn:
        kept = conn.execute(text("SELECT prefix FROM api_tokens")).scalars().all()
    assert kept == ["wk_p"]  # a service token has no person to act as in the older schema
    migrate(command.upgrade, "head")
    with store.read() as unit:
        grant = unit.token_grant(token_digest("p"))
        assert unit.token_grant(token_digest("s")) is None
    assert grant is not None and grant[1] is not None and grant[1].email == "p@x.example"
    assert (grant[0].kind, grant[0].system, grant[0].status(now)) == ("person", None, "active")
    store.close()
