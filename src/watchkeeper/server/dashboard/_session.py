"""Signed session cookies, server-side sessions, CSRF tokens and form bodies for the dashboard.

A person signs in with their API token once, or through single sign-on (`_oidc`); the browser
then holds a cookie naming them, the token's digest (never the token: a leaked cookie must not
become a leaked API credential; none after single sign-on) and a random session id, signed with
HMAC-SHA256 so it cannot be forged or edited. The store keeps the session id's digest until
sign-out, the end of the session, or the person's deactivation: each request looks both up
again, so a copied cookie dies with its session, and a person who left, or whose token is gone,
is out at once. The cookie also carries the session's CSRF secret, which
every form repeats in a hidden field.

Kept in the standard library on purpose: a session is one HMAC, and a form body is one
`parse_qsl`; neither justifies a dependency or middleware around the whole API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from watchkeeper.access import token_digest
from watchkeeper.app import Watchkeeper

SESSION_COOKIE = "wk_session"
SIGNIN_COOKIE = "wk_signin"
SSO_COOKIE = "wk_sso"
SSO_PATH = "/signin/oidc"
SSO_CLAIM = "sso:state"
SESSION_LENGTH = timedelta(hours=12)
MAX_FORM_BYTES = 64 * 1024
_KEY_LABEL = b"watchkeeper dashboard session v1"
_SSO_KEY_LABEL = b"watchkeeper dashboard single sign-on v1"


class FormTooLarge(Exception):
    """A form body over `MAX_FORM_BYTES`: nothing the dashboard asks for is that long."""


@dataclass(frozen=True)
class Session:
    email: str
    digest: str | None  # of the API token signed in with; None after single sign-on
    csrf: str
    expires: datetime
    sid: str

    @property
    def key(self) -> str:
        """How the store knows the session: a digest, so its table holds no live cookie."""
        return hashlib.sha256(self.sid.encode()).hexdigest()


def session_key(request: Request, label: bytes = _KEY_LABEL) -> bytes:
    """The signing key for `label`'s cookies: derived from WATCHKEEPER_SECRET when set (so
    sessions survive restarts and work on every replica), else a random key for this process's
    lifetime. Each label has its own key, so one kind of cookie never passes for another."""
    state = request.app.state
    keys: dict[bytes, bytes] | None = getattr(state, "dashboard_keys", None)
    if keys is None:
        keys = state.dashboard_keys = {}
    if label not in keys:
        watchkeeper: Watchkeeper = state.watchkeeper
        secret = watchkeeper.settings.secret
        if secret:
            keys[label] = hmac.new(secret.encode(), label, hashlib.sha256).digest()
        else:
            keys[label] = secrets.token_bytes(32)
    return keys[label]


def _sign(key: bytes, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return f"{body.decode()}.{base64.urlsafe_b64encode(mac).decode()}"


def _unsign(key: bytes, value: str | None) -> dict[str, Any] | None:
    if not value or "." not in value:
        return None
    body, _, mac = value.partition(".")
    expected = base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac.encode()):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def read_session(request: Request, now: datetime) -> Session | None:
    """The session the cookie proves, if it is intact and not expired (not yet checked against
    the store: the caller does that)."""
    payload = _unsign(session_key(request), request.cookies.get(SESSION_COOKIE))
    if payload is None:
        return None
    try:
        token = payload["tok"]
        session = Session(
            str(payload["sub"]),
            None if token is None else str(token),
            str(payload["csrf"]),
            datetime.fromisoformat(str(payload["exp"])),
            str(payload["sid"]),
        )
    except (KeyError, ValueError):
        return None
    return session if now < session.expires else None


def start_session(
    request: Request, response: Response, email: str, token: str | None, now: datetime
) -> None:
    """Record a session for a person who just proved a token of theirs (or, with no token, was
    vouched for by the identity provider), and set its cookie."""
    digest = None if token is None else token_digest(token)
    session = Session(email, digest, new_nonce(), now + SESSION_LENGTH, secrets.token_urlsafe(32))
    app: Watchkeeper = request.app.state.watchkeeper
    with app.store.write() as unit:
        unit.alerting.start_session(session.key, email, now, session.expires)
    payload = {
        "sub": session.email,
        "tok": session.digest,
        "csrf": session.csrf,
        "exp": session.expires.isoformat(),
        "sid": session.sid,
    }
    _set(request, response, SESSION_COOKIE, _sign(session_key(request), payload), "/")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    forget_sso(response)


def remember_sso(request: Request, response: Response, payload: dict[str, Any]) -> None:
    """A single sign-on under way, bound to this browser until its callback (see `_oidc`)."""
    _set(
        request,
        response,
        SSO_COOKIE,
        _sign(session_key(request, _SSO_KEY_LABEL), payload),
        SSO_PATH,
    )


def recall_sso(request: Request) -> dict[str, Any] | None:
    """The sign-on this browser started, if its cookie is intact (`forget_sso` ends it)."""
    return _unsign(session_key(request, _SSO_KEY_LABEL), request.cookies.get(SSO_COOKIE))


def forget_sso(response: Response) -> None:
    response.delete_cookie(SSO_COOKIE, path=SSO_PATH)


def claim_once(app: Watchkeeper, key: str, expires: datetime, now: datetime) -> bool:
    """Mark a sign-on's state used; False when it already was. A sign-on under way is a session
    not yet started, so its claim is a row of the sessions table held by nobody (`SSO_CLAIM`
    matches no email), pruned with the expired sessions once the state could not be used anyway.
    Two callbacks racing with the same state meet in one insert, and one of them wins."""
    with app.store.write() as unit:
        return unit.alerting.claim_session(key, SSO_CLAIM, now, expires)


def end_session(request: Request, response: Response, session: Session) -> None:
    """Sign-out: the session ends in the store, so a copy of the cookie is worth nothing."""
    app: Watchkeeper = request.app.state.watchkeeper
    with app.store.write() as unit:
        unit.alerting.end_session(session.key)
    response.delete_cookie(SESSION_COOKIE, path="/")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def remember_nonce(request: Request, response: Response, nonce: str) -> None:
    """Sign-in has no session yet, so its form is protected by a double submit: the nonce in the
    hidden field must equal the one in a signed cookie only this site could have set."""
    _set(request, response, SIGNIN_COOKIE, _sign(session_key(request), {"n": nonce}), "/signin")


def signin_nonce_ok(request: Request, submitted: str) -> bool:
    payload = _unsign(session_key(request), request.cookies.get(SIGNIN_COOKIE))
    expected = str(payload.get("n", "")) if payload else ""
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())


def csrf_ok(session: Session, submitted: str) -> bool:
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


def _set(request: Request, response: Response, name: str, value: str, path: str) -> None:
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="lax",
        secure=_https(request),
    )


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as a dict (the last value of a repeated key)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _https(request: Request) -> bool:
    """Secure cookies when the browser talks HTTPS: directly, or to the public URL in front."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    public = watchkeeper.settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")
