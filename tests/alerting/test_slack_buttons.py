"""The buttons of an incident's Slack message: what can still be done about the incident, as the
message finds it, delivered to a real HTTP receiver on loopback in Slack's Block Kit shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from watchkeeper.alerting.deliver import deliver
from watchkeeper.alerting.notifiers import Message, incident_of_key, slack_payload
from watchkeeper.testing import HttpReceiver, http_receiver

PAGE = Message(
    event="trigger",
    system="support-assistant",
    title="answer_accuracy dropped",
    severity="critical",
    body="answer_accuracy = 0.70 against 0.90",
    recipient="ana@corp.example",
    dedup_key="watchkeeper/support-assistant/incident/42",
)


def buttons(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    actions = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert len(actions) <= 1
    return {e["action_id"]: e for e in (actions[0]["elements"] if actions else [])}


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


def test_a_page_delivered_to_slack_can_be_acknowledged_resolved_and_opened(
    receiver: HttpReceiver,
) -> None:
    channel = {"type": "slack", "url": f"{receiver.url}/slack"}
    with httpx.Client(timeout=5) as http:
        context = {"http": http, "public_url": "https://wk.corp.example/"}
        [attempt] = deliver(PAGE, [channel], context, sleep=lambda _: None)
    assert attempt.delivery.ok
    found = buttons(receiver.on("/slack")[0].json())
    assert list(found) == ["wk.incident.ack", "wk.incident.resolve", "wk.incident.open"]
    assert {b["value"] for b in found.values()} == {"42"}
    assert all(b["type"] == "button" for b in found.values())
    assert found["wk.incident.open"]["url"] == "https://wk.corp.example/incidents/42"
    assert "confirm" in found["wk.incident.resolve"], "resolving asks before it acts"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("trigger", ["wk.incident.ack", "wk.incident.resolve"]),
        ("acknowledge", ["wk.incident.resolve"]),
        ("resolve", []),
        ("notice", []),
    ],
)
def test_only_what_can_still_be_done_is_offered(event: str, expected: list[str]) -> None:
    message = Message(**{**PAGE.__dict__, "event": event})
    assert list(buttons(slack_payload(message))) == expected, "no public URL: no dashboard link"
    with_url = list(buttons(slack_payload(message, "http://wk.example")))
    assert with_url == [*expected, "wk.incident.open"]


@pytest.mark.parametrize(
    "key",
    [None, "support-assistant/answer_accuracy dropped", "watchkeeper/x/incident/", "incident-7"],
)
def test_a_message_about_no_incident_has_no_buttons(key: str | None) -> None:
    message = Message(**{**PAGE.__dict__, "dedup_key": key})
    assert buttons(slack_payload(message, "http://wk.example")) == {}
    assert incident_of_key(key) is None


def test_the_incident_key_reads_back_as_its_system_and_number() -> None:
    assert incident_of_key("watchkeeper/support-assistant/incident/42") == (
        "support-assistant",
        42,
    )
