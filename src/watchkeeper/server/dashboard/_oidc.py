"""Single sign-on for the dashboard with OpenID Connect: the authorization code flow with PKCE.

The provider is found by discovery (`{issuer}/.well-known/openid-configuration`). Signing in
sends the browser there with a fresh `state`, PKCE verifier and `nonce`, kept in a short-lived
cookie signed with a key derived from WATCHKEEPER_SECRET and scoped to the callback's path, so
only the browser that started a sign-in can finish it. The callback claims the state once in the
store (a replayed callback URL, even with a copy of the cookie, is refused before the code is
spent), exchanges the code with the verifier, and verifies the ID token: its signature against
the provider's JWKS (asymmetric algorithms only), `iss`, `aud`/`azp`, `exp` and `iat` within a
minute's leeway, and the nonce. The person is the one whose email the provider says it verified.

Decisions are pure functions over plain data (`verify_id_token`, `identify`); the few HTTP calls
to the provider are at the edge (`ProviderCache`, `exchange_code`, `user_info`). JWT and JWK are
joserfc's (by Authlib's author); PKCE S256 is the one line RFC 7636 section 4.2 defines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from watchkeeper.settings import Settings

CALLBACK_PATH = "/signin/oidc/callback"
SCOPES = "openid email profile"
PENDING_LIFETIME = timedelta(minutes=10)
LEEWAY = timedelta(seconds=60)
METADATA_LIFETIME = timedelta(hours=1)
# Never `none`, never HS* (a shared secret is not the provider's key): what providers sign with.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class SsoFailed(Exception):
    """The sign-in could not be completed (a stale or forged callback, a provider that answered
    wrongly): `status` for the page, `audited` when it is a refusal worth recording."""

    def __init__(self, status: int, message: str, *, audited: bool = True) -> None:
        super().__init__(message)
        self.status, self.message, self.audited = status, message, audited


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str | None
    redirect_uri: str


@dataclass(frozen=True)
class Pending:
    """A sign-in under way: what the callback must see again, and where to go after."""

    state: str
    verifier: str
    nonce: str
    next: str
    expires: datetime

    def to_payload(self) -> dict[str, Any]:
        return {
            "s": self.state,
            "v": self.verifier,
            "n": self.nonce,
            "next": self.next,
            "exp": self.expires.isoformat(),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None, now: datetime) -> Pending | None:
        """None for a missing, malformed or expired record."""
        if payload is None:
            return None
        try:
            pending = cls(
                str(payload["s"]),
                str(payload["v"]),
                str(payload["n"]),
                str(payload["next"]),
                datetime.fromisoformat(str(payload["exp"])),
            )
        except (KeyError, ValueError):
            return None
        return pending if now < pending.expires else None

    @property
    def claim_key(self) -> str:
        """How the store knows this sign-in's state once claimed (a digest: no live value)."""
        return hashlib.sha256(f"oidc state {self.state}".encode()).hexdigest()


@dataclass(frozen=True)
class Identified:
    """Who the verified claims name, or why nobody: `email` is None when refused."""

    email: str | None
    actor: str
    reason: str = ""


def _loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK


def _secure_url(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine only (a provider run beside it, as in tests)."""
    parts = urlsplit(url)
    return bool(parts.hostname) and (parts.scheme == "https" or _loopback_http(url))


def sso_refusal(settings: Settings) -> str | None:
    """Why `wk serve` must not start with these single sign-on settings, if it must not."""
    issuer, client = settings.oidc_issuer, settings.oidc_client_id
    if not issuer and not client:
        return None
    missing = [
        name
        for name, value in (
            ("WATCHKEEPER_OIDC_ISSUER", issuer),
            ("WATCHKEEPER_OIDC_CLIENT_ID", client),
            ("WATCHKEEPER_SECRET", settings.secret),
            ("WATCHKEEPER_PUBLIC_URL", settings.public_url),
        )
        if not value
    ]
    if missing:
        return (
            f"single sign-on is half set up: set {', '.join(missing)} as well (the secret signs "
            "the sign-in's state, the public URL makes the redirect URI "
            f"<public URL>{CALLBACK_PATH} registered at the provider), or unset "
            "WATCHKEEPER_OIDC_ISSUER and WATCHKEEPER_OIDC_CLIENT_ID"
        )
    if issuer and not _secure_url(issuer):
        return f"WATCHKEEPER_OIDC_ISSUER must be an https:// URL, not {issuer!r}"
    return None


def oidc_config(settings: Settings) -> OidcConfig | None:
    """The single sign-on set up, or None (then the sign-in page offers API tokens only)."""
    if sso_refusal(settings) is not None or not settings.oidc_issuer:
        return None
    assert settings.oidc_client_id and settings.public_url  # checked by sso_refusal
    return OidcConfig(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret or None,
        settings.public_url.rstrip("/") + CALLBACK_PATH,
    )


# --- the provider, at the edge -----------------------------------------------------------------


class ProviderCache:
    """The provider's discovery document and keys, fetched when first needed and again after
    `METADATA_LIFETIME`, or at once when an ID token names a key we do not have (rotation)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._fetched: datetime | None = None

    def metadata(self, config: OidcConfig, now: datetime) -> dict[str, Any]:
        stale = self._fetched is None or now - self._fetched > METADATA_LIFETIME
        if self._metadata is None or stale:
            url = config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._metadata = checked_metadata(_get_json(self.http, url, "discovery"), config)
            self._jwks, self._fetched = None, now
        return self._metadata

    def jwks(self, config: OidcConfig, now: datetime, *, refresh: bool = False) -> dict[str, Any]:
        metadata = self.metadata(config, now)
        if self._jwks is None or refresh:
            self._jwks = _get_json(self.http, str(metadata["jwks_uri"]), "key set (jwks_uri)")
        return self._jwks


def _get_json(http: httpx.Client, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = http.get(url, **kwargs)
    except httpx.HTTPError as exc:
        raise SsoFailed(502, f"the identity provider's {what} could not be read: {exc}") from None
    return _json_object(response, what)


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise SsoFailed(502, f"the identity provider's {what} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SsoFailed(502, f"the identity provider's {what} is not a JSON object")
    return body


def checked_metadata(metadata: dict[str, Any], config: OidcConfig) -> dict[str, Any]:
    """A discovery document we can trust: for our issuer (OpenID Discovery section 4.3), with the
    endpoints the flow needs on HTTPS, and PKCE S256 unless it lists no methods at all."""
    found = str(metadata.get("issuer", ""))
    if found.rstrip("/") != config.issuer.rstrip("/"):
        raise SsoFailed(502, f"the discovery document is for issuer {found!r}, not ours")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = metadata.get(key)
        if not isinstance(value, str) or not _secure_url(value):
            raise SsoFailed(502, f"the discovery document's {key} is missing or not https")
    methods = metadata.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise SsoFailed(502, "the identity provider does not support PKCE with S256")
    return metadata


def s256(verifier: str) -> str:
    """RFC 7636 section 4.2: BASE64URL(SHA256(verifier)), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin(
    config: OidcConfig, metadata: Mapping[str, Any], target: str, now: datetime
) -> tuple[str, Pending]:
    """Where to send the browser, and what it must bring back."""
    pending = Pending(
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(64),  # 86 characters: within RFC 7636's 43-128
        secrets.token_urlsafe(32),
        target,
        now + PENDING_LIFETIME,
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uri,
            "scope": SCOPES,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": s256(pending.verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = str(metadata["authorization_endpoint"])
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending


def exchange_code(
    http: httpx.Client,
    config: OidcConfig,
    metadata: Mapping[str, Any],
    code: str,
    verifier: str,
) -> dict[str, Any]:
    """The token endpoint's answer for this code and verifier. A confidential client
    authenticates with HTTP Basic unless the provider lists only `client_secret_post`."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": config.redirect_uri,
        "code_verifier": verifier,
    }
    headers = {"Accept": "application/json"}
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if config.client_secret is None:
        form["client_id"] = config.client_id
    elif "client_secret_basic" in methods:
        pair = f"{quote_plus(config.client_id)}:{quote_plus(config.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form |= {"client_id": config.client_id, "client_secret": config.client_secret}
    try:
        response = http.post(str(metadata["token_endpoint"]), data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise SsoFailed(502, f"the identity provider could not be reached: {exc}") from None
    if response.status_code in (400, 401):
        raise SsoFailed(400, f"the identity provider refused the sign-in: {_oauth_error(response)}")
    tokens = _json_object(response, "token endpoint")
    if not isinstance(tokens.get("id_token"), str):
        raise SsoFailed(502, "the identity provider's answer carried no ID token")
    return tokens


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    described = body.get("error_description")
    return f"{body.get('error', 'error')}" + (f" ({described})" if described else "")


def user_info(
    http: httpx.Client, metadata: Mapping[str, Any], access_token: str, subject: str
) -> dict[str, Any]:
    """The UserInfo claims, for a provider that puts the email there rather than in the ID
    token; only if they are about the same subject (OpenID Connect Core section 5.3.4)."""
    endpoint = metadata.get("userinfo_endpoint")
    if not isinstance(endpoint, str) or not _secure_url(endpoint):
        return {}
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    claims = _get_json(http, endpoint, "userinfo endpoint", headers=headers)
    if claims.get("sub") != subject:
        raise SsoFailed(401, "the identity provider's userinfo is about another subject")
    return claims


# --- decisions over plain data -------------------------------------------------------------------


def verify_id_token(
    id_token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: list[str],
    now: datetime,
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, times and nonce hold
    (OpenID Connect Core section 3.1.3.7). A key id we do not know raises `InvalidKeyIdError`,
    so the caller can fetch the keys again once."""
    try:
        keys = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as exc:
        raise SsoFailed(502, f"the identity provider's key set is unreadable: {exc}") from None
    try:
        token = jwt.decode(id_token, keys, registry=JWSRegistry(algorithms=algorithms))
    except InvalidKeyIdError:
        raise
    except (JoseError, ValueError) as exc:
        raise SsoFailed(401, f"the ID token's signature did not verify: {_why(exc)}") from None
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=int(LEEWAY.total_seconds()),
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise SsoFailed(401, "the ID token has expired (is this server's clock right?)") from None
    except JoseError as exc:
        raise SsoFailed(401, f"the ID token was not for this sign-in: {_why(exc)}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if ("azp" in claims or len(audiences) > 1) and claims.get("azp") != client_id:
        raise SsoFailed(401, "the ID token was issued to another party (azp)")
    return claims


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def signing_algorithms(metadata: Mapping[str, Any]) -> list[str]:
    """The asymmetric algorithms the provider says it signs ID tokens with (RS256 by default,
    which every provider must support)."""
    listed = metadata.get("id_token_signing_alg_values_supported")
    offered = [a for a in listed if a in ASYMMETRIC] if isinstance(listed, list) else []
    return offered or ["RS256"]


def email_verified(claims: Mapping[str, Any]) -> bool:
    """`email_verified: true` (some providers send the string "true"); Entra ID sends no such
    claim, but its optional `xms_edov` says the email's domain owner verified it."""
    verified = claims.get("email_verified", claims.get("xms_edov"))
    return verified is True or verified == "true"


def identify(claims: Mapping[str, Any], known: bool) -> Identified:
    """Who the claims name: a verified email of a person in the directory (`known`), else a
    refusal that says why. Whether the person is still active is `AccessService.admit`'s."""
    raw = claims.get("email")
    email = raw.strip().lower() if isinstance(raw, str) else ""
    actor = email or f"oidc:{claims.get('sub', '?')}"
    if not email:
        return Identified(
            None,
            actor,
            "the identity provider sent no email for this account: ask your IT admin to "
            "release the email claim (scope `email`) to Watchkeeper",
        )
    if not email_verified(claims):
        return Identified(
            None,
            actor,
            f"the identity provider has not verified {email}: Watchkeeper only signs in a "
            "verified email (email_verified: true)",
        )
    if not known:
        return Identified(
            None,
            actor,
            f"{email} is not a person in Watchkeeper's directory: ask an admin to add you to "
            "the people file (or sign in with an API token)",
        )
    return Identified(email, actor)


# --- the callback, start to end ------------------------------------------------------------------


def complete(
    cache: ProviderCache,
    config: OidcConfig,
    pending: Pending | None,
    params: Mapping[str, str],
    now: datetime,
    claim: Callable[[Pending], bool],
) -> dict[str, Any]:
    """The verified claims of the person the provider signed in for `pending`, checked in the
    order that spends nothing on a forged or replayed callback: this browser's record, its
    state, its one use (`claim`), then the provider's answer, the code and the ID token."""
    if pending is None:
        raise SsoFailed(
            400,
            "this sign-in was not started in this browser, took longer than ten minutes, or "
            "is over already: start again",
        )
    if not hmac.compare_digest(pending.state.encode(), params.get("state", "").encode()):
        raise SsoFailed(
            400, "the sign-in's state does not match the one this browser started: start again"
        )
    if not claim(pending):
        raise SsoFailed(400, "this sign-in's answer was already used once: start again")
    if "error" in params:
        described = params.get("error_description")
        reason = params["error"] + (f" ({described})" if described else "")
        raise SsoFailed(401, f"the identity provider did not sign you in: {reason}", audited=False)
    metadata = cache.metadata(config, now)
    if "iss" in params and params["iss"] != metadata["issuer"]:
        raise SsoFailed(400, "the answer came from another identity provider (iss)")
    code = params.get("code", "")
    if not code:
        raise SsoFailed(400, "the identity provider's answer carried no authorization code")
    tokens = exchange_code(cache.http, config, metadata, code, pending.verifier)
    claims = _verified(cache, config, metadata, str(tokens["id_token"]), pending.nonce, now)
    access_token = tokens.get("access_token")
    if "email" not in claims and isinstance(access_token, str):
        # the ID token's own claims win over UserInfo's where both speak
        claims = user_info(cache.http, metadata, access_token, str(claims["sub"])) | claims
    return claims


def _verified(
    cache: ProviderCache,
    config: OidcConfig,
    metadata: Mapping[str, Any],
    id_token: str,
    nonce: str,
    now: datetime,
) -> dict[str, Any]:
    """`verify_id_token`, fetching the provider's keys again once if it signed with a new one."""
    verify = partial(
        verify_id_token,
        id_token,
        issuer=str(metadata["issuer"]),
        client_id=config.client_id,
        nonce=nonce,
        algorithms=signing_algorithms(metadata),
        now=now,
    )
    try:
        return verify(cache.jwks(config, now))
    except InvalidKeyIdError:
        pass
    try:
        return verify(cache.jwks(config, now, refresh=True))
    except InvalidKeyIdError:
        raise SsoFailed(
            401, "the ID token is signed with a key the provider does not publish"
        ) from None
