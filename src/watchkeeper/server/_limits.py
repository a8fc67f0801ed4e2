"""One body limit for every route, enforced before the body is read.

A pure ASGI middleware, so it stands in front of everything — authentication, FastAPI's own body
parsing, the ingest routes' reading — and nobody can make the server hold more than a route's
allowance in memory: a declared Content-Length over it is refused at once, without reading a
byte; a body sent without one (chunked) is counted as it streams and cut where it crosses it.
Ingest and OTLP take large batches, `apply` and `gate` a set of manifests; everything else is
small JSON or a form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper.server._scim_patch import ScimError
from watchkeeper.server._scim_resources import MEDIA_TYPE, ROOT, error_json

MiB = 1024 * 1024
DEFAULT_LIMIT = 1 * MiB
INGEST_LIMIT = 10 * MiB
APPLY_LIMIT = 4 * MiB  # a dozen manifest files at their 256 KiB limit, JSON-quoted
_ALLOWANCES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"/api/v1/systems/[^/]+/(observations|feedback)"), INGEST_LIMIT),
    (re.compile(r"/v1/traces"), INGEST_LIMIT),
    # a rehearsal before apply carries the manifests as `/gate` does
    (re.compile(r"/api/v1/(apply|gate|systems/[^/]+/rehearsals)"), APPLY_LIMIT),
)


def allowance(path: str) -> int:
    """The most body bytes a request to `path` may send."""
    for pattern, limit in _ALLOWANCES:
        if pattern.fullmatch(path):
            return limit
    return DEFAULT_LIMIT


def refusal(limit: int) -> str:
    return f"the body is over the limit of {limit / MiB:g} MiB per request"


class BodyTooLarge(Exception):
    """Raised from `receive` where a streamed body crosses its route's allowance."""

    def __init__(self, limit: int) -> None:
        super().__init__(refusal(limit))
        self.limit = limit


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def _refusal_body(path: str, limit: int) -> tuple[bytes, bytes]:
    """The refusal in the format the caller reads its errors in: an identity provider's SCIM
    connector parses SCIM's error schema, everything else the API's `kind` and `detail`."""
    if path == ROOT or path.startswith(f"{ROOT}/"):
        error = ScimError(413, refusal(limit))
        return json.dumps(error_json(error)).encode(), MEDIA_TYPE.encode()
    return json.dumps({"kind": "too_large", "detail": refusal(limit)}).encode(), b"application/json"


async def _refuse(send: Send, path: str, limit: int) -> None:
    body, content_type = _refusal_body(path, limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _Guarded:
    """One request's `receive` and `send`: counts what arrives, and once the body is over the
    limit makes sure what leaves is a 413, whatever the application made of the cut."""

    def __init__(self, path: str, limit: int, receive: Receive, send: Send) -> None:
        self.path, self.limit, self._receive, self._send = path, limit, receive, send
        self.received = 0
        self.exceeded = self.app_started = self.refused = False

    async def receive(self) -> Message:
        if self.exceeded:
            raise BodyTooLarge(self.limit)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise BodyTooLarge(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            if self.exceeded and message["status"] != 413:
                await self.refuse()
                return
            self.app_started = True
        await self._send(message)

    async def refuse(self) -> None:
        self.refused = True
        await _refuse(self._send, self.path, self.limit)


class BodyLimit:
    """`server.add_middleware(BodyLimit)`; `allowance` maps a path to its limit in bytes."""

    def __init__(self, app: ASGIApp, allowance: Callable[[str], int] = allowance) -> None:
        self.app, self.allowance = app, allowance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.allowance(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, scope["path"], limit)
            return
        guarded = _Guarded(scope["path"], limit, receive, send)
        try:
            await self.app(scope, guarded.receive, guarded.send)
        except Exception:
            if not guarded.exceeded or guarded.app_started:
                raise
            if not guarded.refused:
                await guarded.refuse()
