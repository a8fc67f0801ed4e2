"""A paged incident for the chat and paging integrations: Ana (owner) is paged on PagerDuty and
Ben (kill authority) on Slack (both a loopback receiver), each person carries a Slack and a
PagerDuty user id, and the server has both integrations' secrets. Requests are signed here by
hand from each vendor's published scheme — never with the server's own verifier — so a wrong
verifier fails the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.server._world import Api, api_for
from watchkeeper.app import Watchkeeper, build
from watchkeeper.clock import FixedClock
from watchkeeper.manifest import load_text
from watchkeeper.server import create_app
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import T0, HttpReceiver

H = timedelta(hours=1)
PUBLIC = "http://wk.example"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PD_SECRET = "pd-webhook-secret-0123456789"
ANA, BEN, UMA, IVY = (f"{n}@corp.example" for n in ("ana", "ben", "uma", "ivy"))
SLACK = {ANA: "UANA00001", BEN: "UBEN00001", UMA: "UUMA00001", IVY: "UIVY00001"}
PAGERDUTY = {ANA: "PANA001", BEN: "PBEN001", UMA: "PUMA001", IVY: "PIVY001"}


def manifests(receiver: str) -> str:
    def person(email: str, **more: Any) -> dict[str, Any]:
        return {"email": email, "slack": SLACK[email], "pagerduty": PAGERDUTY[email], **more}

    pagerduty = {"type": "pagerduty", "routing_key": "R" * 32, "url": f"{receiver}/v2/enqueue"}
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [
            person(ANA, channels=[pagerduty]),
            person(BEN, channels=[{"type": "slack", "url": f"{receiver}/slack"}]),
            person(UMA),
            person(IVY, active=False),
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


@dataclass
class Paged:
    app: Watchkeeper
    api: Api
    clock: FixedClock
    receiver: HttpReceiver
    incident: int

    def detail(self) -> dict[str, Any]:
        return self.app.alerting.incident_detail(self.incident)

    def audit(self, action: str) -> list[dict[str, Any]]:
        return [
            e.to_dict() for e in self.app.access.audit_entries(None, 1000) if e.action == action
        ]

    def refusals(self) -> list[dict[str, Any]]:
        """Every refusal written so far, the noise gate's pending counts flushed first."""
        self.app.access.flush_noise(self.clock.now() + 24 * H)
        return self.audit("access.denied")

    def click(self, user: str, action_id: str, value: str) -> bytes:
        """A press whose response_url is the loopback receiver's `/slack-response`."""
        return slack_click(user, action_id, value, f"{self.receiver.url}/slack-response")

    def slack(
        self, body: bytes, *, timestamp: int | None = None, secret: str = SLACK_SECRET
    ) -> httpx.Response:
        stamp = str(int(self.clock.now().timestamp()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(secret, stamp, body),
        }
        return self.api("POST", "/api/v1/integrations/slack/actions", content=body, headers=headers)

    def pagerduty(self, body: bytes, signature: str | None = None) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            "X-PagerDuty-Signature": signature or pagerduty_signature(PD_SECRET, body),
        }
        return self.api(
            "POST", "/api/v1/integrations/pagerduty/webhook", content=body, headers=headers
        )


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 scheme, as its documentation states it."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def pagerduty_signature(secret: str, body: bytes) -> str:
    """PagerDuty's v1 scheme, as its documentation states it."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_click(user: str, action_id: str, value: str, response_url: str) -> bytes:
    """The form Slack posts when a user presses a button of a message (block_actions)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "api_app_id": "A0001",
        "team": {"id": "T0001", "domain": "corp"},
        "container": {"type": "message", "message_ts": "1700000000.000100"},
        "channel": {"id": "C0001", "name": "incidents"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "wk.incident",
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def pagerduty_webhook(event_type: str, incident_key: str | None, agent: str | None) -> bytes:
    """A v3 webhook as PagerDuty's documentation shows one."""
    return json.dumps(
        {
            "event": {
                "id": "01DEN7ZJ4L8U",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": "2020-10-02T18:45:22.169Z",
                "agent": {"id": agent, "type": "user_reference", "summary": "Someone"}
                if agent
                else {"id": "PSVC001", "type": "service_reference", "summary": "Watchkeeper"},
                "client": None,
                "data": {
                    "id": "PGR0VU2",
                    "type": "incident",
                    "number": 2,
                    "status": event_type.rpartition(".")[2],
                    "incident_key": incident_key,
                    "title": "bot: low-quality",
                },
            }
        }
    ).encode()


def paged_incident(db_url: str, store: Store, receiver: HttpReceiver) -> Iterator[Paged]:
    """The world above with one critical incident on `bot`, Ana and Ben paged for it."""
    settings = Settings(
        db=db_url,
        public_url=PUBLIC,
        secret="s3cret",
        slack_signing_secret=SLACK_SECRET,
        pagerduty_webhook_secret=PD_SECRET,
    )
    clock = FixedClock(T0 - H)
    app = build(settings, store=store, clock=clock)
    app.charter.apply(load_text(manifests(receiver.url)), "ops@corp.example", T0 - H)
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
    clock.set(T0 + 2 * H)
    try:
        for api in api_for(create_app(app)):
            yield Paged(app, api, clock, receiver, incident)
    finally:
        app.courier.http.close()
