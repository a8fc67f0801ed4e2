"""How serving code learns of a flip, and tells the server it obeyed.

Two ways to hear, one report. The stream (`GET …/switch/stream`, server-sent events) sends the
current state at once and then every move the moment the feed publishes it, for as long as the
server's wait allows; a flip costs one small write per connected process and no request, so a
thousand SDKs hear it in the time it takes to write a thousand lines. The long-poll
(`GET …/switch?wait=&after_version=`) is the fallback for whatever cannot hold a stream open (an
older SDK, a buffering proxy): each flip answers it and it asks again.

Either way, the request carries the process's report in `Watchkeeper-*` headers (who it is, the
version it holds, its fail mode) — a stream's reconnect, due before each heartbeat, is the
heartbeat. A streaming process confirms a new version with `POST …/switch/report`, the same
headers and no body: the roll call costs a request only when the switch moved.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from watchkeeper.errors import ActionError
from watchkeeper.server._longpoll import Waiters
from watchkeeper.server._metrics import count_switch_refusal
from watchkeeper.server._models import NO_NUL, SwitchOut
from watchkeeper.server._routes import ERRORS, PollingSwitch, SystemName, _bearer, polling_switch
from watchkeeper.store import ProcessRecord
from watchkeeper.switch import MAX_HEARTBEAT, SwitchState

MAX_HELD_MS = 60_000  # a report is sent within a second or two of obeying; more is not believed
switch_api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["kill switch"])


@dataclass(frozen=True)
class Said:
    """What a poll, a stream or a report says about the process that sent it."""

    process: str | None
    host: str
    pid: int | None
    sdk: str
    service: str | None
    holds: int | None
    fail_mode: Literal["open", "closed"] | None
    heartbeat: float
    held_ms: int | None

    def report(
        self, system: str, held: int | None, now: datetime, current: int | None
    ) -> ProcessRecord | None:
        """The roll-call entry, heard at `now` (the server's clock); None without a process id.
        The process holds its version since `held_ms` before `now`: a duration on its own
        clock, so a confirmation sent late (spread out, queued) is dated when it was obeyed,
        and a wall clock far off plays no part. A version beyond the `current` one confirms
        nothing (a forged report, or a cache from another deployment): it is kept as unknown,
        so the process counts as live and unconfirmed — a straggler, never a false pass."""
        if self.process is None:
            return None
        holds = self.holds if self.holds is not None else held
        if holds is not None and current is not None and holds > current:
            holds = None
        since = now - timedelta(milliseconds=self.held_ms or 0)
        return ProcessRecord(
            system,
            self.process,
            self.host,
            self.pid,
            self.sdk,
            self.service,
            holds,
            self.fail_mode,
            self.heartbeat,
            now,
            now,
            since,
        )


async def _said(
    process: Annotated[
        str | None,
        Header(
            alias="Watchkeeper-Process",
            pattern=r"^[A-Za-z0-9_-]{8,64}$",
            description="The SDK process's random id: with it, the request is its report",
        ),
    ] = None,
    host: Annotated[str, Header(alias="Watchkeeper-Host", max_length=253, pattern=NO_NUL)] = "",
    pid: Annotated[int | None, Header(alias="Watchkeeper-Pid", ge=0, le=2**31 - 1)] = None,
    sdk: Annotated[str, Header(alias="Watchkeeper-Sdk", max_length=32, pattern=NO_NUL)] = "",
    service: Annotated[
        str | None, Header(alias="Watchkeeper-Service", max_length=100, pattern=NO_NUL)
    ] = None,
    holds: Annotated[
        int | None,
        Header(alias="Watchkeeper-Holds", ge=0, le=2**31 - 1, description="Version it holds"),
    ] = None,
    fail_mode: Annotated[
        Literal["open", "closed"] | None, Header(alias="Watchkeeper-Fail-Mode")
    ] = None,
    heartbeat: Annotated[
        float,
        Header(
            alias="Watchkeeper-Heartbeat",
            gt=0,
            le=MAX_HEARTBEAT,
            description="Seconds it promises between reports; silent 3 of them, it is not live",
        ),
    ] = 30.0,
    held_ms: Annotated[
        int | None,
        Header(
            alias="Watchkeeper-Held-Ms",
            ge=0,
            le=MAX_HELD_MS,
            description="How long it has held that version, in ms by its own clock",
        ),
    ] = None,
) -> Said:
    """Read as a coroutine: a class or plain function would cost every poll a thread hop."""
    return Said(process, host, pid, sdk, service, holds, fail_mode, heartbeat, held_ms)


Saying = Annotated[Said, Depends(_said)]


@switch_api.get("/systems/{name}/switch", response_model=SwitchOut)
async def get_switch(
    name: SystemName,
    request: Request,
    ops: PollingSwitch,
    said: Saying,
    wait: Annotated[
        float, Query(ge=0, le=60, description="Long-poll: wait up to this many seconds")
    ] = 0,
    after_version: Annotated[
        int | None, Query(ge=0, description="Long-poll: return as soon as the version differs")
    ] = None,
) -> Response:
    """The switch; with `wait` and `after_version`, answers the moment the version moves (or
    when the wait — capped by the server — runs out, with the unchanged state). An SDK's poll
    carries its report in `Watchkeeper-*` headers: the roll call that confirms flips costs no
    request of its own."""

    async def read() -> SwitchState:
        return await run_in_threadpool(ops.app.switch.state, name)

    waiters: Waiters = request.app.state.waiters

    def arrived() -> None:
        known = waiters.known(name)
        report = said.report(name, after_version, ops.now, known.version if known else None)
        if report is not None:
            ops.app.switch.heard(report)

    with _counting_unknown():
        if wait > 0 and after_version is not None:
            timeout = min(wait, request.app.state.max_wait)
            state = await waiters.wait(name, after_version, timeout, read, arrived)
        else:
            state = waiters.keep(await read())
            arrived()
    return Response(_rendered(state), media_type="application/json")


@switch_api.get(
    "/systems/{name}/switch/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def stream_switch(
    name: SystemName,
    request: Request,
    ops: PollingSwitch,
    said: Saying,
    wait: Annotated[
        float,
        Query(gt=0, le=300, description="Keep the stream open up to this many seconds"),
    ] = 25.0,
    ping: Annotated[
        float | None,
        Query(
            ge=1,
            le=60,
            description="Send a comment this often while nothing moves, so a client can tell "
            "a quiet stream from one a proxy holds back",
        ),
    ] = None,
) -> StreamingResponse:
    """Server-sent events: a `switch` event with the current state at once, then one for every
    move, until the wait (capped by the server) runs out and the stream ends — the SDK
    reconnects, which is its heartbeat. Each event's `data` is the state as `GET …/switch`
    gives it; its `id` is the version."""
    waiters: Waiters = request.app.state.waiters

    async def read() -> SwitchState:
        return await run_in_threadpool(ops.app.switch.state, name)

    with _counting_unknown():
        state = await waiters.current(name, read)
    report = said.report(name, None, ops.now, state.version)
    if report is not None:
        ops.app.switch.heard(report)
    life = min(wait, request.app.state.max_wait)
    at = asyncio.get_running_loop().time()
    ticket = request.app.state.tickets.issue(name, at + life, at)
    return StreamingResponse(
        _events(waiters, state, life, read, ping),
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            "Watchkeeper-Stream": ticket,
        },
    )


_PING = b": ping\n\n"


async def _events(
    waiters: Waiters,
    state: SwitchState,
    life: float,
    read: Callable[[], Awaitable[SwitchState]],
    ping: float | None,
) -> AsyncIterator[bytes]:
    yield _event(state)
    loop = asyncio.get_running_loop()
    end = loop.time() + life
    held = state.version
    while (remaining := end - loop.time()) > 0:
        moved = await waiters.wait(state.system, held, min(remaining, ping or remaining), read)
        if moved.version != held:
            held = moved.version
            yield _event(moved)
        elif waiters.closing or end - loop.time() <= 0:  # stopping, or the stream's life is over
            return
        else:
            yield _PING


@switch_api.post("/systems/{name}/switch/report", status_code=204)
async def report_switch(
    name: SystemName,
    request: Request,
    said: Saying,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ticket: Annotated[
        str | None,
        Header(
            alias="Watchkeeper-Stream",
            max_length=64,
            description="The ticket the process's open stream gave it (instead of a token)",
        ),
    ] = None,
) -> Response:
    """A streaming SDK's confirmation: it now holds the version in `Watchkeeper-Holds`. The
    headers are the long-poll's; `Watchkeeper-Process` and `Watchkeeper-Holds` are required.
    Authenticated by the stream's ticket while it is good, else by the API token."""
    if said.process is None or said.holds is None:
        raise ActionError(
            "invalid", "a report needs the Watchkeeper-Process and Watchkeeper-Holds headers"
        )
    app = request.app.state
    known = app.waiters.known(name)
    if not app.tickets.admits(ticket, name, asyncio.get_running_loop().time()) or known is None:
        ops = await run_in_threadpool(polling_switch, request, credentials)

        async def read() -> SwitchState:
            return await run_in_threadpool(ops.app.switch.state, name)

        with _counting_unknown():
            known = await app.waiters.current(name, read)
    if said.holds > known.version:  # this replica is behind, or the report is not true: ask
        with _counting_unknown():
            fresh = await run_in_threadpool(app.watchkeeper.switch.state, name)
        known = app.waiters.keep(fresh)
    report = said.report(name, said.holds, app.watchkeeper.clock.now(), known.version)
    assert report is not None
    app.watchkeeper.switch.heard(report)
    return Response(status_code=204)


@contextmanager
def _counting_unknown() -> Iterator[None]:
    """Counts a request about a system that does not exist as a refusal of the switch's."""
    try:
        yield
    except ActionError as exc:
        if exc.kind == "not_found":
            count_switch_refusal("unknown_system")
        raise


@functools.lru_cache(maxsize=1024)
def _rendered(state: SwitchState) -> bytes:
    """A flip answers every parked SDK with the same state: encode it once, not per client."""
    return json.dumps(state.to_dict(), separators=(",", ":")).encode()


@functools.lru_cache(maxsize=1024)
def _event(state: SwitchState) -> bytes:
    """The same, as one server-sent event."""
    return b"id: %d\nevent: switch\ndata: %s\n\n" % (state.version, _rendered(state))
