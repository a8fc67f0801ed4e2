"""The observation explorer: newest first, filtered by the runbook's expression language, paged
by a cursor that neither skips nor repeats, bounded in what one call reads — through the app and
through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.server._world import SYSTEM, Api, World
from watchkeeper.errors import ActionError

CHANNELS = ("email", "chat", "phone")


def _seed(world: World, count: int) -> list[dict[str, object]]:
    now = world.app.clock.now()
    items = [
        {
            "id": f"o{i:04d}",
            "ts": (now - timedelta(hours=2) + timedelta(seconds=i // 3)).isoformat(),
            "inputs": {"channel": CHANNELS[i % 3], "n": i},
            "output": {"label": "refund" if i % 5 == 0 else "other"},
            "latency_ms": float(i % 900),
        }
        for i in range(count)
    ]
    result = world.app.ingest.observations(SYSTEM, items, now)
    assert result.accepted == count
    return items


def _walk(world: World, where: str | None, limit: int) -> tuple[list[str], int]:
    seen: list[str] = []
    after, calls = None, 0
    while True:
        page = world.app.ingest.explore(
            SYSTEM, world.app.clock.now() - timedelta(days=1), world.app.clock.now(),
            where=where, limit=limit, after=after,
        )  # fmt: skip
        calls += 1
        seen += [o["id"] for o in page["observations"]]
        after = page["next"]
        if after is None:
            return seen, calls


@pytest.mark.parametrize(("page", "scan"), [(1000, 50_000), (7, 20)])
def test_pages_walk_every_match_once_newest_first(
    world: World, monkeypatch: pytest.MonkeyPatch, page: int, scan: int
) -> None:
    """Also when a page is smaller than a second's ties and a call may read only 20 rows."""
    monkeypatch.setattr("watchkeeper.ingest.service.PAGE", page)
    monkeypatch.setattr("watchkeeper.ingest.service.EXPLORE_SCAN", scan)
    items = _seed(world, 300)
    where = "inputs.channel == 'chat' and output.label == 'refund'"
    seen, _ = _walk(world, where, limit=4)
    wanted = [
        str(i["id"])
        for i in sorted(items, key=lambda i: (str(i["ts"]), str(i["id"])), reverse=True)
        if i["inputs"]["channel"] == "chat" and i["output"]["label"] == "refund"  # type: ignore[index]
    ]
    assert sorted(seen) == sorted(wanted) and len(seen) == len(set(seen))
    times = {str(i["id"]): str(i["ts"]) for i in items}
    assert [times[s] for s in seen] == sorted((times[s] for s in seen), reverse=True)
    everything, _ = _walk(world, None, limit=500)
    assert len(everything) == 300


def test_a_call_reads_a_bounded_number_of_rows(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("watchkeeper.ingest.service.PAGE", 10)
    monkeypatch.setattr("watchkeeper.ingest.service.EXPLORE_SCAN", 30)
    _seed(world, 100)
    page = world.app.ingest.explore(
        SYSTEM, world.app.clock.now() - timedelta(days=1), world.app.clock.now(),
        where="inputs.n == -1", limit=5,
    )  # fmt: skip
    assert page["observations"] == [] and page["scanned"] == 30 and page["next"] is not None
    _, calls = _walk(world, "inputs.n == -1", limit=5)
    assert calls == 4  # 100 rows, 30 a call


def test_bad_input_is_named(world: World) -> None:
    start, end = world.app.clock.now() - timedelta(days=1), world.app.clock.now()
    with pytest.raises(ActionError, match="where: invalid expression") as bad:
        world.app.ingest.explore(SYSTEM, start, end, where="inputs.channel ==")
    assert bad.value.kind == "invalid"
    with pytest.raises(ActionError, match="after: 'yesterday' is not a cursor"):
        world.app.ingest.explore(SYSTEM, start, end, after="yesterday")
    with pytest.raises(ActionError) as unknown:
        world.app.ingest.explore("no-such-system", start, end)
    assert unknown.value.kind == "not_found"


def test_the_api_answers_pages_and_refuses_bad_input_with_4xx(api: Api, world: World) -> None:
    _seed(world, 30)
    token = world.token("unrelated")  # any active person reads what a system saw
    path = f"/api/v1/systems/{SYSTEM}/observations"
    first = api("GET", f"{path}?limit=10&where=inputs.channel%20%3D%3D%20'phone'", token)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [o["inputs"]["channel"] for o in body["observations"]] == ["phone"] * 10
    rest = api(
        "GET",
        f"{path}?limit=10&where=inputs.channel%20%3D%3D%20'phone'&after={body['next']}",
        token,
    )
    assert (
        rest.status_code == 200
        and rest.json()["observations"] == []
        and rest.json()["next"] is None
    )
    assert api("GET", f"{path}?where=import%20os", token).status_code == 400
    assert api("GET", f"{path}?after=nope", token).status_code == 400
    assert api("GET", f"{path}?after=1-99999999999999999999999", token).status_code == 400
    assert api("GET", f"{path}?after=-5-3", token).status_code == 400
    naive = api("GET", f"{path}?since=2000-01-01T00:00:00&limit=500", token)
    assert naive.status_code == 200 and len(naive.json()["observations"]) == 30
    huge = api("GET", f"{path}?where=len('x'%20*%20999999999%20*%209)%20%3E%200", token)
    assert huge.status_code == 200 and huge.json()["observations"] == []
    assert api("GET", f"{path}?limit=0", token).status_code in (400, 422)
    assert api("GET", path, None).status_code == 401
    assert api("GET", "/api/v1/systems/nope/observations", token).status_code == 404
