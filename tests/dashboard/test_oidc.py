"""Single sign-on, the whole way, in headless Chromium: the dashboard on a real uvicorn, a real
OpenID provider (panva's oidc-provider, OpenID Certified) beside it on loopback, and a person
signing in at the provider's own interaction pages (its login form, then its consent page).

Signed in as the matched person; refused, with a page that says why and a line in the audit
trail, when the provider has not verified the email, when nobody here has that email, and when
the person was deactivated; a forged state and a replayed callback refused before the code is
spent. Screenshots go to `test-artifacts/dashboard/`. SQLite only, as the other browser tests:
what the store does for sign-on is tested on both databases in test_oidc_rules.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.dashboard.oidc import Provider, require_provider, running_provider
from tests.dashboard.test_browser import ARTIFACTS, chromium  # noqa: F401 (a fixture)
from watchkeeper.app import Operations, Watchkeeper, build
from watchkeeper.server import LiveServer
from watchkeeper.settings import Settings

CALLBACK = "/signin/oidc/callback"
PEOPLE = {
    "ana@corp.example": True,  # active
    "una@corp.example": True,  # active, but her provider account's email is unverified
    "lee@corp.example": False,  # left: deactivated here
    "ops@corp.example": True,
}
ACCOUNTS = {  # the provider's accounts, by login name
    "ana": {"email": "Ana@Corp.Example", "email_verified": True, "name": "Ana Alvarez"},
    "una": {"email": "una@corp.example", "email_verified": False, "name": "Una Unverified"},
    "eve": {"email": "eve@elsewhere.example", "email_verified": True, "name": "Eve Outsider"},
    "lee": {"email": "lee@corp.example", "email_verified": True, "name": "Lee Left"},
}


@dataclass(frozen=True)
class Site:
    app: Watchkeeper
    url: str
    provider: Provider


def _free_port() -> int:
    """A port for the dashboard known before it starts: the provider must be told the redirect
    URI, and the dashboard the provider's issuer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_provider()
    folder = tmp_path_factory.mktemp("sso")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    client = {
        "client_id": "watchkeeper-dashboard",
        "client_secret": "a-client-secret-the-provider-and-we-share",
        "redirect_uris": [f"{url}{CALLBACK}"],
    }
    with running_provider(ACCOUNTS, client) as provider:
        settings = Settings(
            db=f"sqlite:///{folder / 'wk.db'}",
            secret="a-long-secret-for-signing",
            public_url=url,
            oidc_issuer=provider.issuer,
            oidc_client_id=provider.client_id,
            oidc_client_secret=provider.client_secret,
        )
        app = build(settings)
        try:
            _people(app, folder)
            with LiveServer(app, port=port):
                yield Site(app, url, provider)
        finally:
            app.close()


def _people(app: Watchkeeper, folder: Path) -> None:
    doc = folder / "people.yaml"
    people = [
        {"email": email, "name": email.split("@")[0].title(), "admin": email.startswith("ops@")}
        for email in PEOPLE
    ]
    body = {"apiVersion": "watchkeeper/v1", "kind": "People", "people": people}
    doc.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    ops = Operations(app, "ops@corp.example", app.clock.now(), enforce=False)
    ops.apply([str(doc)])
    for email, active in PEOPLE.items():
        if not active:
            ops.deactivate(email)


def _browser(browser: Any) -> Any:
    """A fresh context whose every request beyond loopback is refused (the provider's pages
    link a web font): nothing in these tests may leave the machine."""
    context = browser.new_context()
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == "127.0.0.1"
            else route.abort()
        ),
    )
    return context.new_page()


def _to_provider(page: Any, site: Site, login: str, start: str = "/") -> None:
    """From a dashboard page to the provider, through its login form and consent page; the
    browser then follows the provider's redirect to our callback."""
    page.goto(f"{site.url}{start}")
    assert urlsplit(page.url).path == "/signin"
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_url(f"{site.provider.issuer}/**")
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("whatever the provider accepts")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def _sign_in(page: Any, site: Site, login: str, start: str = "/") -> Any:
    """`_to_provider`, then wait for the page the dashboard answers the callback with."""
    with page.expect_response(lambda r: urlsplit(r.url).path == CALLBACK) as answer:
        _to_provider(page, site, login, start)
    page.wait_for_load_state()
    return answer.value


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _refusals(site: Site, actor: str) -> list[str]:
    with site.app.store.read() as unit:
        entries = unit.audit_entries()
    return [e.reason or "" for e in entries if e.action == "access.denied" and e.actor == actor]


def test_sign_in_through_the_provider_lands_signed_in_as_the_matched_person(
    chromium: Any,  # noqa: F811
    site: Site,
) -> None:
    page = _browser(chromium)
    answer = _sign_in(page, site, "ana", start="/systems/none-such")
    assert answer.status == 303
    assert urlsplit(page.url).path == "/systems/none-such", "back where the person was going"
    page.goto(f"{site.url}/")
    assert page.get_by_text("Signed in as ana@corp.example").is_visible()
    assert page.get_by_role("heading", name="Portfolio").is_visible()
    _shot(page, "sso-01-signed-in")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert "wk_sso" not in cookies, "the sign-on's record is gone once used"
    assert cookies["wk_session"]["httpOnly"]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site.url}/signin")
    page.goto(f"{site.url}/")
    assert urlsplit(page.url).path == "/signin", "signed out means out"


@pytest.mark.parametrize(
    ("login", "actor", "why"),
    [
        ("una", "una@corp.example", "has not verified una@corp.example"),
        ("eve", "eve@elsewhere.example", "is not a person in Watchkeeper's directory"),
        ("lee", "lee@corp.example", "is inactive (has left)"),
    ],
    ids=["unverified-email", "unknown-email", "deactivated-person"],
)
def test_a_person_the_dashboard_cannot_admit_is_refused_with_a_page_and_audited(
    chromium: Any,  # noqa: F811
    site: Site,
    login: str,
    actor: str,
    why: str,
) -> None:
    before = len(_refusals(site, actor))
    page = _browser(chromium)
    answer = _sign_in(page, site, login)
    assert answer.status == 403
    assert page.get_by_role("heading", name="Single sign-on refused").is_visible()
    assert why in page.get_by_role("alert").inner_text()
    assert page.get_by_text("This refusal is recorded in the audit trail.").is_visible()
    _shot(page, f"sso-02-refused-{login}")
    refusals = _refusals(site, actor)
    assert len(refusals) == before + 1 and why in refusals[-1]
    assert "wk_session" not in {c["name"] for c in page.context.cookies()}
    page.goto(f"{site.url}/")
    assert urlsplit(page.url).path == "/signin", "no session came of it"


def _captured_sign_in(page: Any, site: Site, login: str) -> tuple[str, list[Any]]:
    """A whole sign-in, keeping what a thief could copy: the callback URL the provider sent
    the browser to, and the browser's signed record of the sign-on (the `wk_sso` cookie)."""
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if CALLBACK in r.url else None)
    page.goto(f"{site.url}/")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_url(f"{site.provider.issuer}/**")
    record = [c for c in page.context.cookies() if c["name"] == "wk_sso"]
    assert len(record) == 1 and record[0]["httpOnly"] and record[0]["path"] == "/signin/oidc"
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("whatever the provider accepts")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{site.url}/")
    assert page.get_by_text(f"Signed in as {login}@corp.example").is_visible()
    assert len(callbacks) == 1
    return callbacks[0], record


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return parts._replace(query=urlencode(query)).geturl()


def test_a_tampered_state_is_refused(chromium: Any, site: Site) -> None:  # noqa: F811
    callback, record = _captured_sign_in(_browser(chromium), site, "ana")
    state = dict(parse_qsl(urlsplit(callback).query))["state"]
    other = _browser(chromium)
    other.context.add_cookies(record)  # the sign-on's genuine record, with a state changed
    answer = other.goto(
        _with_query(callback, state=state[:-1] + ("A" if state[-1] != "A" else "B"))
    )
    assert answer.status == 400
    assert "state does not match" in other.get_by_role("alert").inner_text()
    _shot(other, "sso-03-tampered-state")
    other.goto(f"{site.url}/")
    assert urlsplit(other.url).path == "/signin", "no session came of it"


def test_a_replayed_callback_is_refused(chromium: Any, site: Site) -> None:  # noqa: F811
    callback, record = _captured_sign_in(_browser(chromium), site, "ana")
    again = _browser(chromium)  # another browser, with nothing of the first
    assert again.goto(callback).status == 400
    assert "not started in this browser" in again.get_by_role("alert").inner_text()

    again.context.add_cookies(record)  # and even with a copy of the sign-on's record
    assert again.goto(callback).status == 400
    assert "already used" in again.get_by_role("alert").inner_text()
    _shot(again, "sso-04-replayed-callback")
    again.goto(f"{site.url}/")
    assert urlsplit(again.url).path == "/signin", "no session came of it"
