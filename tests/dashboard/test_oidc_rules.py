"""Single sign-on's decisions on plain data, with real keys: the ID token checks, who the claims
name, the settings `wk serve` refuses; the one-use claim of a sign-on's state on both stores;
and `wk serve` refusing to start half set up. The whole flow against a real provider is in
test_oidc.py."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from watchkeeper.app import Watchkeeper
from watchkeeper.server.dashboard import sso_refusal
from watchkeeper.server.dashboard._oidc import (
    OidcConfig,
    Pending,
    SsoFailed,
    checked_metadata,
    identify,
    s256,
    verify_id_token,
)
from watchkeeper.server.dashboard._session import claim_once
from watchkeeper.settings import Settings
from watchkeeper.testing import T0

ISSUER, CLIENT, NONCE = "https://id.corp.example", "watchkeeper", "the-nonce"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def _token(key: Any = KEY, alg: str = "RS256", **changes: Any) -> str:
    now = int(T0.timestamp())
    claims = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "email": "ana@corp.example",
        "email_verified": True,
    }
    claims.update(changes)
    return jwt.encode({"alg": alg, "kid": "k1"}, {k: v for k, v in claims.items() if v}, key)


def _verify(token: str, at: Any = T0, jwks: Any = None) -> dict[str, Any]:
    return verify_id_token(
        token,
        jwks or {"keys": [KEY.as_dict(private=False)]},
        issuer=ISSUER,
        client_id=CLIENT,
        nonce=NONCE,
        algorithms=["RS256"],
        now=at,
    )


def test_a_good_id_token_verifies_within_the_leeway() -> None:
    assert _verify(_token())["email"] == "ana@corp.example"
    assert _verify(_token(), at=T0 + timedelta(seconds=330))["sub"] == "248289761001"
    assert _verify(_token(aud=[CLIENT, "api"], azp=CLIENT))["aud"] == [CLIENT, "api"]


@pytest.mark.parametrize(
    ("token", "at", "why"),
    [
        (lambda: _token(iss="https://evil.example"), T0, "not for this sign-in"),
        (lambda: _token(aud="someone-else"), T0, "not for this sign-in"),
        (lambda: _token(nonce="another-sign-in"), T0, "not for this sign-in"),
        (lambda: _token(nonce=None), T0, "not for this sign-in"),
        (lambda: _token(), T0 + timedelta(minutes=7), "expired"),
        (lambda: _token(iat=int(T0.timestamp()) + 600), T0, "not for this sign-in"),
        (lambda: _token(aud=[CLIENT, "api"]), T0, "another party"),
        (lambda: _token(azp="someone-else"), T0, "another party"),
        (lambda: _token(OTHER_KEY), T0, "signature did not verify"),
        (lambda: _token(OctKey.import_key("s" * 32), "HS256"), T0, "signature did not verify"),
    ],
    ids=[
        "issuer",
        "audience",
        "nonce",
        "no-nonce",
        "expired",
        "issued-in-future",
        "many-audiences-no-azp",
        "azp",
        "wrong-key",
        "hs256",
    ],
)
def test_an_id_token_that_does_not_hold_is_refused(token: Any, at: Any, why: str) -> None:
    with pytest.raises(SsoFailed) as refused:
        _verify(token(), at=at)
    assert refused.value.status == 401 and why in refused.value.message


def test_claims_name_a_person_only_by_a_verified_email_of_someone_known() -> None:
    assert identify({"email": " Ana@Corp.Example", "email_verified": True}, True).email == (
        "ana@corp.example"
    )
    assert identify({"email": "ana@corp.example", "email_verified": "true"}, True).email
    assert identify({"email": "ana@corp.example", "xms_edov": True}, True).email  # Entra ID
    unverified = identify({"email": "ana@corp.example", "email_verified": False}, True)
    assert unverified.email is None and "not verified" in unverified.reason
    missing = identify({"email": "ana@corp.example"}, True)
    assert missing.email is None and missing.actor == "ana@corp.example"
    unknown = identify({"email": "eve@else.example", "email_verified": True}, False)
    assert unknown.email is None and "not a person" in unknown.reason
    nameless = identify({"sub": "x1"}, True)
    assert nameless.email is None and nameless.actor == "oidc:x1" and "no email" in nameless.reason


def test_pkce_s256_is_rfc_7636s_example() -> None:
    # RFC 7636 Appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_discovery_must_be_our_issuers_and_offer_s256() -> None:
    config = OidcConfig(ISSUER, CLIENT, None, "https://wk.corp.example/signin/oidc/callback")
    good = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/auth",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
    }
    assert checked_metadata(dict(good), config) == good
    for bad, why in [
        (good | {"issuer": "https://evil.example"}, "not ours"),
        (good | {"token_endpoint": "http://id.corp.example/token"}, "not https"),
        (good | {"code_challenge_methods_supported": ["plain"]}, "S256"),
    ]:
        with pytest.raises(SsoFailed, match=why):
            checked_metadata(bad, config)


def test_the_settings_serve_refuses() -> None:
    full = Settings(
        secret="s" * 32,
        public_url="https://wk.corp.example",
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT,
    )
    assert sso_refusal(Settings()) is None, "unset: tokens only"
    assert sso_refusal(full) is None, "a public client needs no secret"
    assert sso_refusal(Settings(**{**vars(full), "oidc_issuer": "http://id.example"}))
    for missing in ("secret", "public_url", "oidc_client_id"):
        refusal = sso_refusal(Settings(**{**vars(full), missing: None}))
        assert refusal is not None and f"WATCHKEEPER_{missing.upper()}" in refusal


def test_a_sign_ons_state_is_claimed_once(app: Watchkeeper) -> None:
    pending = Pending("state", "verifier", "nonce", "/", T0 + timedelta(minutes=10))
    other = Pending("another", "verifier", "nonce", "/", T0 + timedelta(minutes=10))
    assert claim_once(app, pending.claim_key, pending.expires, T0)
    assert not claim_once(app, pending.claim_key, pending.expires, T0 + timedelta(minutes=1))
    assert claim_once(app, other.claim_key, other.expires, T0 + timedelta(minutes=1))
    with app.store.read() as unit:
        assert unit.alerting.session_holder(pending.claim_key, T0) == "sso:state"


def test_serve_refuses_to_start_with_single_sign_on_half_set_up(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")} | {
        "WATCHKEEPER_DB": f"sqlite:///{tmp_path / 'wk.db'}",
        "WATCHKEEPER_SECRET": "a-long-secret",
        "WATCHKEEPER_OIDC_ISSUER": ISSUER,
        "WATCHKEEPER_OIDC_CLIENT_ID": CLIENT,
    }
    command = [sys.executable, "-m", "watchkeeper.cli", "serve", "--port", "0", "--tick-every", "0"]
    refused = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert "WATCHKEEPER_PUBLIC_URL" in refused.stderr and "Traceback" not in refused.stderr
