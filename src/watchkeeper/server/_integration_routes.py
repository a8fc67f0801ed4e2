"""Where owners already work: Slack's incident buttons and PagerDuty's two-way webhooks.

Neither caller holds an API token. Each proves its origin by signing the raw body with a secret
set on this server (Slack's v0 signature with its five-minute replay window; PagerDuty's v1
signatures, any of several passing), and names who acted in its own terms: a Slack user id, a
PagerDuty user id. That id is mapped to a person by the `slack:` / `pagerduty:` field of their
people-manifest entry, and the action is taken by `Operations` acting as that person — decided
by the same rule as the dashboard's button or `wk incident ack`. Whatever cannot be verified,
mapped or allowed is refused, audited as `server/_refusals.py` does, and changes nothing.

The answers follow each protocol. Slack shows the body of a 200 to the user who pressed the
button, so a refusal is an ephemeral message saying why. PagerDuty reads only the status and
retries anything but a 2xx, and a subscription that keeps failing is disabled: a refusal of an
event it delivered faithfully (an incident that is not ours, a user nobody mapped) is a 200
that says so, since a retry could not succeed and a disabled subscription would lose the
events that can.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from watchkeeper.access import Refused
from watchkeeper.alerting.notifiers import SLACK_ACK, SLACK_OPEN, SLACK_RESOLVE, incident_of_key
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.server._models import ErrorOut
from watchkeeper.server._refusals import record_refusal
from watchkeeper.store import PersonRecord

SLACK_WINDOW = 300  # seconds either side of our clock a Slack request may be dated (Slack's own)
Verb = Literal["ack", "resolve"]
Status = Literal["done", "unchanged", "refused"]
integrations = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


class SlackAnswerOut(BaseModel):
    """A Slack message for the user who pressed the button (empty for the dashboard link)."""

    model_config = ConfigDict(extra="allow")
    response_type: Literal["in_channel", "ephemeral"] | None = None
    replace_original: bool | None = None
    text: str | None = None


class PagerDutyAnswerOut(BaseModel):
    """PagerDuty reads only the status; the body is for whoever reads its delivery log."""

    model_config = ConfigDict(extra="allow")
    status: Literal["done", "unchanged", "refused", "ignored"]
    detail: str


@dataclass(frozen=True)
class Act:
    """One thing a chat or paging tool asks of an incident, as whom (their id there)."""

    verb: Verb
    incident: int
    who: str  # the Slack or PagerDuty user id
    channel: Literal["slack", "pagerduty"]
    reply_to: str | None = None  # Slack's response_url for this press


# --- signatures (pure) ------------------------------------------------------------------------


def slack_refusal(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> str | None:
    """Why a request does not come from Slack (None: it does): `v0=` HMAC-SHA256 of
    `v0:<timestamp>:<body>` under the signing secret, dated within five minutes of `now`, so a
    captured request cannot be replayed later."""
    if not timestamp or not signature:
        return "not signed: X-Slack-Request-Timestamp and X-Slack-Signature are required"
    if not timestamp.isdigit():
        return "X-Slack-Request-Timestamp is not a unix time"
    if abs(now.timestamp() - int(timestamp)) > SLACK_WINDOW:
        return "X-Slack-Request-Timestamp is more than five minutes from this server's clock"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "X-Slack-Signature does not match this server's Slack signing secret"
    return None


def pagerduty_refusal(secret: str, header: str | None, body: bytes) -> str | None:
    """Why a request does not come from PagerDuty (None: it does): one of the comma-separated
    `v1=` signatures (several while a secret is being rotated) is HMAC-SHA256 of the body."""
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    offered = [s.strip() for s in (header or "").split(",") if s.strip()]
    if not offered:
        return "not signed: X-PagerDuty-Signature is required"
    if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in offered):
        return "X-PagerDuty-Signature does not match this server's PagerDuty webhook secret"
    return None


# --- what was asked (pure) --------------------------------------------------------------------


class Unreadable(ValueError):
    """The body is not what the protocol sends."""


def slack_act(body: bytes) -> Act | None:
    """The button pressed, from Slack's form-encoded `payload`; None for a button that asks
    nothing of us (the dashboard link, which Slack reports too)."""
    try:
        form = parse_qs(body.decode(), strict_parsing=True)
        payload = json.loads(form["payload"][0])
        user = str(payload["user"]["id"])
        action = payload["actions"][0]
        action_id, value = action["action_id"], str(action.get("value", ""))
        reply_to = payload.get("response_url")
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise Unreadable(
            f"not a Slack interaction: the payload field is malformed ({exc})"
        ) from None
    verbs: dict[str, Verb] = {SLACK_ACK: "ack", SLACK_RESOLVE: "resolve"}
    if action_id == SLACK_OPEN:
        return None
    if action_id not in verbs:
        raise Unreadable(f"unknown action {action_id!r}")
    if not value.isdigit():
        raise Unreadable(f"the button's value {value!r} is not an incident number")
    reply_to = reply_to if isinstance(reply_to, str) and reply_to.startswith("http") else None
    return Act(verbs[action_id], int(value), user, "slack", reply_to)


@dataclass(frozen=True)
class PagerDutyEvent:
    """What PagerDuty tells: which verb (None for event types we leave alone), the incident
    key its incident was triggered with, and who acted (None when no user did)."""

    event_type: str
    verb: Verb | None
    incident_key: str | None
    incident: str
    agent: str | None


def pagerduty_event(body: bytes) -> PagerDutyEvent:
    """The event in a v3 webhook's body (one event per webhook)."""
    try:
        event = json.loads(body)["event"]
        event_type = str(event["event_type"])
        data = event.get("data") or {}
        agent = event.get("agent") or {}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"not a PagerDuty v3 webhook: {exc}") from None
    verbs: dict[str, Verb] = {"incident.acknowledged": "ack", "incident.resolved": "resolve"}
    by_user = isinstance(agent, dict) and agent.get("type") == "user_reference"
    return PagerDutyEvent(
        event_type,
        verbs.get(event_type),
        str(data["incident_key"]) if isinstance(data, dict) and data.get("incident_key") else None,
        str(data.get("id", "?")) if isinstance(data, dict) else "?",
        str(agent["id"]) if by_user and agent.get("id") else None,
    )


def mapped(people: Sequence[PersonRecord], field: Literal["slack", "pagerduty"], who: str) -> str:
    """The one active person whose `field` is `who`; raises with why not."""
    found = [p.email for p in people if p.active and getattr(p, field) == who]
    if len(found) > 1:
        raise ActionError("forbidden", f"{field} user {who} is mapped to {', '.join(found)}")
    if not found:
        raise ActionError(
            "forbidden",
            f"{field} user {who} is not an active person here: add `{field}: {who}` to their "
            "entry in the people manifest",
        )
    return found[0]


WORDS = {
    ("ack", "slack"): "acknowledged via Slack",
    ("resolve", "slack"): "resolved via Slack",
    ("ack", "pagerduty"): "acknowledged in PagerDuty",
    ("resolve", "pagerduty"): "resolved in PagerDuty",
}


def outcome(
    act: Act, person: str, incident: Mapping[str, Any], now: datetime
) -> tuple[Status, str]:
    """Whether this act changed the incident (acting twice changes nothing), and in words."""
    status = incident["status"]
    by, at = (
        (incident["resolved_by"], incident["resolved_at"])
        if status == "resolved"
        else (incident["acknowledged_by"], incident["acknowledged_at"])
    )
    number = f"Incident #{act.incident}"
    if (by, at) == (person, now.isoformat()):
        return "done", f"{number} {WORDS[act.verb, act.channel]} by {person}"
    return "unchanged", f"{number} was already {status} by {by}"


# --- the routes -------------------------------------------------------------------------------


def _unconfigured(what: str, setting: str) -> JSONResponse:
    """Without its secret an integration is not there: nothing it sent could be believed."""
    detail = f"{what} is not set up on this server: set {setting}"
    return JSONResponse({"kind": "not_found", "detail": detail}, status_code=404)


def _refused(request: Request, reason: str, status: int) -> JSONResponse:
    """An unverified caller: audited through the noise gate, as a bad API token is."""
    record_refusal(request, reason)
    kind = "unauthenticated" if status == 401 else "invalid"
    return JSONResponse({"kind": kind, "detail": reason}, status_code=status)


@integrations.post(
    "/slack/actions",
    response_model=SlackAnswerOut,
    responses={
        200: {"description": "A Slack message: the outcome, or (ephemeral) why not"},
        400: {"model": ErrorOut, "description": "Signed, but not a Slack interaction"},
        401: {
            "model": ErrorOut,
            "description": "Not signed by Slack, or dated outside five minutes (recorded)",
        },
        404: {"model": ErrorOut, "description": "WATCHKEEPER_SLACK_SIGNING_SECRET is not set"},
    },
)
async def slack_actions(request: Request) -> JSONResponse:
    """Slack's interactivity request URL: a button of an incident message (acknowledge,
    resolve) pressed by a Slack user, acted on as the person whose `slack:` is that user."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    secret = watchkeeper.settings.slack_signing_secret
    if not secret:
        return _unconfigured("Slack actions", "WATCHKEEPER_SLACK_SIGNING_SECRET")
    body = await request.body()
    now = request.state.now = watchkeeper.clock.now()
    headers = request.headers
    signature = headers.get("x-slack-signature")
    refusal = slack_refusal(secret, headers.get("x-slack-request-timestamp"), signature, body, now)
    if refusal:
        return await run_in_threadpool(_refused, request, refusal, 401)
    try:
        act = slack_act(body)
    except Unreadable as exc:
        return await run_in_threadpool(_refused, request, str(exc), 400)
    if act is None:
        return JSONResponse({})
    status, text = await run_in_threadpool(_act, request, act, now)
    seen_by = "in_channel" if status == "done" else "ephemeral"  # for the presser's eyes only
    answer = {"response_type": seen_by, "replace_original": False, "text": text}
    http = watchkeeper.courier.http
    told = BackgroundTask(_tell_slack, http, act.reply_to, answer) if act.reply_to else None
    return JSONResponse(answer, background=told)


def _tell_slack(http: httpx.Client, url: str, answer: dict[str, Any]) -> None:
    """The answer again, to the press's response_url once the request is answered: Slack shows
    the body of the answer to some interactions, and a button's only through this URL. The URL
    came in a request Slack signed. Best effort: the outcome is already recorded here."""
    try:
        http.post(url, json=answer)
    except httpx.HTTPError:
        return


@integrations.post(
    "/pagerduty/webhook",
    response_model=PagerDutyAnswerOut,
    responses={
        200: {"description": "Handled, ignored or refused (refusals recorded): see `status`"},
        400: {"model": ErrorOut, "description": "Signed, but not a PagerDuty v3 webhook"},
        401: {
            "model": ErrorOut,
            "description": "Not signed with the subscription's secret (recorded)",
        },
        404: {
            "model": ErrorOut,
            "description": "WATCHKEEPER_PAGERDUTY_WEBHOOK_SECRET is not set",
        },
    },
)
async def pagerduty_webhook(request: Request) -> JSONResponse:
    """A PagerDuty v3 webhook subscription's URL: `incident.acknowledged` and
    `incident.resolved` of an incident Watchkeeper triggered (its `incident_key`) acknowledge or
    resolve it here as the person whose `pagerduty:` is the PagerDuty user who acted. Other event
    types are ignored."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    secret = watchkeeper.settings.pagerduty_webhook_secret
    if not secret:
        return _unconfigured("PagerDuty webhooks", "WATCHKEEPER_PAGERDUTY_WEBHOOK_SECRET")
    body = await request.body()
    now = request.state.now = watchkeeper.clock.now()
    refusal = pagerduty_refusal(secret, request.headers.get("x-pagerduty-signature"), body)
    if refusal:
        return await run_in_threadpool(_refused, request, refusal, 401)
    try:
        event = pagerduty_event(body)
    except Unreadable as exc:
        return await run_in_threadpool(_refused, request, str(exc), 400)
    if event.verb is None:
        return JSONResponse({"status": "ignored", "detail": f"{event.event_type} is not acted on"})
    status, text = await run_in_threadpool(_from_pagerduty, request, event, now)
    return JSONResponse({"status": status, "detail": text})


def _from_pagerduty(request: Request, event: PagerDutyEvent, now: datetime) -> tuple[Status, str]:
    """Our incident behind PagerDuty's, then the act as the PagerDuty user's person. An incident
    already where the event says it is asks nothing: that is PagerDuty echoing what we told it
    (our acknowledge or resolve event), and its agent is our integration, not a person."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    ours = incident_of_key(event.incident_key)
    reason = f"PagerDuty incident {event.incident} (incident_key {event.incident_key!r}) "
    try:
        incident = watchkeeper.alerting.incident_detail(ours[1]) if ours else None
    except ActionError:
        incident = None
    if ours is None or incident is None or incident["system"] != ours[0]:
        refusal = reason + "is not an incident Watchkeeper raised"
        record_refusal(request, refusal)
        return "refused", refusal
    wanted = {"ack": ("acknowledged", "resolved"), "resolve": ("resolved",)}
    assert event.verb is not None
    if incident["status"] in wanted[event.verb]:
        return "unchanged", f"incident #{ours[1]} is already {incident['status']}"
    if event.agent is None:
        refusal = reason + "was changed by no PagerDuty user: nobody to act as here"
        record_refusal(request, refusal)
        return "refused", refusal
    act = Act(event.verb, ours[1], event.agent, "pagerduty")
    return _act(request, act, now)


def _act(request: Request, act: Act, now: datetime) -> tuple[Status, str]:
    """Map, then act as the person; every refusal recorded (the authority's own by `access`)."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    with watchkeeper.store.read() as unit:
        people = unit.people()
    try:
        person = mapped(people, act.channel, act.who)
    except ActionError as exc:
        record_refusal(request, exc.message)
        return "refused", exc.message
    request.state.actor = person
    ops = Operations(watchkeeper, person, now, enforce=True)
    how = WORDS[act.verb, act.channel]
    verbs: dict[Verb, Callable[[], dict[str, Any]]] = {
        "ack": lambda: ops.incident_ack(act.incident, act.channel),
        "resolve": lambda: ops.incident_resolve(act.incident, how, act.channel),
    }
    try:
        incident = verbs[act.verb]()
    except Refused as exc:
        return "refused", f"Refused: {exc.message}"
    except ActionError as exc:
        record_refusal(request, exc.message)
        return "refused", f"Refused: {exc.message}"
    return outcome(act, person, incident, now)
