"""Each integration against a real loopback receiver, shapes checked against the public formats."""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from watchkeeper.alerting.deliver import deliver
from watchkeeper.alerting.notifiers import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Message,
    classify_http,
    kinds,
)
from watchkeeper.testing import HttpReceiver, http_receiver

MESSAGE = Message(
    event="trigger",
    system="support-assistant",
    title="answer_accuracy dropped 22% vs baseline",
    severity="critical",
    body="answer_accuracy = 0.70 against 0.90",
    recipient="ana@corp.example",
    dedup_key="incident-7",
    links=(("Acknowledge", "http://wk.example/ack/abc"),),
    details={"incident": 7},
)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def test_builtins_are_registered() -> None:
    assert kinds() == ["email", "pagerduty", "slack", "webhook"]


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "ok"),
        (202, "ok"),
        (400, "permanent"),
        (404, "permanent"),
        (429, "retryable"),
        (500, "retryable"),
        (503, "retryable"),
    ],
)
def test_http_reply_classification(status: int, verdict: str) -> None:
    assert classify_http(status) == verdict


def test_webhook_is_signed(receiver: HttpReceiver, http: httpx.Client) -> None:
    channel = {"type": "webhook", "url": f"{receiver.url}/hook", "secret": "s3cret"}
    [attempt] = deliver(MESSAGE, [channel], {"http": http}, sleep=lambda _: None)
    assert attempt.delivery.ok
    [request] = receiver.on("/hook")
    body = request.json()
    assert body["event"] == "trigger" and body["dedup_key"] == "incident-7"
    assert body["links"] == [{"text": "Acknowledge", "href": "http://wk.example/ack/abc"}]
    timestamp = request.headers[TIMESTAMP_HEADER]
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + request.body, hashlib.sha256)
    assert request.headers[SIGNATURE_HEADER] == "sha256=" + expected.hexdigest()


def test_slack_incoming_webhook_shape(receiver: HttpReceiver, http: httpx.Client) -> None:
    channel = {"type": "slack", "url": f"{receiver.url}/slack"}
    deliver(MESSAGE, [channel], {"http": http}, sleep=lambda _: None)
    payload = receiver.on("/slack")[0].json()
    assert payload["text"].startswith("[TRIGGERED] [CRITICAL] support-assistant:")
    assert payload["blocks"][0]["type"] == "section"
    assert payload["blocks"][0]["text"]["type"] == "mrkdwn"
    assert "<http://wk.example/ack/abc|Acknowledge>" in payload["blocks"][-1]["elements"][0]["text"]


def test_pagerduty_trigger_acknowledge_resolve_share_a_dedup_key(
    receiver: HttpReceiver, http: httpx.Client
) -> None:
    channel = {"type": "pagerduty", "routing_key": "R" * 32, "url": f"{receiver.url}/v2/enqueue"}
    for event in ("trigger", "acknowledge", "resolve"):
        message = Message(**{**MESSAGE.__dict__, "event": event})
        [attempt] = deliver(message, [channel], {"http": http}, sleep=lambda _: None)
        assert attempt.delivery.ok
    events = [r.json() for r in receiver.on("/v2/enqueue")]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {"incident-7"}
    assert {e["routing_key"] for e in events} == {"R" * 32}
    trigger = events[0]
    assert set(trigger["payload"]) >= {"summary", "source", "severity", "custom_details"}
    assert trigger["payload"]["severity"] in {"critical", "error", "warning", "info"}
    assert trigger["links"] == [{"href": "http://wk.example/ack/abc", "text": "Acknowledge"}]
    assert "payload" not in events[1] and "payload" not in events[2]


def test_retry_then_fall_back_to_the_next_channel(
    receiver: HttpReceiver, http: httpx.Client
) -> None:
    receiver.status["/down"] = 503
    channels = [
        {"type": "webhook", "url": f"{receiver.url}/down"},
        {"type": "slack", "url": f"{receiver.url}/slack"},
    ]
    slept: list[float] = []
    attempts = deliver(MESSAGE, channels, {"http": http}, sleep=slept.append)
    assert [(a.channel, a.attempt, a.delivery.status) for a in attempts] == [
        ("webhook", 1, "retryable"),
        ("webhook", 2, "retryable"),
        ("webhook", 3, "retryable"),
        ("slack", 1, "ok"),
    ]
    assert slept == [0.5, 2.0]
    assert len(receiver.on("/down")) == 3


def test_permanent_failure_is_not_retried_and_secrets_never_leak(
    receiver: HttpReceiver, http: httpx.Client
) -> None:
    receiver.status["/v2/enqueue"] = 400
    key = "routing-key-secret-123"
    channel = {"type": "pagerduty", "routing_key": key, "url": f"{receiver.url}/v2/enqueue"}
    [attempt] = deliver(MESSAGE, [channel], {"http": http}, sleep=lambda _: None)
    assert attempt.delivery.status == "permanent"
    unreachable = {"type": "slack", "url": "http://127.0.0.1:9/secret-token-path"}
    attempts = deliver(MESSAGE, [unreachable], {"http": http}, sleep=lambda _: None, delays=())
    assert attempts[0].delivery.status == "retryable"
    for a in [attempt, *attempts]:
        assert key not in a.delivery.detail and "secret-token-path" not in a.delivery.detail


def test_email_over_a_real_smtp_server() -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    received = []

    class Inbox(MessageHandler):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = f"127.0.0.1:{port}"
        [attempt] = deliver(MESSAGE, [{"type": "email"}], {"smtp": smtp}, sleep=lambda _: None)
    finally:
        controller.stop()
    assert attempt.delivery.ok, attempt.delivery.detail
    [mail] = received
    assert mail["To"] == "ana@corp.example"
    assert " ".join(mail["Subject"].split()) == (
        "[Watchkeeper] [CRITICAL] support-assistant: answer_accuracy dropped 22% vs baseline"
    )
    assert "http://wk.example/ack/abc" in mail.get_payload()


def test_email_without_a_server_configured_is_a_permanent_failure() -> None:
    [attempt] = deliver(MESSAGE, [{"type": "email"}], {}, sleep=lambda _: None)
    assert attempt.delivery.status == "permanent" and "WATCHKEEPER_SMTP" in attempt.delivery.detail
