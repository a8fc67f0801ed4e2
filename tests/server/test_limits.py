"""One body limit for every route, enforced before a byte of an oversized body is read: a declared
length over the route's allowance is a 413 at once, a streamed body is cut where it crosses it."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
import pytest

from tests.server._world import SYSTEM, Api, World
from watchkeeper.server import LiveServer
from watchkeeper.server._limits import (
    APPLY_LIMIT,
    DEFAULT_LIMIT,
    INGEST_LIMIT,
    BodyLimit,
    allowance,
)

MiB = 1024 * 1024


def exchange(server: LiveServer, head: str, body: Iterable[bytes]) -> tuple[int, dict[str, Any]]:
    """Send a request over a real socket — headers, then the body pieces from another thread, as
    a client still uploading would — and read the answer. The timeout only guards a hang."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")

        def upload() -> None:
            try:
                for piece in body:
                    sock.sendall(piece)
            except OSError:
                pass  # the server answered and closed: what a cut looks like to the client

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        status, payload = answer.status, json.loads(answer.read())
        uploader.join(timeout=20)
    return status, payload


def test_a_huge_declared_body_is_refused_without_reading_it(live: LiveServer) -> None:
    """300 MiB announced, two bytes sent: the answer can only come if nothing waited for more."""
    for path in ("/api/v1/tokens", f"/api/v1/systems/{SYSTEM}/switch", "/signin"):
        status, answer = exchange(
            live,
            f"POST {path} HTTP/1.1\nHost: wk\nContent-Type: application/json\n"
            f"Content-Length: {300 * MiB}\n",
            [b"{}"],
        )
        assert (status, answer["kind"]) == (413, "too_large"), (path, answer)
        assert answer["detail"] == "the body is over the limit of 1 MiB per request"


def test_a_streamed_body_is_cut_where_it_crosses_the_limit(live: LiveServer) -> None:
    piece = b"x" * (64 * 1024)
    pieces = [b"%x\r\n%s\r\n" % (len(piece), piece)] * 64  # 4 MiB, chunked, no length given
    status, answer = exchange(
        live,
        f"POST /api/v1/systems/{SYSTEM}/switch HTTP/1.1\nHost: wk\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\n",
        [*pieces, b"0\r\n\r\n"],
    )
    assert (status, answer["kind"]) == (413, "too_large"), answer
    assert answer["detail"] == "the body is over the limit of 1 MiB per request"


def test_ingest_routes_keep_their_larger_allowance(api: Api, world: World) -> None:
    """A 2 MiB batch is over the general limit, well inside ingest's."""
    items = [{"id": f"o{i}", "output": "y" * 1000} for i in range(2000)]
    body = json.dumps(items).encode()
    assert DEFAULT_LIMIT < len(body) < INGEST_LIMIT
    path = f"/api/v1/systems/{SYSTEM}/observations"
    answer = api("POST", path, world.token("other_role_holder"), content=body)
    assert answer.json() == {"accepted": 2000, "duplicates": 0, "rejected": []}
    refused = api("POST", f"/api/v1/systems/{SYSTEM}/flags", world.token("unrelated"), content=body)
    assert refused.status_code == 413

    async def eleven_mib() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b" " * MiB

    streamed = api("POST", path, world.token("unrelated"), content=eleven_mib())
    assert (streamed.status_code, streamed.json()) == (
        413,
        {"kind": "too_large", "detail": "the body is over the limit of 10 MiB per request"},
    )


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/v1/systems/bot/observations", INGEST_LIMIT),
        ("/api/v1/systems/bot/feedback", INGEST_LIMIT),
        ("/v1/traces", INGEST_LIMIT),
        ("/api/v1/systems/bot/flags", DEFAULT_LIMIT),
        ("/api/v1/systems/observations", DEFAULT_LIMIT),
        ("/api/v1/systems/bot/observations/x", DEFAULT_LIMIT),
        ("/api/v1/apply", APPLY_LIMIT),
        ("/api/v1/gate", APPLY_LIMIT),
        ("/signin", DEFAULT_LIMIT),
    ],
)
def test_allowance_per_route(path: str, limit: int) -> None:
    assert allowance(path) == limit


def test_the_middleware_never_calls_receive_for_an_oversized_declared_body() -> None:
    reads: list[str] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the application must not run")

    async def receive() -> dict[str, Any]:
        reads.append("read")
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/tokens",
        "headers": [(b"content-length", str(DEFAULT_LIMIT + 1).encode())],
    }
    anyio.run(BodyLimit(app), scope, receive, send)
    assert reads == []
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["kind"] == "too_large"
