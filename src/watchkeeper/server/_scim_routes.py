"""SCIM 2.0 at /scim/v2 (RFC 7644): an identity provider (Okta, Entra ID) keeps Watchkeeper's
people and teams in sync, with a SCIM token an admin issues (`wk token create --scim`), which
is good here and nowhere else.

Every answer is SCIM's own (`application/scim+json`; errors in its Error format with the
status as a string and a `scimType`), never the API's. Input is read and checked in full before
anything is written; a refused write is audited as its actor, `scim:<label>`. People and teams
are saved through the charter, as `wk apply` saves them, and deprovisioning (`active: false`, or
DELETE) is `wk people deactivate`: every role the person held falls vacant at once, their tokens
and sessions stop, and each affected system's owner (or, when the owner left, the admins) is
told through the courier."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from watchkeeper.app import Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.server._routes import client_address
from watchkeeper.server._scim_discovery import resource_types, schemas, service_provider_config
from watchkeeper.server._scim_filter import Filter, FilterError, matches, parse_filter
from watchkeeper.server._scim_patch import ScimError, apply_patch
from watchkeeper.server._scim_resources import (
    GROUP,
    MAX_RESULTS,
    MEDIA_TYPE,
    ROOT,
    SEARCH_REQUEST,
    USER,
    GroupIn,
    UserIn,
    case_exact,
    error_json,
    group_json,
    list_response,
    projected,
    read_group,
    read_user,
    user_json,
)
from watchkeeper.store import DirectoryPerson, DirectoryTeam, PersonRecord, StoreError, TeamRecord

scim = APIRouter(prefix=ROOT, include_in_schema=False)

Answer = tuple[int, Any]


@dataclass(frozen=True)
class Query:
    """A list's filter, page and attributes, from the URL or a SearchRequest body."""

    filter: Filter | None
    start: int
    count: int
    attributes: list[str]
    excluded: list[str]


class Provisioning:
    """One SCIM request's work, as `actor` at `now`; `base` is /scim/v2's absolute URL."""

    def __init__(self, watchkeeper: Watchkeeper, actor: str, now: datetime, base: str) -> None:
        self.app, self.actor, self.now, self.base = watchkeeper, actor, now, base

    # --- users -------------------------------------------------------------------------------

    def users(self, query: Query) -> Answer:
        with self.app.store.read() as unit:
            people = unit.directory.people()
        documents = [user_json(p, self.base) for p in people]
        return 200, _page(documents, query, case_exact(USER))

    def user(self, scim_id: str) -> Answer:
        return 200, user_json(self._person(scim_id), self.base)

    def create_user(self, body: Any) -> Answer:
        wanted = read_user(body, None)
        with self.app.store.read() as unit:
            existing = unit.directory.person_by_email(wanted.email)
            stored = unit.person(wanted.email)
        if existing is not None and not existing.deleted:
            raise ScimError(
                409,
                f"userName {wanted.email} is taken (id {existing.scim_id}): find it with "
                f'filter=userName eq "{wanted.email}"',
                "uniqueness",
            )
        return 201, self._save_user(wanted, stored, existing)

    def replace_user(self, scim_id: str, body: Any) -> Answer:
        current = self._person(scim_id)
        return 200, self._save_user(read_user(body, current), self._stored(current), current)

    def patch_user(self, scim_id: str, body: Any) -> Answer:
        current = self._person(scim_id)
        patched = apply_patch(user_json(current, self.base), body, USER)
        return 200, self._save_user(read_user(patched, current), self._stored(current), current)

    def delete_user(self, scim_id: str) -> Answer:
        """Deprovisioned as `active: false` is, then no longer a SCIM resource: the person stays
        (inactive) for the audit trail and the manifests that name them."""
        current = self._person(scim_id)
        self._deactivate(current.email)
        with self.app.store.write() as unit:
            unit.directory.mark_person(
                current.email, self.now, external_id=current.external_id, deleted=True
            )
            self._audit(unit, "scim.user.deleted", current.email, {"id": scim_id})
        return 204, None

    def _save_user(
        self, wanted: UserIn, stored: PersonRecord | None, current: DirectoryPerson | None
    ) -> dict[str, Any]:
        """Name and externalId first (a deliberate deactivation holds, as against people.yaml),
        then `active`: false deprovisions; true lifts only a deactivation SCIM made, since an
        admin's `wk people deactivate` is theirs to reverse."""
        person = (
            replace(stored, name=wanted.name)
            if stored is not None
            else PersonRecord(wanted.email, wanted.name, True)
        )

        def mark(unit: Any) -> None:
            unit.directory.mark_person(wanted.email, self.now, external_id=wanted.external_id)

        self.app.charter.provision(self.actor, self.now, mark, person=person)
        if not wanted.active:
            self._deactivate(wanted.email)
        elif not person.active or (current is not None and current.deactivation is not None):
            self._reactivate(wanted.email)
        with self.app.store.read() as unit:
            saved = unit.directory.person_by_email(wanted.email)
        assert saved is not None, "saved just before"
        return user_json(saved, self.base)

    def _deactivate(self, email: str) -> None:
        from watchkeeper.alerting.outbox import Outbox

        outbox = Outbox()
        self.app.charter.deactivate(email, self.actor, self.now, outbox)
        self.app.courier.send_notices(outbox.notices, self.now)

    def _reactivate(self, email: str) -> None:
        with self.app.store.read() as unit:
            deactivation = unit.deactivation(email)
        if deactivation is None or deactivation.by.startswith("scim:"):
            self.app.charter.reactivate(email, self.actor, self.now)

    def _person(self, scim_id: str) -> DirectoryPerson:
        with self.app.store.read() as unit:
            found = unit.directory.person(scim_id)
        if found is None:
            raise ScimError(404, f"no User {scim_id!r}")
        return found

    def _stored(self, current: DirectoryPerson) -> PersonRecord:
        with self.app.store.read() as unit:
            stored = unit.person(current.email)
        assert stored is not None, "a SCIM user is a stored person"
        return stored

    # --- groups ------------------------------------------------------------------------------

    def groups(self, query: Query) -> Answer:
        with self.app.store.read() as unit:
            teams = unit.directory.teams()
            ids = self._ids(unit)
        documents = [group_json(t, ids, self.base) for t in teams]
        return 200, _page(documents, query, case_exact(GROUP))

    def group(self, scim_id: str) -> Answer:
        team, ids = self._team(scim_id)
        return 200, group_json(team, ids, self.base)

    def create_group(self, body: Any) -> Answer:
        with self.app.store.read() as unit:
            emails = {v: k for k, v in self._ids(unit).items()}
        wanted = read_group(body, emails)
        with self.app.store.read() as unit:
            existing = unit.directory.team_by_name(wanted.name)
        if existing is not None and not existing.deleted:
            raise ScimError(
                409,
                f"displayName {wanted.display_name!r} is team {wanted.name}, which exists (id "
                f"{existing.scim_id}); to manage a team from people.yaml here, name the group "
                f"{wanted.name!r} in the identity provider and link it",
                "uniqueness",
            )
        return 201, self._save_group(wanted)

    def replace_group(self, scim_id: str, body: Any) -> Answer:
        current, ids = self._team(scim_id)
        wanted = read_group(body, {v: k for k, v in ids.items()})
        return 200, self._save_group(self._same_team(current, wanted))

    def patch_group(self, scim_id: str, body: Any) -> Answer:
        current, ids = self._team(scim_id)
        patched = apply_patch(group_json(current, ids, self.base), body, GROUP)
        wanted = read_group(patched, {v: k for k, v in ids.items()})
        return 200, self._save_group(self._same_team(current, wanted))

    def delete_group(self, scim_id: str) -> Answer:
        """The team is emptied, not removed: manifests that name it show a vacancy, not an
        unknown name."""
        current, _ = self._team(scim_id)
        self._save_group(
            GroupIn(current.name, current.display_name, [], current.external_id), deleted=True
        )
        return 204, None

    def _same_team(self, current: DirectoryTeam, wanted: GroupIn) -> GroupIn:
        """A team keeps its name (manifests name it); a renamed group keeps the team it is."""
        return replace(wanted, name=current.name)

    def _save_group(self, wanted: GroupIn, *, deleted: bool = False) -> dict[str, Any]:
        def mark(unit: Any) -> None:
            unit.directory.mark_team(
                wanted.name,
                self.now,
                external_id=wanted.external_id,
                display_name=wanted.display_name,
                deleted=deleted,
            )

        team = TeamRecord(wanted.name, wanted.members)
        self.app.charter.provision(self.actor, self.now, mark, team=team)
        if deleted:
            with self.app.store.write() as unit:
                self._audit(unit, "scim.group.deleted", wanted.name, {"members": []})
            return {}
        with self.app.store.read() as unit:
            saved = unit.directory.team_by_name(wanted.name)
            ids = self._ids(unit)
        assert saved is not None, "saved just before"
        return group_json(saved, ids, self.base)

    def _team(self, scim_id: str) -> tuple[DirectoryTeam, dict[str, str]]:
        with self.app.store.read() as unit:
            found = unit.directory.team(scim_id)
            ids = self._ids(unit)
        if found is None:
            raise ScimError(404, f"no Group {scim_id!r}")
        return found, ids

    @staticmethod
    def _ids(unit: Any) -> dict[str, str]:
        """Each person's SCIM id by email; one SCIM deleted is no resource, so no group
        lists them."""
        return {p.email: p.scim_id for p in unit.directory.people()}

    def _audit(self, unit: Any, action: str, target: str, after: dict[str, Any]) -> None:
        unit.audit(now=self.now, actor=self.actor, action=action, target=target, after=after)


def _page(documents: list[dict[str, Any]], query: Query, exact: Any) -> dict[str, Any]:
    found = [d for d in documents if query.filter is None or matches(d, query.filter, exact)]
    page = found[query.start - 1 : query.start - 1 + query.count]
    shown = [projected(d, query.attributes, query.excluded) for d in page]
    return list_response(shown, len(found), query.start)


def _query(values: dict[str, Any]) -> Query:
    """`filter`, `startIndex` (1-based), `count` (at most MAX_RESULTS), `attributes` and
    `excludedAttributes`, each checked (RFC 7644 §3.4.2)."""
    text = values.get("filter")
    try:
        found = parse_filter(text) if isinstance(text, str) and text.strip() else None
    except FilterError as exc:
        raise ScimError(400, f"filter {text!r}: {exc}", "invalidFilter") from None
    if text is not None and not isinstance(text, str):
        raise ScimError(400, "filter: a string", "invalidFilter")
    return Query(
        found,
        max(1, _integer(values, "startIndex", 1)),
        min(MAX_RESULTS, max(0, _integer(values, "count", MAX_RESULTS))),
        _names(values, "attributes"),
        _names(values, "excludedAttributes"),
    )


def _integer(values: dict[str, Any], key: str, default: int) -> int:
    value = values.get(key)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ScimError(400, f"{key} is {value!r}: a whole number", "invalidValue") from None


def _names(values: dict[str, Any], key: str) -> list[str]:
    value = values.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [n for n in str(value).split(",") if n.strip()]


# --- the HTTP side ---------------------------------------------------------------------------


def _response(status: int, payload: Any) -> Response:
    if status == 204:
        return Response(status_code=204)
    headers: dict[str, str] = {}
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if isinstance(meta, dict) and "version" in meta:
        headers["ETag"] = meta["version"]
        if status == 201:
            headers["Location"] = meta["location"]
    return JSONResponse(payload, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _error(error: ScimError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if error.status == 401 else None
    return JSONResponse(
        error_json(error), status_code=error.status, media_type=MEDIA_TYPE, headers=headers
    )


def _base(request: Request, watchkeeper: Watchkeeper) -> str:
    root = watchkeeper.settings.public_url or str(request.base_url)
    return root.rstrip("/") + ROOT


async def _answer(
    request: Request, work: Callable[[Provisioning, Any], Answer], *, body: bool = False
) -> Response:
    """Authenticate, read the body (a JSON object) when the request has one, do the work in a
    worker thread, and answer in SCIM's format whatever happens. A write refused for what it
    carries is audited as the SCIM token's actor."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    now = watchkeeper.clock.now()
    request.state.now = now
    attempted = f"{request.method} {request.url.path}"
    actor: str | None = None
    try:
        actor = await run_in_threadpool(_authenticate, request, watchkeeper, now, attempted)
        parsed = _json(await request.body()) if body else None
        provisioning = Provisioning(watchkeeper, actor, now, _base(request, watchkeeper))
        status, payload = await run_in_threadpool(work, provisioning, parsed)
        return _response(status, payload)
    except ScimError as error:
        if actor is not None and request.method != "GET":
            reason = f"{error.status} {error.scim_type or ''}: {error.detail}".replace(" :", ":")
            await run_in_threadpool(
                watchkeeper.access.refuse, actor, attempted, request.url.path, None, reason, now
            )
        return _error(error)
    except ActionError as error:  # a refusal already recorded, or bad credentials
        status = {"unauthenticated": 401, "forbidden": 403, "not_found": 404}.get(error.kind, 400)
        return _error(ScimError(status, error.message))
    except StoreError as error:
        return _error(ScimError(503, f"the database is unavailable: {error}"))


def _authenticate(request: Request, watchkeeper: Watchkeeper, now: datetime, attempted: str) -> str:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    try:
        if header and (scheme.lower() != "bearer" or not token.strip()):
            raise ActionError(
                "unauthenticated", "malformed Authorization header: expected `Bearer <token>`"
            )
        actor = watchkeeper.access.authenticate_scim(token.strip() or None, now, attempted)
    except ActionError as exc:
        if exc.kind == "unauthenticated" and header:
            watchkeeper.access.refuse_anonymous(
                attempted, None, exc.message, client_address(request), now
            )
        raise
    request.state.actor = actor
    return actor


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScimError(400, f"the body is not JSON: {exc}", "invalidSyntax") from None


def _search(body: Any) -> Query:
    if not isinstance(body, dict) or SEARCH_REQUEST not in (body.get("schemas") or []):
        raise ScimError(
            400, f"a search body's schemas must be [{SEARCH_REQUEST!r}]", "invalidSyntax"
        )
    return _query(body)


# --- discovery ---------------------------------------------------------------------------------


@scim.get("/ServiceProviderConfig")
async def get_config(request: Request) -> Response:
    return await _answer(request, lambda p, _: (200, service_provider_config(p.base)))


@scim.get("/ResourceTypes")
async def get_resource_types(request: Request) -> Response:
    def listed(p: Provisioning, _: Any) -> Answer:
        found = resource_types(p.base)
        return 200, list_response(found, len(found), 1)

    return await _answer(request, listed)


@scim.get("/ResourceTypes/{name}")
async def get_resource_type(request: Request, name: str) -> Response:
    return await _answer(request, lambda p, _: _one(resource_types(p.base), name, "ResourceType"))


@scim.get("/Schemas")
async def get_schemas(request: Request) -> Response:
    def listed(p: Provisioning, _: Any) -> Answer:
        found = schemas(p.base)
        return 200, list_response(found, len(found), 1)

    return await _answer(request, listed)


@scim.get("/Schemas/{urn}")
async def get_schema(request: Request, urn: str) -> Response:
    return await _answer(request, lambda p, _: _one(schemas(p.base), urn, "Schema"))


def _one(documents: list[dict[str, Any]], key: str, kind: str) -> Answer:
    for document in documents:
        if document["id"] == key:
            return 200, document
    raise ScimError(404, f"no {kind} {key!r}")


# --- users and groups --------------------------------------------------------------------------


@scim.get("/Users")
async def list_users(request: Request) -> Response:
    params = dict(request.query_params)
    return await _answer(request, lambda p, _: p.users(_query(params)))


@scim.post("/Users/.search")
async def search_users(request: Request) -> Response:
    return await _answer(request, lambda p, body: p.users(_search(body)), body=True)


@scim.post("/Users")
async def create_user(request: Request) -> Response:
    return await _answer(request, lambda p, body: p.create_user(body), body=True)


@scim.get("/Users/{scim_id}")
async def get_user(request: Request, scim_id: str) -> Response:
    params = dict(request.query_params)
    return await _answer(request, lambda p, _: _shown(p.user(scim_id), params))


@scim.put("/Users/{scim_id}")
async def replace_user(request: Request, scim_id: str) -> Response:
    return await _answer(request, lambda p, body: p.replace_user(scim_id, body), body=True)


@scim.patch("/Users/{scim_id}")
async def patch_user(request: Request, scim_id: str) -> Response:
    return await _answer(request, lambda p, body: p.patch_user(scim_id, body), body=True)


@scim.delete("/Users/{scim_id}")
async def delete_user(request: Request, scim_id: str) -> Response:
    return await _answer(request, lambda p, _: p.delete_user(scim_id))


@scim.get("/Groups")
async def list_groups(request: Request) -> Response:
    params = dict(request.query_params)
    return await _answer(request, lambda p, _: p.groups(_query(params)))


@scim.post("/Groups/.search")
async def search_groups(request: Request) -> Response:
    return await _answer(request, lambda p, body: p.groups(_search(body)), body=True)


@scim.post("/Groups")
async def create_group(request: Request) -> Response:
    return await _answer(request, lambda p, body: p.create_group(body), body=True)


@scim.get("/Groups/{scim_id}")
async def get_group(request: Request, scim_id: str) -> Response:
    params = dict(request.query_params)
    return await _answer(request, lambda p, _: _shown(p.group(scim_id), params))


@scim.put("/Groups/{scim_id}")
async def replace_group(request: Request, scim_id: str) -> Response:
    return await _answer(request, lambda p, body: p.replace_group(scim_id, body), body=True)


@scim.patch("/Groups/{scim_id}")
async def patch_group(request: Request, scim_id: str) -> Response:
    return await _answer(request, lambda p, body: p.patch_group(scim_id, body), body=True)


@scim.delete("/Groups/{scim_id}")
async def delete_group(request: Request, scim_id: str) -> Response:
    return await _answer(request, lambda p, _: p.delete_group(scim_id))


@scim.post("/.search")
async def search_everything(request: Request) -> Response:
    def refused(p: Provisioning, _: Any) -> Answer:
        raise ScimError(
            501, "search Users and Groups one at a time: /Users/.search, /Groups/.search"
        )

    return await _answer(request, refused)


ENDPOINTS = ("Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas")


@scim.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown(request: Request, rest: str) -> Response:
    def missing(p: Provisioning, _: Any) -> Answer:
        if rest.split("/")[0] in ENDPOINTS:
            raise ScimError(405, f"{request.method} is not taken at /scim/v2/{rest}")
        raise ScimError(
            404,
            f"no SCIM endpoint /{rest}: Users, Groups, ServiceProviderConfig, ResourceTypes, "
            "Schemas",
        )

    return await _answer(request, missing)


def _shown(answer: Answer, params: dict[str, Any]) -> Answer:
    status, document = answer
    attributes, excluded = _names(params, "attributes"), _names(params, "excludedAttributes")
    return status, projected(document, attributes, excluded)
