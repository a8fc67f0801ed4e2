"""The HTTP integrations: generic webhook (signed), Slack incoming webhook, PagerDuty Events v2."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from watchkeeper.alerting.notifiers._base import Delivery, Message, classify_http, redact, register

SIGNATURE_HEADER = "X-Watchkeeper-Signature"
TIMESTAMP_HEADER = "X-Watchkeeper-Timestamp"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
_PD_SEVERITY = {"critical": "critical", "error": "error", "warning": "warning", "info": "info"}
SLACK_ACK = "wk.incident.ack"
SLACK_RESOLVE = "wk.incident.resolve"
SLACK_OPEN = "wk.incident.open"
_INCIDENT_KEY = re.compile(
    r"^watchkeeper/(?P<system>[a-z0-9][a-z0-9-]{0,62})/incident/(?P<id>[0-9]{1,18})$"
)


def incident_of_key(key: str | None) -> tuple[str, int] | None:
    """The system and incident a message's dedup key names (`alerting.incidents.dedup_key`:
    PagerDuty keeps it as its incident's `incident_key`), or None for any other key."""
    found = _INCIDENT_KEY.match(key or "")
    return (found["system"], int(found["id"])) if found else None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `timestamp.body`, so a receiver can check origin and reject replays."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    secrets: tuple[str, ...],
) -> Delivery:
    try:
        reply = client.post(
            url, content=body, headers={"Content-Type": "application/json", **headers}
        )
    except httpx.HTTPError as exc:
        return Delivery("retryable", redact(f"{type(exc).__name__}: {exc}", secrets))
    status = classify_http(reply.status_code)
    return Delivery(status, redact(f"HTTP {reply.status_code} {reply.text[:200]}", secrets))


class WebhookNotifier:
    kind = "webhook"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.url: str = config["url"]
        self.secret: str = config.get("secret") or config.get("webhook_secret") or ""
        self.http: httpx.Client = config["http"]

    def send(self, message: Message) -> Delivery:
        body = json.dumps(message.as_json(), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {TIMESTAMP_HEADER: timestamp}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        return _post(self.http, self.url, body, headers, (self.secret, self.url))


class SlackNotifier:
    kind = "slack"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.url: str = config["url"]
        self.http: httpx.Client = config["http"]
        self.public_url: str | None = config.get("public_url")

    def send(self, message: Message) -> Delivery:
        body = json.dumps(slack_payload(message, self.public_url)).encode()
        return _post(self.http, self.url, body, {}, (self.url,))


def slack_payload(message: Message, public_url: str | None = None) -> dict[str, Any]:
    """Slack incoming-webhook message: `text` as the fallback, blocks for the layout, and for an
    incident the buttons that act on it (see `incident_buttons`)."""
    label = {"trigger": "TRIGGERED", "acknowledge": "ACKNOWLEDGED", "resolve": "RESOLVED"}.get(
        message.event, "NOTICE"
    )
    headline = f"[{label}] [{message.severity.upper()}] {message.system}: {message.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message.body[:2900] or "-"}},
    ]
    if message.links:
        links = " · ".join(f"<{href}|{text}>" for text, href in message.links)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    incident = incident_of_key(message.dedup_key)
    buttons = incident_buttons(message.event, incident[1], public_url) if incident else []
    if buttons:
        blocks.append({"type": "actions", "block_id": "wk.incident", "elements": buttons})
    return {"text": headline, "blocks": blocks}


def incident_buttons(event: str, incident: int, public_url: str | None) -> list[dict[str, Any]]:
    """What can still be done about the incident as this message finds it: a page can be
    acknowledged or resolved, an acknowledged one resolved; any can be opened in the dashboard
    when the server's public URL is known. The buttons act through the server's Slack route,
    as the Slack user's mapped person, decided like any other request."""
    value = str(incident)
    buttons: list[dict[str, Any]] = []
    if event == "trigger":
        buttons.append(_button("Acknowledge", SLACK_ACK, value, style="primary"))
    if event in ("trigger", "acknowledge"):
        resolve = _button("Resolve", SLACK_RESOLVE, value)
        resolve["confirm"] = {
            "title": {"type": "plain_text", "text": f"Resolve incident #{incident}?"},
            "text": {"type": "plain_text", "text": "Its alerts are resolved with it."},
            "confirm": {"type": "plain_text", "text": "Resolve"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
        buttons.append(resolve)
    if public_url:
        dashboard = _button("Open in the dashboard", SLACK_OPEN, value)
        dashboard["url"] = f"{public_url.rstrip('/')}/incidents/{incident}"
        buttons.append(dashboard)
    return buttons


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


class PagerDutyNotifier:
    kind = "pagerduty"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.routing_key: str = config["routing_key"]
        self.url: str = config.get("url") or config.get("pagerduty_url") or PAGERDUTY_URL
        self.http: httpx.Client = config["http"]

    def send(self, message: Message) -> Delivery:
        payload = pagerduty_event(message, self.routing_key)
        return _post(self.http, self.url, json.dumps(payload).encode(), {}, (self.routing_key,))


def pagerduty_event(message: Message, routing_key: str) -> dict[str, Any]:
    """Events API v2: trigger / acknowledge / resolve tied together by one dedup_key."""
    action = message.event if message.event in ("acknowledge", "resolve") else "trigger"
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": message.dedup_key or f"{message.system}/{message.title}",
    }
    if action == "trigger":
        event["payload"] = {
            "summary": f"{message.system}: {message.title}"[:1024],
            "source": f"watchkeeper/{message.system}",
            "severity": _PD_SEVERITY.get(message.severity, "error"),
            "component": message.system,
            "custom_details": {"body": message.body, **dict(message.details)},
        }
        event["links"] = [{"href": href, "text": text} for text, href in message.links]
    return event


register("webhook")(WebhookNotifier)
register("slack")(SlackNotifier)
register("pagerduty")(PagerDutyNotifier)
