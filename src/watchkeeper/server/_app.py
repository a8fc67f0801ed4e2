"""`create_app(watchkeeper)`: the HTTP face around the one application object.

Errors are translated here, in one place: a service's `ActionError` kind becomes its status
(400, 401, 403, 404, 409), manifest problems and malformed requests a 400 that names the field
and index, an unreachable database a 503 — never a traceback. Every 403 is in the audit trail:
refusals decided by `access` are recorded before they are raised, and any other is recorded here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from watchkeeper.access import Refused
from watchkeeper.app import Watchkeeper
from watchkeeper.errors import HTTP_STATUS, ActionError
from watchkeeper.manifest import ManifestError
from watchkeeper.server._evidence_routes import evidence_api
from watchkeeper.server._heartbeat import Heartbeat
from watchkeeper.server._ingest_routes import ingest
from watchkeeper.server._integration_routes import integrations
from watchkeeper.server._limits import BodyLimit
from watchkeeper.server._longpoll import Waiters
from watchkeeper.server._quality_routes import metrics, quality
from watchkeeper.server._refusals import record_refusal
from watchkeeper.server._rehearsal_routes import rehearsal_api
from watchkeeper.server._routes import api, health
from watchkeeper.server._scim_routes import scim
from watchkeeper.server._switch_routes import switch_api
from watchkeeper.server._tickets import Tickets
from watchkeeper.server.dashboard import dashboard
from watchkeeper.store import StoreError
from watchkeeper.switch import SwitchFeed

KIND = {v: k for k, v in HTTP_STATUS.items()}
DESCRIPTION = """\
Watchkeeper keeps AI systems owned after go-live. Authenticate with a person's API token
(`Authorization: Bearer wk_...`, issued by `wk token create EMAIL`); serving code (the SDK,
OpenTelemetry exporters) uses a service token (`wk token create --service SYSTEM`), which writes
one system's observations, feedback and flags and reads its kill switch, nothing else. Any
active person reads; every change is decided by one rule per action over the system's charter
and escalation path (the README's "Who may do what" table): owners apply, kill authorities flip
the switch, those who answer for a system write its data, acknowledge its incidents and record
its care, and admins manage people and tokens. Every change and every refusal is appended to a
hash-chained audit trail.
"""


def create_app(
    watchkeeper: Watchkeeper, *, max_wait: float = 30.0, tick_every: float | None = None
) -> FastAPI:
    """`max_wait` caps a kill-switch long-poll (seconds), whatever the client asks for."""
    waiters = Waiters()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        waiters.bind(asyncio.get_running_loop())
        feed = SwitchFeed(watchkeeper.switch, watchkeeper.store, waiters.publish)
        await run_in_threadpool(feed.start)
        await run_in_threadpool(watchkeeper.ingest.warm)
        heartbeat = Heartbeat(watchkeeper, tick_every) if tick_every else None
        if heartbeat:
            heartbeat.start()
        try:
            yield
        finally:
            waiters.release_all()
            await run_in_threadpool(feed.stop)
            if heartbeat:
                await run_in_threadpool(heartbeat.stop)

    server = FastAPI(
        title="Watchkeeper",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    server.state.watchkeeper = watchkeeper
    server.state.waiters = waiters
    server.state.tickets = Tickets()
    server.state.max_wait = max_wait
    server.include_router(health)
    server.include_router(switch_api)
    server.include_router(api)
    server.include_router(quality)
    server.include_router(rehearsal_api)
    server.include_router(evidence_api)
    server.include_router(ingest)
    server.include_router(integrations)
    server.include_router(metrics)
    server.include_router(dashboard)
    server.include_router(scim)
    server.add_middleware(BodyLimit)
    _handle_errors(server)
    server.openapi = lambda: _openapi(server)  # type: ignore[method-assign]
    return server


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"kind": KIND.get(status, "error"), "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _handle_errors(server: FastAPI) -> None:
    @server.exception_handler(ActionError)
    async def action_error(request: Request, exc: ActionError) -> JSONResponse:
        if exc.kind == "forbidden" and not isinstance(exc, Refused):
            await run_in_threadpool(record_refusal, request, exc.message)
        return _error(HTTP_STATUS[exc.kind], exc.message)

    @server.exception_handler(ManifestError)
    async def manifest_error(_: Request, exc: ManifestError) -> JSONResponse:
        problems = [p.to_dict() for p in exc.problems]
        detail = f"{len(problems)} problem(s) in the manifests; nothing was changed"
        return _error(400, detail, problems=problems)

    @server.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
            for e in exc.errors()
        ]
        detail = "invalid request: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return _error(400, detail, errors=errors)

    @server.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @server.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"kind": "unavailable", "detail": str(exc)}, status_code=503)


def _field(loc: Any) -> str:
    """`("body", "files", 0, "text")` -> `body.files[0].text`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "request"


def _openapi(server: FastAPI) -> dict[str, Any]:
    """The generated document, with FastAPI's 422 replaced by our documented 400."""
    if server.openapi_schema is None:
        schema = get_openapi(
            title=server.title,
            version=server.version,
            description=server.description,
            routes=server.routes,
        )
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        server.openapi_schema = schema
    return server.openapi_schema
