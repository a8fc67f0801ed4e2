"""The ingest routes in-process, on SQLite and PostgreSQL: batches are stored once, bad items are
dead letters, and every bad request is a clear 4xx that stores nothing."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import SQLITE_ONLY
from tests.server._world import SYSTEM, Api, World
from watchkeeper.server._ingest_routes import MAX_BODY, MAX_ITEMS

PATH = f"/api/v1/systems/{SYSTEM}/observations"


def counts(world: World) -> tuple[int, int]:
    """(observations, dead letters) stored for the system."""
    with world.app.store.read() as unit:
        return unit.ingest.observation_count(SYSTEM), len(unit.ingest.dead_letters(SYSTEM, 10_000))


def post(api: Api, world: World, body: Any, path: str = PATH, **kwargs: Any) -> Any:
    return api("POST", path, world.token("other_role_holder"), json=body, **kwargs)


def test_a_batch_is_stored_once_and_bad_items_are_dead_letters(api: Api, world: World) -> None:
    items = [
        {"id": "a", "inputs": {"q": "where?"}, "output": "here", "latency_ms": 12},
        {"id": "b", "latency_ms": "fast"},
        {"id": "c", "inputs": {"q": "nul\u0000"}},
        {"id": "d", "ts": "2026-01-05T08:00:00Z", "model_version": "v2", "metadata": {"k": 1}},
        {"id": "a", "output": "a second time in the same batch"},
    ]
    first = post(api, world, {"items": items})
    assert first.status_code == 200
    assert first.json() == {
        "accepted": 2,
        "duplicates": 1,
        "rejected": [
            {"index": 1, "error": "items[1].latency_ms: must be a finite number"},
            {
                "index": 2,
                "error": "items[2].inputs: contains a NUL character, which the store cannot hold",
            },
        ],
    }
    replay = post(api, world, items[:1] + items[3:4])  # a bare list works too
    assert replay.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert counts(world) == (2, 2)
    letters = api(
        "GET", f"/api/v1/systems/{SYSTEM}/dead-letters", world.token("other_role_holder")
    ).json()
    assert [(d["index"], d["source"]) for d in letters] == [(2, "api"), (1, "api")]
    assert letters[1]["raw"] == {"id": "b", "latency_ms": "fast"}
    assert letters[0]["raw"] == repr({"id": "c", "inputs": {"q": "nul\u0000"}})
    with world.app.store.read() as unit:
        [a] = unit.ingest.observations_by_id(SYSTEM, ["a"])
    assert (a.inputs, a.output, a.latency_ms) == ({"q": "where?"}, "here", 12.0)


def test_stored_times_fall_in_their_windows_to_the_microsecond(api: Api, world: World) -> None:
    """Raw inserts must write times exactly as the ORM's queries compare them."""
    t0 = world.app.clock.now().replace(microsecond=0)
    items = [
        {"id": "on-the-second", "ts": t0.isoformat()},
        {"id": "just-after", "ts": (t0 + timedelta(microseconds=1)).isoformat()},
        {"id": "just-before", "ts": (t0 - timedelta(microseconds=1)).isoformat()},
    ]
    assert post(api, world, items).json()["accepted"] == 3
    with world.app.store.read() as unit:
        inside = unit.ingest.observations(SYSTEM, t0, t0 + timedelta(seconds=1))
        before = unit.ingest.observations(SYSTEM, t0 - timedelta(seconds=1), t0)
    assert [o.id for o in inside] == ["on-the-second", "just-after"]
    assert [o.id for o in before] == ["just-before"]
    assert inside[0].ts == t0


def test_gzip_bodies_are_accepted(api: Api, world: World) -> None:
    body = gzip.compress(json.dumps({"items": [{"id": "z", "output": "zipped"}]}).encode())
    answer = api(
        "POST",
        PATH,
        world.token("other_role_holder"),
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert answer.json() == {"accepted": 1, "duplicates": 0, "rejected": []}


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (
            b'{"items": [{"id": "a",}]}',
            400,
            "malformed JSON at line 1, column 23: Expecting property name",
        ),
        (b'[{"id": "a", "latency_ms": NaN}]', 400, "NaN is not JSON (RFC 8259)"),
        (b"\xff\xfe[]", 400, "the body is not UTF-8 (byte 0)"),
        (b'{"items": {"id": "a"}}', 400, 'body.items: expected {"items": [...]} or a list'),
        (b'"just text"', 400, 'body: expected {"items": [...]} or a list'),
        (b'{"items": [], "extra": 1}', 400, 'body: expected {"items": [...]}'),
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
        (json.dumps([{}] * (MAX_ITEMS + 1)).encode(), 413, "the limit is 10000 items"),
        (b"[" + b" " * MAX_BODY + b"]", 413, "over the limit of 10 MiB per request"),
    ],
    ids=[
        "syntax",
        "nan",
        "not-utf8",
        "items-not-list",
        "not-a-batch",
        "extra-key",
        "deep",
        "items",
        "size",
    ],
)
@SQLITE_ONLY
def test_bad_bodies_are_a_clear_4xx_and_store_nothing(
    api: Api, world: World, body: bytes, status: int, detail: str
) -> None:
    answer = api("POST", PATH, world.token("other_role_holder"), content=body)
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]
    assert counts(world) == (0, 0)


def test_compressed_bodies_are_limited_after_inflating_and_must_be_whole(
    api: Api, world: World
) -> None:
    bomb = gzip.compress(b"[" + b" " * (MAX_BODY + 10) + b"]")
    assert len(bomb) < MAX_BODY // 100
    for content, encoding, status, detail in [
        (bomb, "gzip", 413, "the gzip-decoded body is over the limit of 10 MiB"),
        (gzip.compress(b"[]")[:-4], "gzip", 400, "the gzip body is truncated"),
        (b"not gzip at all", "gzip", 400, "the body is not valid gzip"),
        (b"[]", "br", 415, "Content-Encoding 'br': use gzip or none"),
    ]:
        answer = api(
            "POST", PATH, world.token("other_role_holder"), content=content,
            headers={"Content-Encoding": encoding},
        )  # fmt: skip
        assert (answer.status_code, answer.json()["detail"][: len(detail)]) == (status, detail)
    assert counts(world) == (0, 0)


def test_every_gzip_member_is_read_and_nothing_may_follow_the_last(api: Api, world: World) -> None:
    def send(content: bytes) -> Any:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return api("POST", PATH, world.token("other_role_holder"), content=content, headers=headers)

    first = gzip.compress(b'{"items": [{"id": "m1", "output": "one"},')
    second = gzip.compress(b' {"id": "m2", "output": "two"}]}')
    assert send(first + second).json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    whole = gzip.compress(b"[]")
    for trailing, detail in [
        (b"garbage", "the gzip body has 7 bytes after its end that are not gzip"),
        (b"\0" * 8, "the gzip body has 8 bytes after its end that are not gzip"),
        (whole[:12], "the gzip body is truncated"),
    ]:
        answer = send(whole + trailing)
        assert (answer.status_code, answer.json()["detail"]) == (400, detail)
    half = gzip.compress(b" " * (MAX_BODY // 2 + 1))
    answer = send(half + half)
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("the gzip-decoded body is over the limit")
    assert counts(world) == (2, 0)


def test_unknown_system_and_bad_tokens_are_refused_before_anything_is_stored(
    api: Api, world: World
) -> None:
    items = [{"id": "a"}]
    unknown = post(api, world, items, path="/api/v1/systems/nope/observations")
    assert unknown.status_code == 404 and "no system 'nope'" in unknown.json()["detail"]
    for token in (None, "wk_not-a-token", world.token("inactive")):
        answer = api("POST", PATH, token, json=items)
        assert answer.status_code in (401, 403), answer.text
    assert api("POST", PATH, None, json=items).json()["detail"].startswith("no API token")
    malformed = api("POST", PATH, json=items, headers={"Authorization": "Token abc"})
    assert malformed.status_code == 401
    assert counts(world) == (0, 0)


def test_feedback_one_or_many_is_idempotent_and_joins_late(api: Api, world: World) -> None:
    path = f"/api/v1/systems/{SYSTEM}/feedback"
    early = {"observation_id": "later", "thumbs_up": False, "ts": "2026-01-05T09:00:00Z"}
    assert post(api, world, early, path=path).json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": [],
    }
    assert post(api, world, [early], path=path).json()["duplicates"] == 1
    bad = post(api, world, {"items": [{"observation_id": "x"}, {"label": 3}]}, path=path).json()
    assert [r["index"] for r in bad["rejected"]] == [0, 1]
    post(api, world, [{"id": "later", "output": "came after its feedback"}])
    with world.app.store.read() as unit:
        [observation] = unit.ingest.observations_by_id(SYSTEM, ["later"])
        letters = unit.ingest.dead_letters(SYSTEM)
    assert observation.feedback == {"thumbs_up": False}
    assert {d.source for d in letters} == {"api:feedback"}


def test_flags_queue_an_observation_once(api: Api, world: World) -> None:
    post(api, world, [{"id": "odd", "output": "strange answer"}])
    path = f"/api/v1/systems/{SYSTEM}/flags"
    body = {"observation_id": "odd", "reason": "looks wrong"}
    first = post(api, world, body, path=path).json()
    again = post(api, world, body, path=path).json()
    assert first["id"] == again["id"] and first["observation"]["output"] == "strange answer"
    assert post(api, world, {"observation_id": "odd"}, path=path).status_code == 400


def test_the_document_names_the_ingest_routes(api: Api) -> None:
    paths = api("GET", "/openapi.json").json()["paths"]
    for path in ("observations", "feedback", "flags", "dead-letters"):
        assert f"/api/v1/systems/{{name}}/{path}" in paths
    assert "413" in paths["/api/v1/systems/{name}/observations"]["post"]["responses"]
    assert "/v1/traces" in paths
