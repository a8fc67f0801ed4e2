"""Telling people: resolve names (people and teams) to active persons, deliver through each
person's channels in order, and record every attempt. The only place alerting does I/O."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx

from watchkeeper.alerting.deliver import Attempt, deliver
from watchkeeper.alerting.notifiers import Message
from watchkeeper.store import Store


def ack_signature(secret: str, incident_id: int, recipient: str) -> str:
    """The token in a notification's acknowledge link: proves who it was sent to, for which."""
    message = f"{incident_id}:{recipient}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


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

    def ack_link(self, incident_id: int, recipient: str) -> tuple[str, str] | None:
        if not self.public_url:
            return None
        signature = ack_signature(self.secret, incident_id, recipient)
        url = (
            f"{self.public_url.rstrip('/')}/api/v1/incidents/{incident_id}/ack"
            f"?by={recipient}&sig={signature}"
        )
        return ("Acknowledge", url)

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
                link = self.ack_link(incident_id, email)
                if link:
                    personal = replace(personal, links=(*personal.links, link))
            context: dict[str, Any] = {
                "http": self.http,
                "smtp": self.smtp,
                "webhook_secret": self.secret,
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
                    unit.record_delivery(
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
