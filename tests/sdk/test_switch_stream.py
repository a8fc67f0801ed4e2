"""The switch stream: the server sends the state at once and every flip as it happens; a
streaming SDK confirms each new version with a report; where the stream cannot work (a server
without it, a proxy that buffers responses) the SDK notices and long-polls instead.

The proxies here are real HTTP servers on loopback that forward to the real server, as nginx or
an old deployment would stand between serving code and Watchkeeper."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Literal

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import SQLITE_ONLY
from tests.sdk._wait import until
from tests.server._world import ROLES, SYSTEM, Api, World
from tests.switch.test_confirmations import refused, report_headers, stored
from watchkeeper import Client
from watchkeeper.clock import FixedClock
from watchkeeper.sdk._switch import _event_data
from watchkeeper.server import LiveServer

Mode = Literal["pass", "buffer", "old", "late"]
SWITCH = f"/api/v1/systems/{SYSTEM}/switch"


class Proxy:
    """Forwards every request to `upstream` and records its path. `pass` streams answers
    through; `buffer` holds each answer until it is complete (nginx's proxy_buffering); `old`
    answers the stream route with Starlette's own 404, as a server from before it would; `late`
    streams, but holds each stream's first bytes back for `LATE` seconds (a server or network
    slow for a moment)."""

    def __init__(self, upstream: str, mode: Mode) -> None:
        self.paths: list[str] = []
        self._upstream, self._mode = upstream, mode
        self._http: httpx.AsyncClient | None = None
        config = uvicorn.Config(
            Starlette(
                routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])],
                lifespan=self._lifespan,
            ),
            host="127.0.0.1",
            port=0,
            log_level="warning",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=self._upstream, timeout=60) as http:
            self._http = http
            yield

    async def _forward(self, request: Request) -> Response:
        assert self._http is not None
        self.paths.append(request.url.path)
        if self._mode == "old" and request.url.path.endswith("/switch/stream"):
            return JSONResponse({"kind": "not_found", "detail": "Not Found"}, status_code=404)
        headers = [
            (k, v) for k, v in request.headers.items() if k not in ("host", "content-length")
        ]
        sent = self._http.build_request(
            request.method,
            request.url.path,
            params=request.query_params,
            headers=headers,
            content=await request.body(),
        )
        answer = await self._http.send(sent, stream=True)
        kind = answer.headers.get("content-type")
        if self._mode == "pass" or self._mode == "late":
            chunks = answer.aiter_raw()
            if self._mode == "late" and request.url.path.endswith("/switch/stream"):
                chunks = _late(chunks)
            return StreamingResponse(
                chunks, answer.status_code, media_type=kind,
                background=BackgroundTask(answer.aclose),
            )  # fmt: skip
        body = await answer.aread()
        await answer.aclose()
        return Response(body, answer.status_code, media_type=kind)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.servers[0].sockets[0].getsockname()[1]}"

    def start(self) -> Proxy:
        self._thread.start()
        until(lambda: self._server.started)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


LATE = 2.0


async def _late(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    first = True
    async for chunk in chunks:
        if first:
            await asyncio.sleep(LATE)
            first = False
        yield chunk


@pytest.fixture
def behind(world: World, tmp_path: Path) -> Iterator[Callable[..., tuple[Client, Proxy]]]:
    """A client of the world's system reaching a live server (`max_wait` its stream's life)
    through a proxy in `mode`."""
    started: list[tuple[Client, Proxy, LiveServer]] = []

    def connect(mode: Mode, max_wait: float = 30.0) -> tuple[Client, Proxy]:
        server = LiveServer(world.app, max_wait=max_wait).start()
        proxy = Proxy(server.url, mode).start()
        client = Client(
            url=proxy.url,
            token=world.token("other_role_holder"),
            system=SYSTEM,
            cache_dir=tmp_path / f"cache-{len(started)}",
            start_timeout=5,
        )
        started.append((client, proxy, server))
        return client, proxy

    yield connect
    for client, proxy, server in started:
        client.close()
        server.stop()
        proxy.stop()


def flip(world: World, state: str) -> None:
    app = world.app
    app.switch.set(SYSTEM, state, "drill of the stream", ROLES["kill_authority"], app.clock.now())


def test_the_stream_sends_the_state_then_each_flip_and_ends_when_its_wait_is_over(
    world: World,
) -> None:
    token = world.token("other_role_holder")
    with LiveServer(world.app, max_wait=2.0) as server, httpx.Client(base_url=server.url) as http:
        started = time.monotonic()
        events: list[list[str]] = []
        with http.stream(
            "GET", f"{SWITCH}/stream", params={"wait": 60},
            headers={"Authorization": f"Bearer {token}"},
        ) as answer:  # fmt: skip
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            event: list[str] = []
            for line in answer.iter_lines():
                if line:
                    event.append(line)
                    continue
                events.append(event)
                event = []
                if len(events) == 1:
                    flip(world, "disabled")
        lasted = time.monotonic() - started
    assert [e[:2] for e in events] == [["id: 0", "event: switch"], ["id: 1", "event: switch"]]
    assert '"state":"enabled"' in events[0][2] and '"state":"disabled"' in events[1][2]
    assert 1.5 < lasted < 10, "the server's wait (2 s) ends the stream, not the client's 60"


def test_a_streaming_client_hears_a_flip_and_confirms_it_with_a_report(
    world: World, behind: Callable[..., tuple[Client, Proxy]]
) -> None:
    client, proxy = behind("pass")
    assert client.enabled()
    flip(world, "disabled")
    until(lambda: not client.enabled())
    until(lambda: [p.version for p in stored(world)] == [1])
    assert f"{SWITCH}/stream" in proxy.paths and f"{SWITCH}/report" in proxy.paths
    # the first contact is a plain GET answered at once; after it, nothing is long-polled
    assert proxy.paths[0] == SWITCH and proxy.paths.count(SWITCH) == 1


def test_a_process_closing_right_after_a_flip_confirms_it_first(
    world: World, behind: Callable[..., tuple[Client, Proxy]]
) -> None:
    client, proxy = behind("pass")
    flip(world, "disabled")
    until(lambda: not client.enabled())
    client.close()  # before the confirmation's moment (0.2-1 s after obeying) came
    until(lambda: [p.version for p in stored(world)] == [1])
    assert proxy.paths[-1] == f"{SWITCH}/report"


def test_after_flips_in_quick_succession_the_confirmation_is_of_the_newest(
    world: World, behind: Callable[..., tuple[Client, Proxy]]
) -> None:
    client, proxy = behind("pass")
    for state in ("disabled", "enabled", "disabled"):
        flip(world, state)
        until(lambda s=state: client.enabled() is (s == "enabled"))
    until(lambda: [p.version for p in stored(world)] == [3])
    assert f"{SWITCH}/report" in proxy.paths


def test_a_server_without_the_stream_is_long_polled(
    world: World, behind: Callable[..., tuple[Client, Proxy]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "watchkeeper.sdk")
    client, proxy = behind("old")
    flip(world, "disabled")
    until(lambda: not client.enabled())
    assert proxy.paths.count(f"{SWITCH}/stream") == 1, "not asked again"
    assert SWITCH in proxy.paths
    assert "offers no switch stream" in caplog.text


def test_a_proxy_that_holds_the_stream_back_is_noticed_and_long_polled(
    world: World, behind: Callable[..., tuple[Client, Proxy]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "watchkeeper.sdk")
    client, proxy = behind("buffer", max_wait=1.0)
    until(lambda: "buffering proxy" in caplog.text)
    flip(world, "disabled")
    until(lambda: not client.enabled())
    assert proxy.paths.count(f"{SWITCH}/stream") == 1
    assert proxy.paths.count(SWITCH) >= 2, "long-polled after the first contact"


@SQLITE_ONLY  # what is tested is the SDK's reading of a stream, not the store
def test_a_stream_whose_first_event_is_late_is_no_buffering_proxy(
    world: World, behind: Callable[..., tuple[Client, Proxy]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "watchkeeper.sdk")
    client, proxy = behind("late", max_wait=LATE + 1.5)
    until(lambda: proxy.paths.count(f"{SWITCH}/stream") >= 3, timeout=20)
    assert "buffering proxy" not in caplog.text
    assert proxy.paths.count(SWITCH) == 1, "never long-polled after the first contact"
    flip(world, "disabled")
    until(lambda: not client.enabled(), timeout=10)


def test_behind_a_buffering_proxy_a_new_process_knows_the_state_at_once(
    world: World, behind: Callable[..., tuple[Client, Proxy]], caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy holding events back until a stream ends (nginx's default) must not leave a
    process just started on its fail mode for the stream's life (here the server's 30 s): the
    first contact is a plain GET, and a stream whose first event does not come at once is given
    up within seconds."""
    caplog.set_level(logging.WARNING, "watchkeeper.sdk")
    flip(world, "disabled")
    started = time.monotonic()
    client, _ = behind("buffer", max_wait=30.0)
    assert not client.enabled() and time.monotonic() - started < 5
    until(lambda: "sent nothing at once" in caplog.text, timeout=15)
    flip(world, "enabled")
    until(lambda: client.enabled(), timeout=15)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("drop", "status"),
    [("Watchkeeper-Process", 400), ("Watchkeeper-Holds", 400)],
)
def test_a_report_without_who_or_what_is_a_400_naming_the_headers(
    world: World, api: Api, drop: str, status: int
) -> None:
    headers = report_headers()
    del headers[drop]
    answer = api("POST", f"{SWITCH}/report", world.token("unrelated"), headers=headers)
    assert answer.status_code == status
    assert "Watchkeeper-Process and Watchkeeper-Holds" in answer.json()["detail"]
    assert stored(world) == []


def test_a_report_or_stream_for_an_unknown_system_or_a_bad_token_is_refused_and_counted(
    world: World, api: Api
) -> None:
    before = refused(api)
    token = world.token("unrelated")
    for path in ("/api/v1/systems/ghost/switch/report", "/api/v1/systems/ghost/switch/stream"):
        method = "POST" if path.endswith("report") else "GET"
        answer = api(method, path, token, headers=report_headers("q" * 32))
        assert answer.status_code == 404 and "ghost" in answer.json()["detail"]
    answer = api("POST", f"{SWITCH}/report", "wk_not-a-token", headers=report_headers())
    assert answer.status_code == 401
    after = refused(api)
    assert after.get("unknown_system", 0) == before.get("unknown_system", 0) + 2
    assert after.get("unauthenticated", 0) == before.get("unauthenticated", 0) + 1
    assert stored(world) == []


def test_a_report_is_a_confirmation(world: World, api: Api) -> None:
    flip(world, "disabled")
    headers = report_headers(**{"Watchkeeper-Holds": "1"})
    answer = api("POST", f"{SWITCH}/report", world.token("unrelated"), headers=headers)
    assert answer.status_code == 204
    [process] = stored(world)
    assert (process.process, process.version) == ("p" * 32, 1)


def test_a_late_confirmation_is_dated_by_how_long_the_version_was_held(
    world: World, api: Api, clock: FixedClock
) -> None:
    token = world.token("unrelated")
    assert api("POST", f"{SWITCH}/report", token, headers=report_headers()).status_code == 204
    flip(world, "disabled")
    clock.advance(timedelta(milliseconds=900))  # spread out: it obeyed at 150 ms, said so at 900
    headers = report_headers(**{"Watchkeeper-Holds": "1", "Watchkeeper-Held-Ms": "750"})
    assert api("POST", f"{SWITCH}/report", token, headers=headers).status_code == 204
    stored(world)
    confirmed = api("GET", f"{SWITCH}/confirmations", token).json()
    assert (confirmed["live"], confirmed["confirmed"], confirmed["confirmed_in_ms"]) == (1, 1, 150)
    # a version the switch never had confirms nothing: the process is live and unconfirmed
    flip(world, "enabled")
    beyond = report_headers(**{"Watchkeeper-Holds": "99"})
    assert api("POST", f"{SWITCH}/report", token, headers=beyond).status_code == 204
    stored(world)
    forged = api("GET", f"{SWITCH}/confirmations", token).json()
    assert (forged["live"], forged["confirmed"], forged["complete"]) == (1, 0, False)
    too_long = report_headers(**{"Watchkeeper-Held-Ms": "60001"})
    answer = api("POST", f"{SWITCH}/report", token, headers=too_long)
    assert answer.status_code == 400 and "Watchkeeper-Held-Ms" in answer.json()["detail"]


def test_events_are_read_whole_however_the_bytes_arrive() -> None:
    stream = (
        b': hello\r\nid: 3\r\nevent: switch\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 4\ndata: x\n\n'
    )
    for size in (1, 2, 7, len(stream)):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert list(_event_data(iter(chunks))) == [b'{"a":\n1}', b"x"]
    assert list(_event_data(iter([b"data: cut off before its blank line\n"]))) == []
