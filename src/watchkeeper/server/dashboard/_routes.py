"""The dashboard's routes: HTML pages and the forms people act through.

Every page acts as the signed-in person through `Operations` with `enforce=True` — the code path
the API and the CLI use — so authorization and the audit trail are the same whichever face is
used. Errors become pages here, in one place (`_HtmlRoute`): not signed in is a 303 to sign-in, a
service's refusal a 403 page that says what is missing (and is in the audit trail), a bad or
stale form a 403 that says to reload. No JSON error ever reaches a browser from these routes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from watchkeeper.access import Action, Refused
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.errors import HTTP_STATUS, ActionError
from watchkeeper.server._refusals import record_refusal
from watchkeeper.server.dashboard import _views as views
from watchkeeper.server.dashboard._oidc import (
    CALLBACK_PATH,
    Pending,
    ProviderCache,
    SsoFailed,
    begin,
    complete,
    identify,
    oidc_config,
)
from watchkeeper.server.dashboard._pages import STATIC, page
from watchkeeper.server.dashboard._session import (
    FormTooLarge,
    Session,
    claim_once,
    csrf_ok,
    end_session,
    forget_sso,
    new_nonce,
    read_form,
    read_session,
    recall_sso,
    remember_nonce,
    remember_sso,
    signin_nonce_ok,
    start_session,
)
from watchkeeper.store import StoreError
from watchkeeper.switch import STATES

DONE = {
    "ack": "Acknowledged: your role on this system is on record.",
    "incident-ack": "Incident acknowledged: escalation has stopped.",
    "verdict": "Verdict recorded.",
    "disabled": "The system is disabled: SDK callers now get its fallback.",
    "enabled": "The system is enabled again.",
    "unchanged": "The switch was already in that state; nothing changed.",
}

CSRF_HELP = (
    "It did not carry this session's security token: it may be from before you last signed in, "
    "or from another site. Go back, reload the page and try again."
)

NO_REASON = "a reason is required: say why (it goes into the audit trail and to the SDKs)"


class NotSignedIn(Exception):
    """No valid session: the page answers with a 303 to the sign-in form."""


class CsrfRejected(Exception):
    """A form without this session's CSRF token: forged, or from before a new sign-in."""


@dataclass(frozen=True)
class Viewer:
    ops: Operations
    session: Session

    @property
    def email(self) -> str:
        return self.ops.actor


class _HtmlRoute(APIRoute):
    """Turns whatever a dashboard handler raises into a page (or a redirect) for a browser."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except NotSignedIn:
                back = request.url.path if request.method == "GET" else "/"
                return RedirectResponse(f"/signin?next={quote(back)}", status_code=303)
            except CsrfRejected:
                return _error(request, 403, "This form could not be verified", CSRF_HELP)
            except FormTooLarge:
                return _error(request, 413, "Too much to send", "The form was too large.")
            except RequestValidationError:
                return _error(request, 404, "Not found", "There is no such page.")
            except StoreError as exc:
                return _error(request, 503, "The database is unavailable", str(exc))
            except ActionError as exc:
                if exc.kind == "forbidden" and not isinstance(exc, Refused):
                    await run_in_threadpool(record_refusal, request, exc.message)
                return _action_error(request, exc)

        return guarded


dashboard = APIRouter(include_in_schema=False, route_class=_HtmlRoute)


def _watchkeeper(request: Request) -> Watchkeeper:
    return request.app.state.watchkeeper  # type: ignore[no-any-return]


def signed_in(request: Request) -> Viewer:
    """The person behind the session cookie, checked against the store on every request: the
    session must not have ended, their token (if they signed in with one rather than single
    sign-on) must still exist and they must still be active (as `AccessService.authenticate`)."""
    app = _watchkeeper(request)
    now = app.clock.now()
    request.state.now = now
    session = read_session(request, now)
    if session is None:
        raise NotSignedIn
    with app.store.read() as unit:
        holder = unit.alerting.session_holder(session.key, now)
        if session.digest is None:
            person = unit.person(session.email)
        else:
            person = unit.token_holder(session.digest, now)
    if holder != session.email or person is None or person.email != session.email:
        raise NotSignedIn
    request.state.actor = person.email
    email = app.access.admit(person, "dashboard", now)
    return Viewer(Operations(app, email, now, enforce=True), session)


async def form_body(request: Request) -> dict[str, str]:
    return await read_form(request)


Form = Annotated[dict[str, str], Depends(form_body)]


def acting(request: Request, form: dict[str, str]) -> Viewer:
    """For a form post: signed in, and the form carries this session's CSRF token."""
    viewer = signed_in(request)
    if not csrf_ok(viewer.session, form.get("csrf", "")):
        raise CsrfRejected
    return viewer


def _render(viewer: Viewer, template: str, **context: Any) -> Response:
    return page(template, me=viewer.email, csrf=viewer.session.csrf, **context)


def _error(
    request: Request, status: int, title: str, message: str, *, audited: bool = False
) -> Response:
    return page(
        "error.html",
        http_status=status,
        title=title,
        message=message,
        audited=audited,
        me=getattr(request.state, "actor", None),
        csrf=None,
    )


def _action_error(request: Request, exc: ActionError) -> Response:
    if exc.kind == "unauthenticated":
        return RedirectResponse("/signin", status_code=303)
    status = HTTP_STATUS.get(exc.kind, 409)
    title = {400: "That did not work", 403: "Refused", 404: "Not found"}.get(status, "Conflict")
    return _error(request, status, title, exc.message, audited=status == 403)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never `//elsewhere` or a full URL (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- signing in and out ------------------------------------------------------------------------


def _signin_page(
    request: Request, target: str, error: str | None = None, status: int = 401
) -> Response:
    nonce = new_nonce()
    response = page(
        "signin.html",
        http_status=status if error else 200,
        me=None,
        csrf=nonce,
        next=target,
        error=error,
        sso=oidc_config(_watchkeeper(request).settings) is not None,
    )
    remember_nonce(request, response, nonce)
    return response


@dashboard.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    return _signin_page(request, _safe_next(next))


@dashboard.post("/signin")
def signin(request: Request, form: Form) -> Response:
    if not signin_nonce_ok(request, form.get("csrf", "")):
        raise CsrfRejected
    app = _watchkeeper(request)
    now = app.clock.now()
    target = _safe_next(form.get("next"))
    token = form.get("token", "").strip()
    try:
        email = app.access.authenticate(token, now)
    except ActionError as exc:
        if exc.kind != "unauthenticated":
            raise
        return _signin_page(request, target, exc.message)
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, email, token, now)
    return response


def _provider(request: Request) -> ProviderCache:
    """One per server process: the provider's discovery document and keys are cached."""
    state = request.app.state
    cache: ProviderCache | None = getattr(state, "sso_provider", None)
    if cache is None:
        cache = state.sso_provider = ProviderCache(_watchkeeper(request).courier.http)
    return cache


@dashboard.get("/signin/oidc")
def sso_begin(request: Request, next: str = "/") -> Response:
    """Off to the identity provider, with this browser's state, PKCE verifier and nonce."""
    app = _watchkeeper(request)
    config = oidc_config(app.settings)
    target = _safe_next(next)
    if config is None:
        raise ActionError("not_found", "single sign-on is not set up on this server")
    now = app.clock.now()
    try:
        url, pending = begin(config, _provider(request).metadata(config, now), target, now)
    except SsoFailed as exc:
        return _signin_page(request, target, exc.message, exc.status)
    response = RedirectResponse(url, status_code=303)
    remember_sso(request, response, pending.to_payload())
    return response


@dashboard.get(CALLBACK_PATH)
def sso_callback(request: Request) -> Response:
    """Back from the identity provider: a session for the person whose verified email it
    vouches for; any other outcome is a page that says why (refusals in the audit trail)."""
    app = _watchkeeper(request)
    config = oidc_config(app.settings)
    if config is None:
        raise ActionError("not_found", "single sign-on is not set up on this server")
    now = app.clock.now()
    request.state.now = now
    pending = Pending.from_payload(recall_sso(request), now)
    target = pending.next if pending else "/"
    try:
        claims = complete(
            _provider(request),
            config,
            pending,
            request.query_params,
            now,
            lambda p: claim_once(app, p.claim_key, p.expires, now),
        )
        response = _sso_session(request, claims, target, now)
    except SsoFailed as exc:
        if exc.audited:
            client = request.client.host if request.client else "unknown"
            app.access.refuse_anonymous(f"GET {CALLBACK_PATH}", None, exc.message, client, now)
        response = _signin_page(request, target, exc.message, exc.status)
    except Refused as exc:
        response = _error(request, 403, "Single sign-on refused", exc.message, audited=True)
    forget_sso(response)
    return response


def _sso_session(request: Request, claims: dict[str, Any], target: str, now: datetime) -> Response:
    """The session of the person the verified claims name, if they are here and active; else
    the refusal, recorded (by `admit` for a person who left, as for a token sign-in)."""
    app = _watchkeeper(request)
    email = claims.get("email")
    with app.store.read() as unit:
        person = unit.person(email.strip().lower()) if isinstance(email, str) else None
    who = identify(claims, known=person is not None)
    if person is None or who.email is None:
        raise app.access.refuse(who.actor, "signin", "dashboard", None, who.reason, now)
    app.access.admit(person, "dashboard", now)
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, person.email, None, now)
    return response


@dashboard.post("/signout")
def signout(request: Request, form: Form) -> Response:
    viewer = acting(request, form)
    response = RedirectResponse("/signin", status_code=303)
    end_session(request, response, viewer.session)
    return response


# --- pages -------------------------------------------------------------------------------------


@dashboard.get("/")
def portfolio_page(request: Request) -> Response:
    viewer = signed_in(request)
    return _render(viewer, "portfolio.html", **views.portfolio(viewer.ops))


@dashboard.get("/systems/{name}")
def system_page(
    request: Request, name: str, done: str | None = None, triage_page: str | None = None
) -> Response:
    viewer = signed_in(request)
    number = views.page_number(triage_page, "triage_page")
    data = views.system_page(viewer.ops, name, number)
    return _render(viewer, "system.html", done=DONE.get(done or ""), **data)


@dashboard.get("/systems/{name}/observations")
def observations_page(
    request: Request, name: str, where: str = "", since: str = "", after: str = ""
) -> Response:
    viewer = signed_in(request)
    data = views.observations_page(viewer.ops, name, where=where, since=since, after=after)
    status = 400 if data["error"] else 200
    return _render(viewer, "observations.html", http_status=status, **data)


@dashboard.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: str, done: str | None = None) -> Response:
    viewer = signed_in(request)
    data = views.incident_page(viewer.ops, views.parse_id(incident_id, "incident"))
    return _render(viewer, "incident.html", done=DONE.get(done or ""), **data)


@dashboard.get("/assets/{filename}")
def asset(filename: str) -> Response:
    """The stylesheet, served from the package: nothing is fetched from elsewhere."""
    found = STATIC.get(filename)
    if found is None:
        raise ActionError("not_found", f"no asset {filename!r}")
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=3600"})


# --- actions -----------------------------------------------------------------------------------


@dashboard.post("/systems/{name}/acks")
def acknowledge_role(request: Request, name: str, form: Form) -> Response:
    viewer = acting(request, form)
    viewer.ops.ack(name, form.get("role", ""))
    return RedirectResponse(f"/systems/{quote(name)}?done=ack#charter", status_code=303)


@dashboard.post("/incidents/{incident_id}/ack")
def acknowledge_incident(request: Request, incident_id: str, form: Form) -> Response:
    viewer = acting(request, form)
    number = views.parse_id(incident_id, "incident")
    viewer.ops.incident_ack(number)
    return RedirectResponse(f"/incidents/{number}?done=incident-ack", status_code=303)


@dashboard.post("/triage/{item_id}/verdict")
def triage_verdict(request: Request, item_id: str, form: Form) -> Response:
    viewer = acting(request, form)
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    item = viewer.ops.triage_verdict(
        views.parse_id(item_id, "triage item"),
        form.get("verdict", ""),
        label=form.get("label", "").strip() or None,
        tags=tags,
        note=form.get("note", "").strip() or None,
    )
    back = form.get("triage_page", "")
    page = f"&triage_page={back}" if back.isdigit() and len(back) < 10 and back != "1" else ""
    return RedirectResponse(f"/systems/{quote(item['system'])}?done=verdict{page}#triage", 303)


@dashboard.post("/systems/{name}/switch")
def flip_switch(request: Request, name: str, form: Form) -> Response:
    """Two steps: the first post (authority checked, a refusal audited) shows what will happen
    and asks to confirm; only the confirmed post flips the switch."""
    viewer = acting(request, form)
    state, reason = form.get("state", ""), form.get("reason", "").strip()
    if state not in STATES:
        raise ActionError("invalid", f"state must be enabled or disabled, not {state!r}")
    if form.get("confirm") != "yes":
        app, now = viewer.ops.app, viewer.ops.now
        action: Action = "switch.disable" if state == "disabled" else "switch.enable"
        app.access.authorize(viewer.email, action, now, system=name, target=f"{name}/switch")
        if not reason:
            raise ActionError("invalid", NO_REASON)
        return _render(
            viewer,
            "confirm_switch.html",
            system=name,
            state=state,
            reason=reason,
            switch=app.switch.state(name),
        )
    change = viewer.ops.set_switch(name, state, reason)
    done = state if change["changed"] else "unchanged"
    return RedirectResponse(f"/systems/{quote(name)}?done={done}#switch", status_code=303)
