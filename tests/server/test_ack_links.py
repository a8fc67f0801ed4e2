"""The acknowledge link in a page, end to end: a real mail to a plus address over SMTP, the link
opened (which changes nothing), the page's form posted (which acknowledges, once), and the
refusals — altered, expired, replayed, or held by someone who has left."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from tests.server._world import Api, api_for
from watchkeeper.app import Watchkeeper, build
from watchkeeper.clock import FixedClock
from watchkeeper.manifest import load_text
from watchkeeper.server import create_app
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import T0

H = timedelta(hours=1)
ANA = "ana+oncall@corp.example"
BEN = "ben@corp.example"
PUBLIC = "http://wk.example"


def _manifests() -> str:
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [
            {"email": ANA, "channels": [{"type": "email"}]},
            {"email": BEN, "channels": [{"type": "email"}]},
            {"email": "ops@corp.example", "admin": True},
        ],
    }
    system = {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot", "tier": "high"},
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": ANA, "kill_authority": [BEN]},
            "runbook": {
                "signals": {
                    "quality": {"from": "observation", "field": "metadata.score", "window": "1h"}
                },
                "alerts": [
                    {
                        "name": "low-quality",
                        "signal": "quality",
                        "below": 0.5,
                        "severity": "critical",
                    }
                ],
                "escalation": {"levels": [{"after": "0m", "notify": [ANA, BEN]}]},
            },
        },
    }
    return "\n---\n".join(json.dumps(d) for d in (people, system))


class _Form(HTMLParser):
    """The one form on a page: where it posts and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method: str | None = None
        self.fields: dict[str, str] = {}
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action, self.method = found.get("action"), found.get("method")
        elif tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"]] = found.get("value", "")
        elif tag == "script":
            self.scripts += 1


def form_of(html: str) -> _Form:
    parsed = _Form()
    parsed.feed(html)
    return parsed


@dataclass
class Paged:
    app: Watchkeeper
    api: Api
    incident: int
    links: dict[str, str]  # recipient -> the acknowledge link mailed to them (path and query)

    @property
    def link(self) -> str:
        return self.links[BEN]

    def status(self) -> dict[str, Any]:
        return self.app.alerting.incident_detail(self.incident)

    def form(self, recipient: str = BEN) -> _Form:
        page = self.api("GET", self.links[recipient])
        assert page.status_code == 200, page.text
        return form_of(page.text)

    def post(self, form: _Form, **altered: str) -> Any:
        assert form.action is not None, "the page has a form"
        return self.api("POST", form.action, data={**form.fields, **altered})


@pytest.fixture
def paged(db_url: str, store: Store) -> Iterator[Paged]:
    """Ana (a plus address) and Ben are paged by email for a critical incident on `bot`."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    mails: list[Message] = []

    class Inbox(MessageHandler):
        def handle_message(self, message: Message) -> None:
            mails.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    settings = Settings(db=db_url, smtp=f"127.0.0.1:{port}", public_url=PUBLIC, secret="s3cret")
    clock = FixedClock(T0 - H)
    app = build(settings, store=store, clock=clock)
    try:
        app.charter.apply(load_text(_manifests()), "ops@corp.example", T0 - H)
        items = [
            {
                "id": f"o{i}",
                "ts": (T0 + i * timedelta(minutes=1)).isoformat(),
                "metadata": {"score": 0.1},
            }
            for i in range(5)
        ]
        app.ingest.observations("bot", items, clock.set(T0 + H))
        [incident] = app.scheduler.tick(T0 + H).incidents_opened
    finally:
        smtp.stop()
    links = {}
    for mail in mails:
        body = mail.get_payload(decode=True).decode()
        found = re.search(r"^Acknowledge: (http\S+)", body, re.MULTILINE)
        assert found, body
        links[mail["To"]] = found.group(1).removeprefix(PUBLIC)
    assert set(links) == {ANA, BEN}
    clock.set(T0 + 2 * H)
    for api in api_for(create_app(app)):
        yield Paged(app, api, incident, links)
    app.courier.http.close()


def test_opening_the_link_shows_a_page_and_acknowledges_nothing(paged: Paged) -> None:
    opened = paged.api("GET", paged.link)
    assert opened.status_code == 200, opened.text
    assert paged.status()["status"] == "triggered", "a mail scanner following links acts on nothing"
    assert opened.headers["content-type"].startswith("text/html")
    assert opened.headers["content-security-policy"].startswith("default-src 'none'")
    form = form_of(opened.text)
    assert form.method == "post" and form.scripts == 0
    assert form.fields["by"] == BEN, "the page carries the signed fields to its form"
    assert f"Incident #{paged.incident}" in opened.text and "bot" in opened.text


def test_the_pages_form_acknowledges_as_the_plus_addressed_recipient(paged: Paged) -> None:
    assert "by=ana%2Boncall%40corp.example" in paged.links[ANA], "the address is URL-encoded"
    done = paged.post(paged.form(ANA))
    assert done.status_code == 200 and "text/html" in done.headers["content-type"]
    assert f"acknowledged by {ANA}" in done.text
    detail = paged.status()
    assert detail["status"] == "acknowledged" and detail["acknowledged_by"] == ANA


def test_a_used_link_is_refused_when_replayed(paged: Paged) -> None:
    form = paged.form()
    assert paged.post(form).status_code == 200
    replayed = paged.post(form)
    assert replayed.status_code == 403 and "already been used" in replayed.json()["detail"]
    assert paged.api("GET", paged.link).status_code == 403


def test_an_expired_link_is_refused(paged: Paged) -> None:
    paged.app.clock.set(T0 + H + 24 * H)  # type: ignore[attr-defined]
    opened = paged.api("GET", paged.link)
    assert opened.status_code == 403 and "expired" in opened.json()["detail"]
    assert paged.status()["status"] == "triggered"


def test_the_form_of_an_expired_link_is_refused(paged: Paged) -> None:
    form = paged.form()
    paged.app.clock.set(T0 + H + 24 * H)  # type: ignore[attr-defined]
    posted = paged.post(form)
    assert posted.status_code == 403 and "expired" in posted.json()["detail"]
    assert paged.status()["status"] == "triggered"


def test_the_link_of_someone_who_left_is_refused(paged: Paged) -> None:
    paged.app.charter.deactivate(BEN, "ops@corp.example", T0 + 2 * H)
    opened = paged.api("GET", paged.link)
    assert opened.status_code == 403 and "no longer active" in opened.json()["detail"]
    assert paged.status()["status"] == "triggered"


def test_the_form_of_someone_who_left_is_refused(paged: Paged) -> None:
    form = paged.form()
    paged.app.charter.deactivate(BEN, "ops@corp.example", T0 + 2 * H)
    posted = paged.post(form)
    assert posted.status_code == 403 and "no longer active" in posted.json()["detail"]
    assert paged.status()["status"] == "triggered"


def test_altered_links_are_refused(paged: Paged) -> None:
    assert set(parse_qs(urlsplit(paged.link).query)) == {"by", "exp", "link", "sig"}
    form = paged.form()
    for altered in (
        {"sig": ("1" if form.fields["sig"][0] == "0" else "0") + form.fields["sig"][1:]},
        {"by": ANA},
        {"exp": str(int(form.fields["exp"]) + 86400)},
        {"link": "another-link-id"},
    ):
        posted = paged.post(form, **altered)
        assert posted.status_code == 403, altered
        assert "not valid" in posted.json()["detail"]
    for exp in ("soon", str(10**15)):
        malformed = paged.post(form, exp=exp)
        assert malformed.status_code == 400 and "exp" in malformed.json()["detail"]
    assert paged.status()["status"] == "triggered"


def test_a_link_is_claimed_once_in_the_store_and_expired_claims_are_pruned(store: Store) -> None:
    until = T0 + 24 * H
    with store.write() as unit:
        assert unit.alerting.claim_ack_link("first", 1, ANA, until, T0)
    with store.write() as unit:
        assert not unit.alerting.claim_ack_link("first", 1, ANA, until, T0 + H), "a second use"
    with store.read() as unit:
        assert unit.alerting.ack_link_used("first") and not unit.alerting.ack_link_used("second")
    with store.write() as unit:
        assert unit.alerting.claim_ack_link("second", 1, ANA, until + 24 * H, until)
    with store.engine.connect() as conn:
        kept = conn.execute(text("SELECT link FROM ack_links_used")).scalars().all()
    assert kept == ["second"], "a claim past its link's expiry protects nothing any more"


def _serve(tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")} | {
        "WATCHKEEPER_DB": f"sqlite:///{tmp_path / 'wk.db'}",
        **env,
    }
    command = [sys.executable, "-m", "watchkeeper.cli", "serve", "--port", "0", "--tick-every", "0"]
    return subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True)


def test_the_server_refuses_to_start_when_links_would_be_unsigned(tmp_path: Path) -> None:
    refused = _serve(tmp_path, WATCHKEEPER_PUBLIC_URL=PUBLIC)
    try:
        _, stderr = refused.communicate(timeout=60)
    finally:
        refused.kill()
    assert refused.returncode == 2, stderr
    assert "WATCHKEEPER_SECRET" in stderr and "Traceback" not in stderr

    started = _serve(tmp_path, WATCHKEEPER_PUBLIC_URL=PUBLIC, WATCHKEEPER_SECRET="a-long-secret")
    try:
        assert started.stderr is not None
        assert "serving the sqlite store" in started.stderr.readline()
    finally:
        started.terminate()
        started.wait(timeout=30)
