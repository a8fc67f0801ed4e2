"""Routes for quality work — findings, incidents, silences, the scheduler, evals, reviews,
reports, care, knowledge and triage — plus `/metrics` for existing Prometheus dashboards.
Thin like the others: validate, call `Operations`, return its dicts."""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.access import Operations
from watchkeeper.alerting.courier import ack_signature
from watchkeeper.app import Watchkeeper
from watchkeeper.care import report as reports
from watchkeeper.errors import ActionError
from watchkeeper.server._metrics import render_metrics
from watchkeeper.server._models import NO_NUL
from watchkeeper.server._routes import _ERRORS, Acting, SystemName

quality = APIRouter(prefix="/api/v1", responses=_ERRORS)
metrics = APIRouter(tags=["health"])
Text = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
Short = Annotated[str, Field(max_length=200, pattern=NO_NUL)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolveIn(_In):
    reason: Text = ""


class SeriousIn(_In):
    kind: Literal["default", "widespread", "critical-infrastructure", "death"] = "default"


class SilenceIn(_In):
    system: Short | None = None
    matchers: dict[Short, Short] = Field(default_factory=dict, max_length=20)
    hours: float = Field(gt=0, le=24 * 90)
    reason: Text = Field(min_length=1)
    kind: Literal["silence", "maintenance"] = "silence"


class EvalRunIn(_In):
    suite: Short | None = None


class ReviewIn(_In):
    verdict: Literal["healthy", "concerns", "action-needed"]
    notes: Text = ""
    days: int = Field(default=30, ge=1, le=366)


class CareIn(_In):
    hours: float = Field(gt=0, le=744)
    kind: Literal["maintenance", "eval", "review", "retraining", "triage"]
    note: Text = ""


class RecordIn(_In):
    kind: Literal["decision", "failure-mode", "near-miss", "postmortem"]
    title: Short
    fields: dict[Short, Text | list[Text]] = Field(default_factory=dict, max_length=30)
    closes: int | None = Field(default=None, ge=1)
    incident_id: int | None = Field(default=None, ge=1)


class VerdictIn(_In):
    verdict: Literal["ok", "wrong", "harmful", "unclear"]
    label: Short | None = None
    tags: list[Short] = Field(default_factory=list, max_length=20)
    note: Text | None = None


IncidentId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="An incident's number")]
ItemId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="A triage item's number")]


@quality.get("/findings", tags=["monitoring"])
def findings(
    ops: Acting, system: Short | None = None, limit: int = Query(200, ge=1, le=5000)
) -> Any:
    """What the checks found, newest first, with evidence."""
    return ops.findings(system, limit)


@quality.post("/systems/{name}/check", tags=["monitoring"])
def check(name: SystemName, ops: Acting) -> dict[str, Any]:
    """Evaluate one system's due windows now."""
    return ops.check(name)


@quality.post("/tick", tags=["monitoring"])
def tick(ops: Acting) -> dict[str, Any]:
    """Run the scheduler once (admins; servers tick by themselves)."""
    return ops.tick()


@quality.get("/incidents", tags=["incidents"])
def incidents(ops: Acting, system: Short | None = None, open: bool = False) -> Any:
    return ops.incidents(system, open)


@quality.get("/incidents/{incident_id}", tags=["incidents"])
def incident(incident_id: IncidentId, ops: Acting) -> dict[str, Any]:
    """An incident with its alerts, escalation timeline and every delivery attempt."""
    return ops.incident(incident_id)


@quality.post("/incidents/{incident_id}/ack", tags=["incidents"])
def incident_ack(incident_id: IncidentId, ops: Acting) -> dict[str, Any]:
    """Acknowledge: stops the escalation. Anyone on the path or in the charter may."""
    return ops.incident_ack(incident_id)


@quality.get("/incidents/{incident_id}/ack", tags=["incidents"])
def incident_ack_link(
    incident_id: IncidentId,
    request: Request,
    by: Annotated[str, Query(max_length=254, pattern=NO_NUL)],
    sig: Annotated[str, Query(max_length=64, pattern=NO_NUL)],
) -> dict[str, Any]:
    """The acknowledge link inside each notification: signed for its recipient, no token."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    secret = watchkeeper.courier.secret
    if not secret or not hmac.compare_digest(sig, ack_signature(secret, incident_id, by)):
        raise ActionError("forbidden", "this acknowledge link is not valid (wrong or old link)")
    ops = Operations(watchkeeper, by, watchkeeper.clock.now(), enforce=False)
    row = ops.incident_ack(incident_id)
    return {**row, "message": f"Incident #{row['id']} on {row['system']} acknowledged by {by}."}


@quality.post("/incidents/{incident_id}/resolve", tags=["incidents"])
def incident_resolve(incident_id: IncidentId, body: ResolveIn, ops: Acting) -> dict[str, Any]:
    return ops.incident_resolve(incident_id, body.reason)


@quality.post("/incidents/{incident_id}/serious", tags=["incidents"])
def incident_serious(incident_id: IncidentId, body: SeriousIn, ops: Acting) -> dict[str, Any]:
    """Classify as serious (EU AI Act Art. 3(49)); the Art. 73 deadline is computed."""
    return ops.incident_serious(incident_id, body.kind)


@quality.post("/silences", tags=["incidents"], status_code=201)
def silence(body: SilenceIn, ops: Acting) -> dict[str, Any]:
    return ops.silence(body.system, dict(body.matchers), body.hours, body.reason, body.kind)


@quality.post("/systems/{name}/evals", tags=["care"])
def eval_run(name: SystemName, body: EvalRunIn, ops: Acting) -> list[dict[str, Any]]:
    """Run the system's golden set(s) on the server and diff against the previous run."""
    return ops.eval_run(name, body.suite)


@quality.post("/systems/{name}/reviews", tags=["care"], status_code=201)
def review(name: SystemName, body: ReviewIn, ops: Acting) -> dict[str, Any]:
    """The owner signs off the period report with a verdict."""
    return ops.review(name, body.verdict, body.notes, body.days)


@quality.get(
    "/systems/{name}/report",
    tags=["care"],
    responses={
        200: {
            "description": "The period report (`format` chooses JSON, Markdown or HTML)",
            "content": {"application/json": {}, "text/markdown": {}, "text/html": {}},
        }
    },
)
def report(
    name: SystemName,
    ops: Acting,
    days: int = Query(30, ge=1, le=366),
    format: Literal["json", "md", "html"] = "json",
) -> Any:
    data = ops.report(name, days)
    if format == "md":
        return PlainTextResponse(reports.markdown(data), media_type="text/markdown")
    if format == "html":
        return HTMLResponse(reports.html_page(data))
    return data


@quality.post("/systems/{name}/care", tags=["care"], status_code=201)
def care_log(name: SystemName, body: CareIn, ops: Acting) -> dict[str, Any]:
    return ops.care_log(name, body.hours, body.kind, body.note)


@quality.get("/systems/{name}/care", tags=["care"])
def care_ledger(name: SystemName, ops: Acting) -> dict[str, Any]:
    return ops.care_ledger(name)


@quality.get("/systems/{name}/knowledge", tags=["care"])
def knowledge(name: SystemName, ops: Acting) -> list[dict[str, Any]]:
    return ops.knowledge(name)


@quality.post("/systems/{name}/knowledge", tags=["care"], status_code=201)
def record(name: SystemName, body: RecordIn, ops: Acting) -> dict[str, Any]:
    """A decision, failure mode, near-miss or postmortem; `closes` settles a pending decision."""
    return ops.record(body.kind, name, body.title, dict(body.fields), body.incident_id, body.closes)


@quality.get("/systems/{name}/triage", tags=["triage"])
def triage_queue(name: SystemName, ops: Acting, all: bool = False) -> list[dict[str, Any]]:
    return ops.triage_queue(name, None if all else "open")


@quality.post("/triage/{item_id}/verdict", tags=["triage"])
def triage_verdict(item_id: ItemId, body: VerdictIn, ops: Acting) -> dict[str, Any]:
    """ok, wrong, harmful (tells every kill authority at once) or unclear."""
    return ops.triage_verdict(item_id, body.verdict, body.label, list(body.tags), body.note)


@metrics.get("/metrics", response_class=PlainTextResponse)
def prometheus(request: Request) -> PlainTextResponse:
    """Prometheus text format: signal values, open incidents, switch states, vacuum scores,
    notification failures. Unauthenticated, like most exporters: it holds no personal data."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    body = render_metrics(watchkeeper, watchkeeper.clock.now())
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")
