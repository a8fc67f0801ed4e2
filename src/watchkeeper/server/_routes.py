"""The routes: thin — authenticate, call `Operations` (the same object the local CLI uses), return
its dicts. Only the kill-switch long-poll does more, and that is waiting, not logic."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from watchkeeper.access import Action, service_system
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.manifest import Location, ManifestError, Problem
from watchkeeper.server._metrics import count_switch_refusal
from watchkeeper.server._models import (
    NO_NUL,
    AckIn,
    ApplyIn,
    AssignmentOut,
    AuditEntryOut,
    ChangeOut,
    DrillIn,
    ErrorOut,
    GateReportOut,
    HealthOut,
    ManifestFile,
    ReadyOut,
    StatusOut,
    SwitchConfirmationOut,
    SwitchDrillOut,
    SwitchFlipOut,
    SwitchIn,
    TokenIn,
    TokenInfoOut,
    TokenOut,
    VacuumOut,
    VerificationOut,
)
from watchkeeper.store import current_revision, head_revision
from watchkeeper.switch import MAX_WAIT

_bearer = HTTPBearer(
    auto_error=False,
    description="A person's API token (`wk token create EMAIL`), or on the routes serving code "
    "calls a service token (`wk token create --service SYSTEM`).",
)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Invalid input; names the field and index"},
    401: {"model": ErrorOut, "description": "No API token, or an unknown, revoked or expired one"},
    403: {"model": ErrorOut, "description": "Not allowed; says what is missing (recorded)"},
    404: {"model": ErrorOut, "description": "No such system or person"},
    409: {"model": ErrorOut, "description": "Conflicts with the current state"},
    413: {"model": ErrorOut, "description": "The body is over this route's limit (see README)"},
    503: {"model": ErrorOut, "description": "The database is unreachable"},
}

health = APIRouter(tags=["health"])
api = APIRouter(prefix="/api/v1", responses=ERRORS)


def acting(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Operations:
    """Who is calling, read with the clock once for the whole request. Bad credentials are
    audited through the noise gate (counted per interval); a request without any is not."""
    return _authenticated(request, credentials, every=False)


def acting_on_switch(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Operations:
    """As `acting`, but every failed attempt on a kill switch is audited, one row each: who
    tries to flip a switch without credentials matters more than the trail's size."""
    return _authenticated(request, credentials, every=True)


def polling_switch(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Operations:
    """As `acting`, counting each refusal (`watchkeeper_switch_refused_total`): an SDK polling
    with a revoked token is serving on a switch it can no longer read."""
    try:
        return _authenticated(request, credentials, every=False)
    except ActionError as exc:
        count_switch_refusal(exc.kind)
        raise


def _authenticated(
    request: Request, credentials: HTTPAuthorizationCredentials | None, *, every: bool
) -> Operations:
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    now = watchkeeper.clock.now()
    request.state.now = now
    presented = request.headers.get("authorization")
    try:
        if credentials is None and presented:
            raise ActionError(
                "unauthenticated", "malformed Authorization header: expected `Bearer <token>`"
            )
        actor = watchkeeper.access.authenticate(
            credentials.credentials if credentials else None, now, services=True
        )
    except ActionError as exc:
        if exc.kind == "unauthenticated" and (every or presented):
            watchkeeper.access.refuse_anonymous(
                f"{request.method} {request.url.path}",
                request.path_params.get("name"),
                exc.message,
                client_address(request),
                now,
                every=every,
            )
        raise
    request.state.actor = actor
    if service_system(actor) is not None:
        _serving(request, watchkeeper, actor)
    return Operations(watchkeeper, actor, now, enforce=True)


# The routes serving code calls — the SDK's writes and its kill-switch polls, stream and
# confirmations, and OpenTelemetry exporters — each with the action a service token is then
# decided on for the system in the path. Every other route refuses one: a new route is closed
# to machines until it is listed here.
SERVING: dict[tuple[str, str], Action] = {
    ("POST", "/api/v1/systems/{name}/observations"): "observations.write",
    ("POST", "/api/v1/systems/{name}/feedback"): "feedback.write",
    ("POST", "/api/v1/systems/{name}/flags"): "flag.write",
    ("GET", "/api/v1/systems/{name}/switch"): "read",
    ("GET", "/api/v1/systems/{name}/switch/stream"): "read",
    ("POST", "/api/v1/systems/{name}/switch/report"): "read",
    # the systems are in the body's resources: each is decided as its spans are stored
    ("POST", "/v1/traces"): "observations.write",
}


def _serving(request: Request, watchkeeper: Watchkeeper, actor: str) -> None:
    """Let a service token through to a route of SERVING for its own system only; anything else
    is refused (403, recorded) naming the token's scope, before the route reads a byte."""
    now: datetime = request.state.now
    route = getattr(request.scope.get("route"), "path", request.url.path)
    action = SERVING.get((request.method, route))
    system = request.path_params.get("name")
    path = request.url.path
    if action is None:
        attempted = f"{request.method} {path}"
        raise watchkeeper.access.refuse_beyond_scope(actor, attempted, path, system, now)
    if system is not None:
        watchkeeper.access.authorize(actor, action, now, system=system, target=path)


def client_address(request: Request) -> str:
    """The peer's address as this process sees it (behind a proxy: the proxy's)."""
    return request.client.host if request.client else "unknown"


Acting = Annotated[Operations, Depends(acting)]
ActingOnSwitch = Annotated[Operations, Depends(acting_on_switch)]
PollingSwitch = Annotated[Operations, Depends(polling_switch)]
SystemName = Annotated[str, Path(max_length=63, pattern=NO_NUL, description="A system's name")]
Email = Annotated[str, Path(max_length=254, pattern=NO_NUL, description="A person's email")]

# --- health -----------------------------------------------------------------------------------


@health.get("/healthz", response_model=HealthOut)
def healthz() -> dict[str, str]:
    """Liveness: the process answers. Touches nothing else."""
    return {"status": "ok"}


@health.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ErrorOut, "description": "Database unreachable or not migrated"}},
)
def readyz(request: Request) -> Any:
    """Readiness: the database answers and its schema is current. `degraded` (still 200: the
    kill switch must stay reachable) when steps of this process's last tick failed."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    try:
        revision = current_revision(watchkeeper.store.engine)
    except Exception as exc:
        return JSONResponse({"kind": "unavailable", "detail": str(exc)}, status_code=503)
    if revision != head_revision():
        detail = f"schema at {revision or 'nothing'}, expected {head_revision()}: wk db upgrade"
        return JSONResponse({"kind": "unavailable", "detail": detail}, status_code=503)
    ready = {"status": "ready", "database": watchkeeper.store.dialect, "schema_revision": revision}
    last = watchkeeper.scheduler.last
    if last is not None and last.failures:
        failed = "; ".join(
            f"{f.step}{f' for {f.system}' if f.system else ''}: {f.error}" for f in last.failures
        )
        return {**ready, "status": "degraded", "detail": f"last tick failed: {failed}"}
    return ready


# --- reads ------------------------------------------------------------------------------------


@api.get("/systems", response_model=list[StatusOut], tags=["charter"])
def systems(ops: Acting) -> list[dict[str, Any]]:
    """Every system: charter, acknowledgement states, lifecycle and what is missing."""
    return ops.status()


@api.get("/systems/{name}", response_model=StatusOut, tags=["charter"])
def system(name: SystemName, ops: Acting) -> dict[str, Any]:
    return ops.status(name)[0]


@api.get("/vacuum", response_model=VacuumOut, tags=["charter"])
def vacuum(ops: Acting) -> dict[str, Any]:
    """The portfolio ownership report: per system, a score and the exact gaps."""
    return ops.vacuum()


@api.post("/gate", response_model=list[GateReportOut], tags=["charter"])
def gate(body: ApplyIn, ops: Acting) -> list[dict[str, Any]]:
    """The go-live readiness gate over the sent manifests (the body `apply` takes), with the
    people, teams and acknowledgements this server records: what `wk gate` in CI asks, on a
    runner that has the repo but no database. Nothing is recorded or applied. Asked by those who
    may apply a manifest (a system's owner, an admin, a registrar), as `apply` is: parsing YAML
    costs about a second per 30 KiB in the threads the kill switch's POST waits on, so nobody
    else gets it parsed (a recorded 403 first)."""
    with written(body.files) as paths:
        return ops.gate(paths)


@api.get("/audit", response_model=list[AuditEntryOut], tags=["audit"])
def audit(
    ops: Acting,
    system: Annotated[str | None, Query(max_length=63, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The newest audit entries (oldest first), optionally for one system."""
    return ops.audit(system, limit)


@api.get("/audit/verify", response_model=VerificationOut, tags=["audit"])
def audit_verify(ops: Acting) -> dict[str, Any]:
    """Walk the hash chain; names the first broken link."""
    return ops.verify_audit()


# --- kill switch ------------------------------------------------------------------------------


@api.post("/systems/{name}/switch", response_model=SwitchFlipOut, tags=["kill switch"])
def set_switch(
    name: SystemName,
    body: SwitchIn,
    ops: ActingOnSwitch,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT,
            description="Wait up to this many seconds for the live SDK processes to confirm "
            "the flip; the outcome is in `confirmations` and the audit trail",
        ),
    ] = 0,
) -> dict[str, Any]:
    """Disable or enable; only the system's active kill authorities, always with a reason.
    Enabling a system under a serious incident's evidence hold (EU AI Act Art. 73(6)) needs a
    `justification` too (409 without it); disabling never waits for one."""
    return ops.set_switch(name, body.state, body.reason, wait, body.justification)


@api.get(
    "/systems/{name}/switch/confirmations",
    response_model=SwitchConfirmationOut,
    tags=["kill switch"],
)
def switch_confirmations(name: SystemName, ops: Acting) -> dict[str, Any]:
    """Who obeyed the last flip: confirmed by k of the n SDK processes live at the flip, in
    how long (server clock), and the stragglers by host, pid and service."""
    return ops.switch_confirmations(name)


@api.post("/systems/{name}/switch/drill", response_model=SwitchDrillOut, tags=["kill switch"])
def drill_switch(
    name: SystemName,
    ops: ActingOnSwitch,
    body: DrillIn | None = None,
    wait: Annotated[
        float,
        Query(
            ge=1,
            le=MAX_WAIT,
            description="Seconds the live SDK processes have to confirm the drill; it answers "
            "as soon as every one has",
        ),
    ] = MAX_WAIT,
) -> dict[str, Any]:
    """Drill the switch (its kill authorities only): its version moves and its state does not,
    so every live SDK process confirms it as it would a kill while serving as before. Waits,
    records the outcome (`GET …/switch/drills`, the audit trail's `switch.drill`) and returns
    it: passed when every process live at the drill confirmed in time; failed when one did not,
    or when none was live, since then it proved nothing."""
    return ops.drill(name, body.reason if body else None, wait)


@api.get("/systems/{name}/switch/drills", response_model=list[SwitchDrillOut], tags=["kill switch"])
def switch_drills(
    name: SystemName,
    ops: Acting,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    """The system's drills, the newest first, each with its outcome."""
    return ops.switch_drills(name, limit)


# --- other changes ----------------------------------------------------------------------------


@api.post("/apply", response_model=list[ChangeOut], tags=["charter"])
def apply(body: ApplyIn, ops: Acting) -> list[dict[str, Any]]:
    """Apply manifests (AISystem, People): a system's owner or an admin for each system, an admin
    for people and teams. All or nothing; every version is kept. A system under a serious
    incident's evidence hold (EU AI Act Art. 73(6)) changes only with a `justification` (409
    without it)."""
    with written(body.files) as paths:
        return ops.apply(paths, body.justification)


@contextmanager
def written(files: list[ManifestFile]) -> Iterator[list[str]]:
    """The submitted manifests as files the loader reads, gone afterwards; its problems come
    back located in the submitted names, not in the server's temporary files."""
    with tempfile.TemporaryDirectory(prefix="wk-manifests-") as folder:
        names: dict[str, str] = {}
        for i, submitted in enumerate(files):
            path = FilePath(folder) / f"{i}.yaml"
            path.write_text(submitted.text, encoding="utf-8")
            names[str(path)] = submitted.name
        try:
            yield list(names)
        except ManifestError as exc:
            raise ManifestError([_renamed(p, names) for p in exc.problems]) from None


def _renamed(problem: Problem, names: dict[str, str]) -> Problem:
    """Locations in the submitted names, not the server's temporary files."""
    message = problem.message
    for path, name in names.items():
        message = message.replace(path, name)
    where = problem.location
    return Problem(Location(names.get(where.file, where.file), where.line, where.column), message)


@api.post("/systems/{name}/acks", response_model=list[AssignmentOut], tags=["charter"])
def ack(name: SystemName, body: AckIn, ops: Acting) -> list[dict[str, Any]]:
    """Acknowledge a role the caller holds (in person or through a team)."""
    return ops.ack(name, body.role)


@api.post("/people/{email}/deactivate", response_model=ChangeOut, tags=["people"])
def deactivate(email: Email, ops: Acting) -> dict[str, Any]:
    """Mark someone as gone (admins): every role they held shows as vacant at once, and
    re-applying people.yaml does not bring them back."""
    return ops.deactivate(email)


@api.post("/people/{email}/reactivate", response_model=ChangeOut, tags=["people"])
def reactivate(email: Email, ops: Acting) -> dict[str, Any]:
    """Reverse a deactivation (admins): the person, and their unrevoked tokens, act again."""
    return ops.reactivate(email)


@api.post("/tokens", response_model=TokenOut, status_code=201, tags=["people"])
def create_token(body: TokenIn, ops: Acting) -> dict[str, Any]:
    """Issue an API token, optionally expiring: a person's (`email`; admins), or a service
    token (`service`; the system's owner, and admins) that writes that system's observations,
    feedback and flags and reads its kill switch, and nothing else. The token is in this answer
    only."""
    if body.email is not None:
        return ops.create_token(body.email, body.expires)
    if body.scim:
        return ops.create_scim_token(body.expires, body.name)
    assert body.service is not None, "TokenIn holds an email or a service"
    return ops.create_service_token(body.service, body.expires, body.name)


@api.get("/tokens", response_model=list[TokenInfoOut], tags=["people"])
def tokens(
    ops: Acting,
    person: Annotated[str | None, Query(max_length=254, pattern=NO_NUL)] = None,
    service: Annotated[
        str | None, Query(max_length=63, pattern=NO_NUL, description="A system's service tokens")
    ] = None,
) -> list[dict[str, Any]]:
    """Tokens without their secrets: everyone's or one person's (admins); one's own (anyone);
    one system's service tokens (its owner, and admins)."""
    return ops.tokens(person, service)


@api.post("/tokens/{token}/revoke", response_model=TokenInfoOut, tags=["people"])
def revoke_token(
    token: Annotated[str, Path(max_length=64, pattern=NO_NUL, description="An id or a prefix")],
    ops: Acting,
) -> dict[str, Any]:
    """Revoke a token at once (admins; its person, or for a service token its system's owner);
    the next request with it gets a 401."""
    return ops.revoke_token(token)
