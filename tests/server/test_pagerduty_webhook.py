"""PagerDuty two-way, end to end: a v3 webhook (signed here by hand from PagerDuty's published
scheme) acknowledging or resolving the PagerDuty incident Watchkeeper triggered does so here, as
the PagerDuty user's person and through the same authority; our own event back to PagerDuty is
the idempotent acknowledge/resolve of the same dedup key, and its echo changes nothing. Forged
webhooks, incidents we never raised, unmapped users and people without authority are refused,
recorded, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import SQLITE_ONLY
from tests.server._chat import (
    ANA,
    BEN,
    PAGERDUTY,
    PD_SECRET,
    UMA,
    Paged,
    paged_incident,
    pagerduty_signature,
    pagerduty_webhook,
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


def key(paged: Paged) -> str:
    """The dedup key PagerDuty was triggered with, as our page sent it."""
    trigger = paged.receiver.on("/v2/enqueue")[0].json()
    assert trigger["event_action"] == "trigger"
    return str(trigger["dedup_key"])


def sent_to_pagerduty(paged: Paged) -> list[str]:
    return [r.json()["event_action"] for r in paged.receiver.on("/v2/enqueue")]


def test_acknowledged_in_pagerduty_acknowledges_here_as_the_mapped_person(paged: Paged) -> None:
    body = pagerduty_webhook("incident.acknowledged", key(paged), PAGERDUTY[ANA])
    reply = paged.pagerduty(body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "done"
    assert (
        reply.json()["detail"] == f"Incident #{paged.incident} acknowledged in PagerDuty by {ANA}"
    )
    detail = paged.detail()
    assert detail["status"] == "acknowledged" and detail["acknowledged_by"] == ANA
    assert detail["timeline"][-1]["detail"] == {"via": "pagerduty"}
    [entry] = paged.audit("incident.acknowledged")
    assert entry["actor"] == ANA
    # we tell PagerDuty too, with the same key: acknowledging an acknowledged incident there
    # changes nothing, and its echo changes nothing here
    assert sent_to_pagerduty(paged) == ["trigger", "acknowledge"]
    echo = paged.pagerduty(pagerduty_webhook("incident.acknowledged", key(paged), None))
    assert echo.json()["status"] == "unchanged"
    assert sent_to_pagerduty(paged) == ["trigger", "acknowledge"]
    assert paged.refusals() == []


def test_resolved_in_pagerduty_resolves_here_and_the_timeline_says_so(paged: Paged) -> None:
    reply = paged.pagerduty(pagerduty_webhook("incident.resolved", key(paged), PAGERDUTY[BEN]))
    assert reply.json()["status"] == "done"
    detail = paged.detail()
    assert detail["status"] == "resolved" and detail["resolved_by"] == BEN
    assert any(
        e["kind"] == "resolved" and e["actor"] == BEN and "in PagerDuty" in e["text"]
        for e in timeline(detail)
    )
    assert sent_to_pagerduty(paged) == ["trigger", "resolve"]
    late_ack = paged.pagerduty(
        pagerduty_webhook("incident.acknowledged", key(paged), PAGERDUTY[ANA])
    )
    assert late_ack.json()["status"] == "unchanged"
    assert paged.detail()["status"] == "resolved"


@SQLITE_ONLY
def test_any_of_several_signatures_passes(paged: Paged) -> None:
    body = pagerduty_webhook("incident.acknowledged", key(paged), PAGERDUTY[ANA])
    rotated = f"v1={'0' * 64}, {pagerduty_signature(PD_SECRET, body)}"
    reply = paged.pagerduty(body, signature=rotated)
    assert reply.status_code == 200 and reply.json()["status"] == "done"


@pytest.mark.parametrize(
    "signature",
    [
        "v1=" + "0" * 64,
        "v0=whatever",
        " , ",
    ],
)
@SQLITE_ONLY
def test_a_forged_webhook_is_refused_and_recorded(paged: Paged, signature: str) -> None:
    body = pagerduty_webhook("incident.resolved", key(paged), PAGERDUTY[ANA])
    reply = paged.pagerduty(body, signature=signature)
    assert reply.status_code == 401
    assert paged.detail()["status"] == "triggered"
    [refusal] = paged.refusals()
    assert refusal["target"] == "/api/v1/integrations/pagerduty/webhook"


@SQLITE_ONLY
def test_a_signature_under_another_secret_is_refused(paged: Paged) -> None:
    body = pagerduty_webhook("incident.resolved", key(paged), PAGERDUTY[ANA])
    reply = paged.pagerduty(body, signature=pagerduty_signature("another", body))
    assert reply.status_code == 401 and "does not match" in reply.json()["detail"]
    assert paged.detail()["status"] == "triggered"


@pytest.mark.parametrize(
    "incident_key",
    [
        "d3640fbd41094207a1c11e58e46b1662",  # an incident some other tool triggered
        "watchkeeper/bot/incident/9999",  # ours in form, unknown here
        "watchkeeper/other/incident/1",  # a number we know, under another system
        None,
    ],
)
@SQLITE_ONLY
def test_an_incident_we_did_not_raise_is_a_recorded_refusal_pagerduty_need_not_retry(
    paged: Paged, incident_key: str | None
) -> None:
    reply = paged.pagerduty(pagerduty_webhook("incident.resolved", incident_key, PAGERDUTY[ANA]))
    assert reply.status_code == 200, "a retry could not succeed: PagerDuty is told it arrived"
    assert reply.json()["status"] == "refused"
    assert "is not an incident Watchkeeper raised" in reply.json()["detail"]
    assert paged.detail()["status"] == "triggered"
    [refusal] = paged.refusals()
    assert "is not an incident Watchkeeper raised" in refusal["reason"]


def test_an_unmapped_pagerduty_user_is_refused(paged: Paged) -> None:
    reply = paged.pagerduty(pagerduty_webhook("incident.acknowledged", key(paged), "PNOBODY"))
    assert reply.json()["status"] == "refused" and "PNOBODY" in reply.json()["detail"]
    assert paged.detail()["status"] == "triggered"
    [refusal] = paged.refusals()
    assert "PNOBODY" in refusal["reason"]


def test_a_change_by_no_user_is_refused_when_it_would_change_something(paged: Paged) -> None:
    reply = paged.pagerduty(pagerduty_webhook("incident.resolved", key(paged), None))
    assert reply.json()["status"] == "refused" and "no PagerDuty user" in reply.json()["detail"]
    assert paged.detail()["status"] == "triggered"


def test_a_person_without_authority_is_refused_by_the_same_rule(paged: Paged) -> None:
    reply = paged.pagerduty(pagerduty_webhook("incident.resolved", key(paged), PAGERDUTY[UMA]))
    assert reply.json()["status"] == "refused"
    assert "resolve incidents of" in reply.json()["detail"]
    assert paged.detail()["status"] == "triggered"
    [refusal] = paged.refusals()
    assert refusal["actor"] == UMA


@SQLITE_ONLY
def test_other_event_types_are_ignored(paged: Paged) -> None:
    for event_type in ("incident.triggered", "incident.escalated", "service.updated"):
        reply = paged.pagerduty(pagerduty_webhook(event_type, key(paged), PAGERDUTY[ANA]))
        assert reply.status_code == 200 and reply.json()["status"] == "ignored"
    assert paged.detail()["status"] == "triggered"
    assert paged.refusals() == []


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"event": []}'])
@SQLITE_ONLY
def test_a_signed_body_that_is_not_a_webhook_is_a_400(paged: Paged, body: bytes) -> None:
    reply = paged.pagerduty(body)
    assert reply.status_code == 400 and "not a PagerDuty v3 webhook" in reply.json()["detail"]


@SQLITE_ONLY
def test_without_a_secret_the_route_says_how_to_set_it_up(db_url: str, store: Store) -> None:
    app = build(Settings(db=db_url), store=store)
    for api in api_for(create_app(app)):
        reply = api("POST", "/api/v1/integrations/pagerduty/webhook", content=b"{}")
        assert reply.status_code == 404
        assert "WATCHKEEPER_PAGERDUTY_WEBHOOK_SECRET" in reply.json()["detail"]
