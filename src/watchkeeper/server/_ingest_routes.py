"""Observations in over HTTP: batches of observations and feedback, flags, dead letters, and
OpenTelemetry traces (OTLP/HTTP) of LLM calls.

Bodies are read here rather than by a request model: a 1,000-item batch is parsed once with the
standard library and validated item by item (`ingest.items`), so a bad item is one rejection in
the answer, not a 400 for the batch. What is refused as a whole — malformed JSON, a body over
the limits, an unknown system, a bad token — stores nothing. Everything else goes through
`Operations`, like every other route.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from watchkeeper.access import service_system
from watchkeeper.app import Operations
from watchkeeper.errors import HTTP_STATUS, ActionError
from watchkeeper.ingest import otlp
from watchkeeper.server._limits import INGEST_LIMIT, BodyTooLarge
from watchkeeper.server._models import (
    NO_NUL,
    BatchOut,
    DeadLetterOut,
    ErrorOut,
    ObservationPageOut,
    PartialsOut,
    ProfilingOut,
    TriageItemOut,
)
from watchkeeper.server._routes import Acting, SystemName, _bearer, acting
from watchkeeper.store import StoreError

MAX_BODY = INGEST_LIMIT  # bytes, before (see _limits) and after decompression
MAX_MEMBERS = 1000  # gzip members in one body; real clients send one
FIRST_SLICE, MAX_SLICE = 256, 64 * 1024  # bytes handed to zlib at a time
MAX_ITEMS = 10_000
_MiB = MAX_BODY // (1024 * 1024)
_GRPC = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 413: 8, 415: 3, 503: 14}
_PROTOBUF = ("application/x-protobuf", "application/protobuf")

ingest = APIRouter()


class BadBody(Exception):
    """A request refused as a whole before anything is stored."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail

    def response(self) -> JSONResponse:
        return JSONResponse({"kind": self.kind, "detail": self.detail}, status_code=self.status)


# --- reading bodies ---------------------------------------------------------------------------


def _too_large(what: str) -> BadBody:
    return BadBody(413, "too_large", f"{what} is over the limit of {_MiB} MiB per request")


async def read_body(request: Request) -> bytes:
    """The body, inflated if it came gzip- or deflate-encoded. Its size on the wire is bounded
    by the `BodyLimit` middleware (a cut arrives here as BodyTooLarge, answered in the route's
    own format); the inflated size here."""
    chunks = []
    try:
        async for chunk in request.stream():
            chunks.append(chunk)
    except BodyTooLarge:
        raise _too_large("the body") from None
    except ClientDisconnect:
        raise BadBody(400, "invalid", "the client went away before the body ended") from None
    body, encoding = b"".join(chunks), request.headers.get("content-encoding", "")
    if encoding.strip().lower() in ("", "identity"):
        return body
    return await run_in_threadpool(_inflate, body, encoding)  # CPU work: off the event loop


def _inflate(data: bytes, encoding: str) -> bytes:
    """Every gzip member in turn (RFC 1952 allows several, up to MAX_MEMBERS), nothing after the
    last; never more than MAX_BODY decoded in all. Each member is fed to zlib in slices that
    double from a small one, so the work stays within a few times the body however many members
    there are (handing each member the whole rest made many tiny members cost the square)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return data
    wbits = {"gzip": 31, "x-gzip": 31, "deflate": 15}.get(encoding)
    if wbits is None:
        raise BadBody(415, "unsupported", f"Content-Encoding {encoding!r}: use gzip or none")
    format_ = "gzip" if wbits == 31 else "deflate"
    view, out, offset = memoryview(data), bytearray(), 0
    for _ in range(MAX_MEMBERS):
        start, inflater, size = offset, zlib.decompressobj(wbits), FIRST_SLICE
        while not inflater.eof:
            if offset >= len(data):
                raise BadBody(400, "invalid", f"the {encoding} body is truncated")
            piece, size = view[offset : offset + size], min(2 * size, MAX_SLICE)
            try:
                out += inflater.decompress(piece, MAX_BODY + 1 - len(out))
            except zlib.error as exc:
                if start:
                    raise _trailing(encoding, len(data) - start, format_) from None
                raise BadBody(400, "invalid", f"the body is not valid {encoding}: {exc}") from None
            if len(out) > MAX_BODY:
                raise _too_large(f"the {encoding}-decoded body")
            offset += len(piece) - len(inflater.unused_data)
        if offset == len(data):
            return bytes(out)
        if format_ != "gzip" or not data.startswith(b"\x1f\x8b", offset):
            raise _trailing(encoding, len(data) - offset, format_)
    raise BadBody(400, "invalid", f"the {encoding} body has more than {MAX_MEMBERS} members")


def _trailing(encoding: str, size: int, format_: str) -> BadBody:
    detail = f"the {encoding} body has {size} bytes after its end that are not {format_}"
    return BadBody(400, "invalid", detail)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259); send null")


_decoder = json.JSONDecoder(parse_constant=_no_constant)


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity; errors say where."""
    try:
        return _decoder.decode(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadBody(400, "invalid", f"the body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BadBody(400, "invalid", f"malformed JSON at {where}: {exc.msg}") from None
    except ValueError as exc:
        raise BadBody(400, "invalid", f"malformed JSON: {exc}") from None
    except RecursionError:
        raise BadBody(400, "invalid", "malformed JSON: nested too deeply") from None


def batch(document: Any, *, single: bool = False) -> list[Any]:
    """`{"items": [...]}` or a bare list; with `single`, one object is a batch of one."""
    if isinstance(document, dict) and set(document) == {"items"}:
        items = document["items"]
        where = "body.items"
    elif single and isinstance(document, dict) and "items" not in document:
        items = [document]
        where = "body"
    else:
        items, where = document, "body"
    if not isinstance(items, list):
        shape = '{"items": [...]} or a list of items'
        raise BadBody(400, "invalid", f"{where}: expected {shape}")
    if len(items) > MAX_ITEMS:
        raise BadBody(
            413, "too_large", f"{len(items)} items: the limit is {MAX_ITEMS} items per request"
        )
    return items


# --- observations, feedback, flags, dead letters ---------------------------------------------

Source = Annotated[
    Literal["api", "sdk", "file"],
    Query(description="Where the batch comes from; kept with its dead letters"),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed JSON or not a batch; says where"},
    401: {"model": ErrorOut, "description": "No or unknown API token"},
    403: {"model": ErrorOut, "description": "Not allowed (recorded)"},
    404: {"model": ErrorOut, "description": "No such system"},
    413: {"model": ErrorOut, "description": f"Over {_MiB} MiB or {MAX_ITEMS} items"},
    415: {"model": ErrorOut, "description": "A Content-Encoding other than gzip or deflate"},
    503: {"model": ErrorOut, "description": "The database is unreachable"},
}


class FlagIn(BaseModel):
    model_config = {"extra": "forbid"}
    observation_id: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


def _items_doc(item: dict[str, Any], *, single: bool) -> dict[str, Any]:
    """The documented body; read by hand (see the module docstring), so given here."""
    shapes = [
        {
            "type": "object",
            "properties": {"items": {"type": "array", "maxItems": MAX_ITEMS, "items": item}},
            "required": ["items"],
            "additionalProperties": False,
        },
        {"type": "array", "maxItems": MAX_ITEMS, "items": item},
    ]
    if single:
        shapes.append(item)
    schema = {"oneOf": shapes}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_TS = {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]}
_OBSERVATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "maxLength": 200, "description": "Idempotency key"},
        "ts": _TS,
        "inputs": {"type": "object"},
        "output": {},
        "latency_ms": {"type": "number", "minimum": 0},
        "model_version": {"type": "string", "maxLength": 200},
        "metadata": {"type": "object"},
    },
}
_FEEDBACK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["observation_id"],
    "properties": {
        "observation_id": {"type": "string", "maxLength": 200},
        "label": {"type": "string"},
        "score": {"type": "number"},
        "thumbs_up": {"type": "boolean"},
        "ts": _TS,
        "metadata": {"type": "object"},
    },
}


def _ingested(ops: Operations, system: str, body: bytes, source: str, kind: str) -> dict[str, Any]:
    if kind == "feedback":
        return ops.feedback(system, batch(parse_json(body), single=True), source)
    return ops.ingest(system, batch(parse_json(body)), source)


@ingest.post(
    "/api/v1/systems/{name}/observations",
    response_model=BatchOut,
    responses=ERRORS,
    tags=["observations"],
    openapi_extra=_items_doc(_OBSERVATION, single=False),
)
async def observations(
    name: SystemName, request: Request, ops: Acting, source: Source = "api"
) -> Any:
    """A batch of observations (`{"items": [...]}` or a list; gzip accepted), idempotent on
    each item's `id`. Invalid items are rejected one by one and kept as dead letters."""
    try:
        body = await read_body(request)
        return await run_in_threadpool(_ingested, ops, name, body, source, "observations")
    except BadBody as exc:
        return exc.response()


@ingest.post(
    "/api/v1/systems/{name}/feedback",
    response_model=BatchOut,
    responses=ERRORS,
    tags=["observations"],
    openapi_extra=_items_doc(_FEEDBACK, single=True),
)
async def feedback(name: SystemName, request: Request, ops: Acting, source: Source = "api") -> Any:
    """Feedback on observations: one object, a list or `{"items": [...]}`; each gives a label,
    a score or thumbs_up. Feedback arriving before its observation is joined when it comes."""
    try:
        body = await read_body(request)
        return await run_in_threadpool(_ingested, ops, name, body, source, "feedback")
    except BadBody as exc:
        return exc.response()


@ingest.post(
    "/api/v1/systems/{name}/flags",
    response_model=TriageItemOut,
    responses=ERRORS,
    tags=["observations"],
)
def flag(name: SystemName, body: FlagIn, ops: Acting) -> dict[str, Any]:
    """Flag an observation for triage (top priority); flagging it again changes nothing."""
    return ops.flag(name, body.observation_id, body.reason)


class PartialsIn(BaseModel):
    model_config = {"extra": "forbid"}
    items: list[dict[str, Any]] = Field(
        max_length=MAX_ITEMS,
        description="Partials as `wk profile` makes them: key, window_start, window_end, rows, "
        "state, origin",
    )


@ingest.get(
    "/api/v1/systems/{name}/profiling",
    response_model=ProfilingOut,
    responses=ERRORS,
    tags=["observations"],
)
def profiling(name: SystemName, ops: Acting) -> dict[str, Any]:
    """What a profiler of lake data (`wk profile`) needs to make this system's partials."""
    return ops.profiling(name)


@ingest.post(
    "/api/v1/systems/{name}/partials",
    response_model=PartialsOut,
    responses={**ERRORS, 422: {"model": ErrorOut, "description": "A partial refused; says which"}},
    tags=["observations"],
)
def partials(name: SystemName, body: PartialsIn, ops: Acting) -> dict[str, Any]:
    """Window partials profiled where the data lives (`wk profile`), stored all or none."""
    return ops.record_partials(name, body.items)


@ingest.get(
    "/api/v1/systems/{name}/observations",
    response_model=ObservationPageOut,
    responses=ERRORS,
    tags=["observations"],
)
def explore_observations(
    name: SystemName,
    ops: Acting,
    since: Annotated[datetime | None, Query(description="Only those at or after")] = None,
    where: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="An expression of the runbook's language, e.g. "
            "`inputs.channel == 'chat' and latency_ms > 500`",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(max_length=100, description="`next` of a page")] = None,
) -> dict[str, Any]:
    """What the system saw, newest first, as it was stored (raw rows are kept for
    `spec.retention`, thinned to `raw_sample` after a week). At most 50,000 rows are read a
    call: a rare match answers with `next` to go on from, never a timeout."""
    return ops.observations(name, since=since, where=where, limit=limit, after=after)


@ingest.get(
    "/api/v1/systems/{name}/dead-letters",
    response_model=list[DeadLetterOut],
    responses=ERRORS,
    tags=["observations"],
)
def dead_letters(
    name: SystemName, ops: Acting, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Rejected items, newest first, with the reason and the item as it came."""
    return ops.dead_letters(name, limit)


# --- OTLP/HTTP traces ------------------------------------------------------------------------

_STATUS_DOC = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        }
    },
    "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
}
_TRACES_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
_TRACES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "ExportTraceServiceResponse, in the request's content type",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "partialSuccess": {
                            "type": "object",
                            "properties": {
                                "rejectedSpans": {"type": "string"},
                                "errorMessage": {"type": "string"},
                            },
                        }
                    },
                }
            },
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **{
        code: {"description": f"google.rpc.Status: {why}", "content": _STATUS_DOC}
        for code, why in (
            (400, "not an ExportTraceServiceRequest"),
            (401, "no or unknown API token"),
            (403, "not allowed"),
            (413, f"over {_MiB} MiB"),
            (415, "a content type other than protobuf or JSON"),
            (503, "the database is unreachable"),
        )
    },
}


def _grouped(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = {}
    for key, value in pairs:
        groups.setdefault(key, []).append(value)
    return groups


def _exported(ops: Operations, body: bytes, protobuf: bool) -> bytes:
    """Map LLM spans to observations of the systems their resources name; store them through
    `Operations`; keep every refused span as a dead letter; answer with what was refused."""
    try:
        document = otlp.from_protobuf(body) if protobuf else parse_json(body)
        mapped = otlp.map_request(
            document, ops.app.ingest.known_systems(otlp.system_names(document))
        )
    except otlp.NotOtlp as exc:
        raise BadBody(400, "invalid", str(exc)) from None
    errors = mapped.errors
    grouped = _grouped((s.system, s.item) for s in mapped.spans)
    _decide_all(ops, list(grouped), [system for system, _, _ in mapped.refusals if system])
    for system, spans in grouped.items():
        result = ops.ingest(system, spans, source="otlp")
        for rejected in result["rejected"]:
            span = spans[rejected["index"]]["metadata"].get("span_name")
            where = rejected["error"].partition("]")[2].lstrip(".: ")  # drop "items[i]"
            errors.append(f"span {span!r}: {where}")
    refusals = _grouped((system, (span, why)) for system, span, why in mapped.refusals)
    for system, reasons in refusals.items():
        ops.app.ingest.reject(system or "unknown", "otlp", reasons, ops.now)
    shown = "; ".join(errors[:10]) + (f"; and {len(errors) - 10} more" if len(errors) > 10 else "")
    return otlp.export_response(len(errors), shown, protobuf=protobuf)


def _decide_all(ops: Operations, systems: list[str], unknown: list[str]) -> None:
    """Every system a request names is decided before anything is stored, so a refusal for one
    leaves the others unwritten too: a request is taken whole or not at all. Names of no system
    (their spans kept as dead letters under the name) are decided only for a service token,
    which may write nothing outside its own system; for a person they are a 404 in words."""
    named = systems + (unknown if service_system(ops.actor) is not None else [])
    for system in dict.fromkeys(named):
        ops.app.access.authorize(
            ops.actor, "observations.write", ops.now, system=system,
            target=f"{system}/observations",
        )  # fmt: skip


def _status(code: int, message: str, protobuf: bool) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    return Response(
        otlp.status(_GRPC.get(code, 2), message, protobuf=protobuf),
        status_code=code,
        media_type=_PROTOBUF[0] if protobuf else "application/json",
        headers=headers,
    )


@ingest.post(
    "/v1/traces",
    response_class=Response,
    responses=_TRACES_RESPONSES,
    tags=["opentelemetry"],
    openapi_extra=_TRACES_DOC,
)
async def traces(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    """OTLP/HTTP trace export (protobuf or JSON, gzip accepted). Spans of LLM calls become
    observations of the system named by the resource attribute `watchkeeper.system`, else
    `service.name`; other spans are ignored. Authenticate with `Authorization: Bearer` (e.g.
    OTEL_EXPORTER_OTLP_HEADERS). Refused spans are counted in `partialSuccess` and kept as dead
    letters. Answers — errors too — come in the request's content type."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    protobuf = kind in _PROTOBUF
    if not protobuf and kind != "application/json":
        return _status(415, "send application/x-protobuf or application/json", False)
    try:
        ops = await run_in_threadpool(acting, request, credentials)
        body = await read_body(request)
        answer = await run_in_threadpool(_exported, ops, body, protobuf)
    except BadBody as exc:
        return _status(exc.status, exc.detail, protobuf)
    except ActionError as exc:
        return _status(HTTP_STATUS.get(exc.kind, 400), exc.message, protobuf)
    except StoreError as exc:
        return _status(503, str(exc), protobuf)
    return Response(answer, media_type=_PROTOBUF[0] if protobuf else "application/json")
