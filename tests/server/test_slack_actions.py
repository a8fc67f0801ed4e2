"""Slack's incident buttons, end to end: the page Slack received carries them, and pressing one
posts a signed request (signed here by hand, and checked against `slack_sdk`'s own verifier) that
acts as the Slack user's person through the same authority as every other face. Stale, forged
and unsigned requests, unknown users, people without authority and unknown incidents are refused
in Slack's words, recorded, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.conftest import SQLITE_ONLY
from tests.server._chat import (
    ANA,
    BEN,
    IVY,
    SLACK,
    SLACK_SECRET,
    UMA,
    Paged,
    paged_incident,
    slack_signature,
)
from tests.server._world import api_for
from watchkeeper.alerting.timeline import timeline
from watchkeeper.app import build
from watchkeeper.server import create_app
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import HttpReceiver, http_receiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
def paged(db_url: str, store: Store, receiver: HttpReceiver) -> Iterator[Paged]:
    yield from paged_incident(db_url, store, receiver)


def test_the_page_in_slack_carries_the_incidents_buttons(paged: Paged) -> None:
    [page] = [r.json() for r in paged.receiver.on("/slack")]
    [actions] = [b for b in page["blocks"] if b["type"] == "actions"]
    buttons = {b["action_id"]: b for b in actions["elements"]}
    assert set(buttons) == {"wk.incident.ack", "wk.incident.resolve", "wk.incident.open"}
    assert buttons["wk.incident.ack"]["value"] == str(paged.incident)
    assert buttons["wk.incident.resolve"]["value"] == str(paged.incident)
    assert buttons["wk.incident.open"]["url"] == f"http://wk.example/incidents/{paged.incident}"


@SQLITE_ONLY
def test_our_hand_signature_is_the_one_slacks_sdk_accepts(paged: Paged) -> None:
    """The test's signer is checked against Slack's own SDK, so both ends are not one mistake."""
    from slack_sdk.signature import Clock, SignatureVerifier

    at = paged.clock.now().timestamp()

    class Then(Clock):
        def now(self) -> float:
            return at

    body = paged.click(SLACK[ANA], "wk.incident.ack", str(paged.incident))
    stamp = str(int(at))
    verifier = SignatureVerifier(SLACK_SECRET, clock=Then())
    assert verifier.is_valid(body, stamp, slack_signature(SLACK_SECRET, stamp, body))
    assert not verifier.is_valid(body, stamp, slack_signature("other", stamp, body))
    reply = paged.slack(body)
    assert reply.status_code == 200 and reply.json()["response_type"] == "in_channel"


def test_acknowledge_acts_as_the_slack_users_person(paged: Paged) -> None:
    reply = paged.slack(paged.click(SLACK[ANA], "wk.incident.ack", str(paged.incident)))
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == f"Incident #{paged.incident} acknowledged via Slack by {ANA}"
    [told] = paged.receiver.on("/slack-response")
    assert told.json() == answer, "a button's answer reaches Slack through its response_url"
    detail = paged.detail()
    assert detail["status"] == "acknowledged" and detail["acknowledged_by"] == ANA
    [entry] = paged.audit("incident.acknowledged")
    assert entry["actor"] == ANA
    told = [e["text"] for e in timeline(detail)]
    assert f"Acknowledged via Slack by {ANA}" in " ".join(told)
    paged.clock.set(paged.clock.now() + timedelta(minutes=1))
    again = paged.slack(paged.click(SLACK[ANA], "wk.incident.ack", str(paged.incident)))
    assert again.json()["response_type"] == "ephemeral"
    assert "already acknowledged" in again.json()["text"]


def test_resolve_says_it_was_slack_on_the_timeline(paged: Paged) -> None:
    reply = paged.slack(paged.click(SLACK[BEN], "wk.incident.resolve", str(paged.incident)))
    assert reply.json()["text"] == f"Incident #{paged.incident} resolved via Slack by {BEN}"
    detail = paged.detail()
    assert detail["status"] == "resolved" and detail["resolved_by"] == BEN
    assert any(
        e["kind"] == "resolved" and e["actor"] == BEN and "via Slack" in e["text"]
        for e in timeline(detail)
    )


@SQLITE_ONLY
def test_the_dashboard_button_is_acknowledged_and_does_nothing(paged: Paged) -> None:
    reply = paged.slack(paged.click(SLACK[UMA], "wk.incident.open", str(paged.incident)))
    assert reply.status_code == 200 and reply.json() == {}
    assert paged.detail()["status"] == "triggered"
    assert paged.refusals() == []


@pytest.mark.parametrize(
    ("timestamp_shift", "secret", "why"),
    [
        (-301, SLACK_SECRET, "more than five minutes"),
        (+301, SLACK_SECRET, "more than five minutes"),
        (0, "not-the-secret", "does not match"),
    ],
)
@SQLITE_ONLY
def test_stale_and_forged_requests_are_refused_and_recorded(
    paged: Paged, timestamp_shift: int, secret: str, why: str
) -> None:
    body = paged.click(SLACK[ANA], "wk.incident.ack", str(paged.incident))
    stamp = int(paged.clock.now().timestamp()) + timestamp_shift
    reply = paged.slack(body, timestamp=stamp, secret=secret)
    assert reply.status_code == 401 and why in reply.json()["detail"]
    assert paged.detail()["status"] == "triggered"
    [refusal] = paged.refusals()
    assert refusal["target"] == "/api/v1/integrations/slack/actions"
    assert why in refusal["reason"]


@SQLITE_ONLY
def test_a_body_altered_after_signing_is_refused(paged: Paged) -> None:
    signed = paged.click(SLACK[UMA], "wk.incident.ack", str(paged.incident))
    stamp = str(int(paged.clock.now().timestamp()))
    altered = paged.click(SLACK[ANA], "wk.incident.ack", str(paged.incident))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(SLACK_SECRET, stamp, signed),
    }
    reply = paged.api(
        "POST", "/api/v1/integrations/slack/actions", content=altered, headers=headers
    )
    assert reply.status_code == 401
    assert paged.detail()["status"] == "triggered"


@SQLITE_ONLY
def test_unsigned_requests_are_refused(paged: Paged) -> None:
    body = paged.click(SLACK[ANA], "wk.incident.ack", str(paged.incident))
    reply = paged.api("POST", "/api/v1/integrations/slack/actions", content=body)
    assert reply.status_code == 401 and "not signed" in reply.json()["detail"]
    assert paged.detail()["status"] == "triggered"


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("UNOBODY01", "not an active person here"),
        (SLACK[IVY], "not an active person here"),  # she left: her Slack account acts for nobody
    ],
)
@SQLITE_ONLY
def test_a_slack_user_who_is_nobody_here_is_refused(paged: Paged, user: str, why: str) -> None:
    reply = paged.slack(paged.click(user, "wk.incident.ack", str(paged.incident)))
    assert reply.status_code == 200
    answer = reply.json()
    assert answer["response_type"] == "ephemeral" and why in answer["text"]
    assert user in answer["text"]
    assert paged.detail()["status"] == "triggered"
    [refusal] = paged.refusals()
    assert user in refusal["reason"]


def test_a_person_without_authority_is_refused_by_the_same_rule(paged: Paged) -> None:
    reply = paged.slack(paged.click(SLACK[UMA], "wk.incident.ack", str(paged.incident)))
    answer = reply.json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Refused:") and "acknowledge incidents of" in answer["text"]
    assert paged.detail()["status"] == "triggered"
    [refusal] = paged.refusals()
    assert refusal["actor"] == UMA and refusal["target"] == f"incident/{paged.incident}"
    [told] = paged.receiver.on("/slack-response")
    assert told.json() == answer


@SQLITE_ONLY
def test_an_unknown_incident_is_refused_and_recorded(paged: Paged) -> None:
    reply = paged.slack(paged.click(SLACK[ANA], "wk.incident.ack", "9999"))
    answer = reply.json()
    assert answer["response_type"] == "ephemeral" and "no incident #9999" in answer["text"]
    [refusal] = paged.refusals()
    assert refusal["actor"] == ANA and "no incident #9999" in refusal["reason"]
    assert paged.detail()["status"] == "triggered"


@pytest.mark.parametrize(
    "body",
    [b"payload=%7Bnot-json", b"nothing=here", b"\xff\xfe"],
)
@SQLITE_ONLY
def test_a_signed_body_that_is_not_a_slack_interaction_is_a_400(paged: Paged, body: bytes) -> None:
    reply = paged.slack(body)
    assert reply.status_code == 400 and "not a Slack interaction" in reply.json()["detail"]


@SQLITE_ONLY
def test_without_a_signing_secret_the_route_says_how_to_set_it_up(
    db_url: str, store: Store
) -> None:
    app = build(Settings(db=db_url), store=store)
    for api in api_for(create_app(app)):
        reply = api("POST", "/api/v1/integrations/slack/actions", content=b"payload=%7B%7D")
        assert reply.status_code == 404
        assert "WATCHKEEPER_SLACK_SIGNING_SECRET" in reply.json()["detail"]


@pytest.mark.parametrize(("field", "value"), [("slack", "ana"), ("pagerduty", "ana@corp")])
def test_a_malformed_chat_id_in_people_yaml_is_refused_naming_the_field(
    field: str, value: str
) -> None:
    from watchkeeper.manifest import ManifestError, load_text

    people = (
        "apiVersion: watchkeeper/v1\nkind: People\n"
        f"people:\n  - {{email: ana@corp.example, {field}: {value!r}}}\n"
    )
    with pytest.raises(ManifestError) as refused:
        load_text(people)
    [problem] = refused.value.problems
    assert field in problem.message and problem.location.line == 4
