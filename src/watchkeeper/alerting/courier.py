"""Telling people: resolve names (people and teams) to active persons, deliver through each
person's channels in order, and record every attempt. The only place alerting does I/O."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from watchkeeper.alerting.deliver import Attempt, deliver
from watchkeeper.alerting.notifiers import Message
from watchkeeper.alerting.outbox import Notice
from watchkeeper.errors import ActionError
from watchkeeper.store import Store

ACK_LINK_LIFETIME = timedelta(hours=24)
"""Long enough for a page sent at night to be answered in the morning; after that the incident
is acknowledged in the dashboard or with `wk incident ack`, as a signed-in person."""


@dataclass(frozen=True)
class AckLink:
    """What an acknowledge link states, all of it signed: which incident, whom it was sent to,
    until when (unix seconds) and which link it is, so that it acts once."""

    incident_id: int
    recipient: str
    expires: int
    link: str

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)

    def signature(self, secret: str) -> str:
        # JSON, not a joined string: no choice of fields can read as another link's
        message = json.dumps(["ack", self.incident_id, self.recipient, self.expires, self.link])
        return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()

    def query(self, secret: str) -> str:
        """The link's query string, every value URL-encoded (`+` in an address stays a `+`)."""
        fields = {"by": self.recipient, "exp": self.expires, "link": self.link}
        return urlencode({**fields, "sig": self.signature(secret)})


def ack_link_refusal(
    link: AckLink, signature: str, secret: str, now: datetime, *, active: bool, used: bool
) -> str | None:
    """Why a presented acknowledge link may not act (None: it may). Pure: the caller looks up
    whether its recipient is still active and whether the link was used."""
    if not secret or not hmac.compare_digest(signature.encode(), link.signature(secret).encode()):
        return "this acknowledge link is not valid (wrong or altered link)"
    if now >= link.expires_at:
        expired = f"{link.expires_at:%Y-%m-%d %H:%M} UTC"
        return f"this acknowledge link expired at {expired}; {_instead(link)}"
    if not active:
        return f"{link.recipient} is no longer active, so their acknowledge link is void"
    if used:
        return used_link_refusal(link)
    return None


def used_link_refusal(link: AckLink) -> str:
    return f"this acknowledge link has already been used; {_instead(link)}"


def _instead(link: AckLink) -> str:
    return f"acknowledge in the dashboard or with `wk incident ack {link.incident_id}`"


def unsigned_links_refusal(public_url: str | None, secret: str) -> str | None:
    """Why a server must not start: its notifications would carry acknowledge links (a public
    URL is known) that it could neither sign nor accept."""
    if public_url and not secret:
        return (
            "WATCHKEEPER_SECRET is not set, but notifications carry acknowledge links to "
            f"{public_url} (WATCHKEEPER_PUBLIC_URL, else WATCHKEEPER_URL): set WATCHKEEPER_SECRET "
            "to a long random value, the same on every replica"
        )
    return None


@dataclass
class Courier:
    store: Store
    smtp: str | None = None
    public_url: str | None = None
    secret: str = ""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    sleep: Callable[[float], None] = time.sleep

    def people(self, refs: Iterable[str]) -> list[str]:
        """Active people behind a list of names, teams expanded, order kept, no repeats."""
        with self.store.read() as unit:
            people = {p.email: p for p in unit.people()}
            teams = {t.name: t.members for t in unit.teams()}
        found: list[str] = []
        for ref in refs:
            members = teams.get(ref, [ref])
            for email in members:
                person = people.get(email)
                if person and person.active and email not in found:
                    found.append(email)
        return found

    def require_secret(self) -> None:
        """Raise (invalid) when links would go out that nobody could use: see
        `unsigned_links_refusal`."""
        refusal = unsigned_links_refusal(self.public_url, self.secret)
        if refusal:
            raise ActionError("invalid", refusal)

    def ack_link(self, incident_id: int, recipient: str, now: datetime) -> tuple[str, str] | None:
        """A fresh link for one recipient of one page; it opens a confirmation page, and only
        that page's form acknowledges."""
        if not self.public_url or not self.secret:
            return None
        expires = int((now + ACK_LINK_LIFETIME).timestamp())
        link = AckLink(incident_id, recipient, expires, secrets.token_urlsafe(16))
        base = f"{self.public_url.rstrip('/')}/api/v1/incidents/{incident_id}/ack"
        return ("Acknowledge", f"{base}?{link.query(self.secret)}")

    def send_notices(self, notices: Iterable[Notice], now: datetime) -> None:
        """Send what a committed change put in its outbox (never before the commit: nobody is
        told of a change that was rolled back). An acknowledgement matters only to PagerDuty,
        whose own escalation it stops."""
        for notice in notices:
            only = "pagerduty" if notice.message.event == "acknowledge" else None
            self.send(
                notice.message,
                self.people(notice.to),
                now=now,
                purpose=notice.purpose,
                incident_id=notice.incident_id,
                only=only,
            )

    def send(
        self,
        message: Message,
        recipients: Iterable[str],
        *,
        now: datetime,
        purpose: str,
        incident_id: int | None = None,
        only: str | None = None,
    ) -> dict[str, list[Attempt]]:
        """Deliver to each recipient; `only` restricts to one channel type (e.g. pagerduty)."""
        with self.store.read() as unit:
            people = {p.email: p for p in unit.people()}
        results: dict[str, list[Attempt]] = {}
        for email in recipients:
            person = people.get(email)
            if person is None or not person.active:
                continue
            channels = [c for c in person.channels if only is None or c.get("type") == only]
            if only is not None and not channels:
                continue
            if message.event == "notice":
                channels = [c for c in channels if c.get("type") != "pagerduty"] or [
                    {"type": "email"}
                ]
            personal = replace(message, recipient=email)
            if incident_id is not None and message.event == "trigger":
                link = self.ack_link(incident_id, email, now)
                if link:
                    personal = replace(personal, links=(*personal.links, link))
            context: dict[str, Any] = {
                "http": self.http,
                "smtp": self.smtp,
                "webhook_secret": self.secret,
                "public_url": self.public_url,
            }
            results[email] = deliver(personal, channels, context, sleep=self.sleep)
        self._record(message, results, now, purpose, incident_id)
        return results

    def _record(
        self,
        message: Message,
        results: dict[str, list[Attempt]],
        now: datetime,
        purpose: str,
        incident_id: int | None,
    ) -> None:
        with self.store.write() as unit:
            for email, attempts in results.items():
                for attempt in attempts:
                    unit.alerting.record_delivery(
                        system=message.system,
                        incident_id=incident_id,
                        at=now,
                        purpose=purpose,
                        event=message.event,
                        recipient=email,
                        channel=attempt.channel,
                        attempt=attempt.attempt,
                        status=attempt.delivery.status,
                        detail=attempt.delivery.detail,
                        title=message.title,
                    )
