"""Routes for quality work — findings, incidents, silences, the scheduler, evals, reviews,
reports, care, knowledge and triage — plus `/metrics` for existing Prometheus dashboards.
Thin like the others: validate, call `Operations`, return its dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from watchkeeper.alerting.courier import AckLink, ack_link_refusal, used_link_refusal
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.care import report as reports
from watchkeeper.errors import ActionError
from watchkeeper.scheduler import TickReport
from watchkeeper.server._metrics import render_metrics
from watchkeeper.server._models import (
    NO_NUL,
    CareEntryOut,
    CareLedgerOut,
    CheckReportOut,
    EvalOutcomeOut,
    EvalSuiteOut,
    EvalUploadIn,
    HoldChangeOut,
    IncidentDetailOut,
    IncidentOut,
    KnowledgeOut,
    ReportOut,
    ReviewOut,
    SeriousReportOut,
    SignalOut,
    SilenceOut,
    StoredFindingOut,
    TickOut,
    TriageItemOut,
)
from watchkeeper.server._routes import ERRORS, Acting, SystemName
from watchkeeper.server.dashboard import FormTooLarge, page, read_form

quality = APIRouter(prefix="/api/v1", responses=ERRORS)
metrics = APIRouter(tags=["health"])
Text = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
Short = Annotated[str, Field(max_length=200, pattern=NO_NUL)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolveIn(_In):
    reason: Text = ""


class SeriousIn(_In):
    category: Literal["a", "b", "c", "d"] = Field(
        description="The point of EU AI Act Art. 3(49) the incident led to: (a) the death of a "
        "person or serious harm to a person's health, (b) a serious and irreversible disruption "
        "of critical infrastructure, (c) an infringement of obligations under Union law "
        "intended to protect fundamental rights, (d) serious harm to property or the environment"
    )
    death: bool = Field(default=False, description="A death (only with (a)): Art. 73(4)")
    widespread: bool = Field(
        default=False, description="A widespread infringement (Art. 3(61)): Art. 73(3)"
    )
    aware_at: datetime | None = Field(
        default=None,
        description="When the provider or deployer became aware (Art. 73(2)); default now, "
        "never in the future",
    )


class SubmittedIn(_In):
    complete: bool = Field(
        default=False, description="The complete report (Art. 73(5)); else the initial one"
    )
    reference: Short | None = Field(
        default=None, description="The authority's reference for it, if it gave one"
    )


class JustificationIn(_In):
    text: str = Field(min_length=1, max_length=2000, pattern=NO_NUL, description="Why")


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
    closes: int | None = Field(default=None, ge=1, le=2**31 - 1)
    incident_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class VerdictIn(_In):
    verdict: Literal["ok", "wrong", "harmful", "unclear"]
    label: Short | None = None
    tags: list[Short] = Field(default_factory=list, max_length=20)
    note: Text | None = None


IncidentId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="An incident's number")]
ItemId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="A triage item's number")]
ChangeId = Annotated[
    int, PathParam(ge=1, le=2**63 - 1, description="A change's number under an evidence hold")
]


@quality.get("/findings", response_model=list[StoredFindingOut], tags=["monitoring"])
def findings(
    ops: Acting, system: Short | None = None, limit: int = Query(200, ge=1, le=5000)
) -> list[dict[str, Any]]:
    """What the checks found, newest first, with evidence."""
    return ops.findings(system, limit)


@quality.get("/systems/{name}/signals", response_model=list[SignalOut], tags=["monitoring"])
def signals(
    name: SystemName,
    ops: Acting,
    signal: Short | None = None,
    limit: int = Query(100, ge=1, le=400),
) -> list[dict[str, Any]]:
    """Each signal's newest windows, oldest first: value and rows, and for an estimated metric
    its interval and the metric realized on the labels that have come since."""
    return ops.signals(name, signal, limit)


@quality.post("/systems/{name}/check", response_model=CheckReportOut, tags=["monitoring"])
def check(name: SystemName, ops: Acting) -> dict[str, Any]:
    """What the checks conclude for one system's current windows. Read-only: nothing is
    recorded or alerted (the scheduler's tick does that)."""
    return ops.check(name)


# a tick that did not run (another process holds it) has no job lines: they stay absent
@quality.post(
    "/tick", response_model=TickOut, response_model_exclude_unset=True, tags=["monitoring"]
)
def tick(ops: Acting) -> dict[str, Any]:
    """Run the scheduler once (admins; servers tick by themselves)."""
    return ops.tick()


@quality.get("/incidents", response_model=list[IncidentOut], tags=["incidents"])
def incidents(ops: Acting, system: Short | None = None, open: bool = False) -> list[dict[str, Any]]:
    return ops.incidents(system, open)


@quality.get("/incidents/{incident_id}", response_model=IncidentDetailOut, tags=["incidents"])
def incident(incident_id: IncidentId, ops: Acting) -> dict[str, Any]:
    """An incident with its alerts, escalation timeline and every delivery attempt."""
    return ops.incident(incident_id)


@quality.post("/incidents/{incident_id}/ack", response_model=IncidentOut, tags=["incidents"])
def incident_ack(incident_id: IncidentId, ops: Acting) -> dict[str, Any]:
    """Acknowledge: stops the escalation. Anyone on the path or in the charter may."""
    return ops.incident_ack(incident_id)


_YEAR_9999 = 253_402_300_799  # the last second a datetime holds


class AckLinkIn(BaseModel):
    """An acknowledge link's signed fields: its query string, and its page's form."""

    by: Annotated[str, Field(max_length=254, pattern=NO_NUL)]
    exp: int = Field(ge=0, le=_YEAR_9999, description="Unix seconds after which the link is void")
    link: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
    sig: Annotated[str, Field(max_length=128, pattern=NO_NUL)]


async def _posted_link(request: Request) -> AckLinkIn:
    """The confirmation form's fields, checked as the link's query is (a 400 names the field)."""
    try:
        return AckLinkIn.model_validate(await read_form(request))
    except FormTooLarge:
        raise ActionError("invalid", "the acknowledge form is too large") from None
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


def _checked_link(
    watchkeeper: Watchkeeper, incident_id: int, fields: AckLinkIn, now: datetime
) -> AckLink:
    """The link, if it may act now; else a 403 that says why (and is audited)."""
    link = AckLink(incident_id, fields.by, fields.exp, fields.link)
    with watchkeeper.store.read() as unit:
        person = unit.person(link.recipient)
        used = unit.alerting.ack_link_used(link.link)
    active = person is not None and person.active
    secret = watchkeeper.courier.secret
    refusal = ack_link_refusal(link, fields.sig, secret, now, active=active, used=used)
    if refusal:
        raise ActionError("forbidden", refusal)
    return link


def _ack_page(
    watchkeeper: Watchkeeper, link: AckLink, sig: str, done: str | None = None
) -> HTMLResponse:
    incident = watchkeeper.alerting.incident_detail(link.incident_id)
    return page(
        "ack_link.html", incident=incident, link=link, sig=sig, done=done, me=None, csrf=None
    )


_LINK_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"description": "A page for a person's browser", "content": {"text/html": {}}}
}


@quality.get("/incidents/{incident_id}/ack", tags=["incidents"], responses=_LINK_PAGE)
def incident_ack_link(
    incident_id: IncidentId, request: Request, fields: Annotated[AckLinkIn, Query()]
) -> HTMLResponse:
    """The acknowledge link in each notification opens this page, which changes nothing (mail
    scanners open links too): only its form, posted, acknowledges. Signed for its recipient,
    no token; void once expired, used, or its recipient has left."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    link = _checked_link(watchkeeper, incident_id, fields, watchkeeper.clock.now())
    return _ack_page(watchkeeper, link, fields.sig)


@quality.post(
    "/incidents/{incident_id}/ack/confirm",
    tags=["incidents"],
    responses=_LINK_PAGE,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": AckLinkIn.model_json_schema()}
            },
        }
    },
)
def incident_ack_confirm(
    incident_id: IncidentId,
    request: Request,
    fields: Annotated[AckLinkIn, Depends(_posted_link)],
) -> HTMLResponse:
    """The link page's form: acknowledges as the link's recipient, once (the link's id is
    claimed in the store, so two replicas cannot both accept it)."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    now = watchkeeper.clock.now()
    link = _checked_link(watchkeeper, incident_id, fields, now)
    with watchkeeper.store.write() as unit:
        claimed = unit.alerting.claim_ack_link(
            link.link, incident_id, link.recipient, link.expires_at, now
        )
    if not claimed:
        raise ActionError("forbidden", used_link_refusal(link))
    row = Operations(watchkeeper, link.recipient, now, enforce=False).incident_ack(incident_id)
    done = f"Incident #{row['id']} on {row['system']} acknowledged by {link.recipient}."
    return _ack_page(watchkeeper, link, fields.sig, done)


@quality.post("/incidents/{incident_id}/resolve", response_model=IncidentOut, tags=["incidents"])
def incident_resolve(incident_id: IncidentId, body: ResolveIn, ops: Acting) -> dict[str, Any]:
    return ops.incident_resolve(incident_id, body.reason)


@quality.post("/incidents/{incident_id}/serious", response_model=IncidentOut, tags=["incidents"])
def incident_serious(incident_id: IncidentId, body: SeriousIn, ops: Acting) -> dict[str, Any]:
    """Classify as serious (EU AI Act Art. 3(49)): the Art. 73 report is due 2 days from
    awareness for (b) or a widespread infringement (Art. 73(3)), 10 for a death (Art. 73(4)),
    15 otherwise (Art. 73(2)); the evidence hold of Art. 73(6) starts."""
    return ops.incident_serious(
        incident_id, body.category, body.death, body.widespread, body.aware_at
    )


@quality.get("/incidents/{incident_id}/report", response_model=SeriousReportOut, tags=["incidents"])
def incident_report(
    incident_id: IncidentId,
    ops: Acting,
    complete: Annotated[
        bool, Query(description="The complete report (Art. 73(5)); else the initial one")
    ] = False,
) -> dict[str, Any]:
    """The draft of a serious incident's Art. 73 report, for its owner to send (409 for an
    incident not classified serious)."""
    return ops.incident_report(incident_id, complete)


@quality.post(
    "/incidents/{incident_id}/report/submitted", response_model=IncidentOut, tags=["incidents"]
)
def incident_report_submitted(
    incident_id: IncidentId, body: SubmittedIn, ops: Acting
) -> dict[str, Any]:
    """Record that a report went to the market surveillance authority (audited as
    `incident.report.submitted`): the first one meets the deadline and stops its reminders."""
    return ops.incident_report_submitted(incident_id, body.complete, body.reference)


@quality.post(
    "/incidents/{incident_id}/changes/{change}/justification",
    response_model=HoldChangeOut,
    tags=["incidents"],
)
def incident_justify(
    incident_id: IncidentId, change: ChangeId, body: JustificationIn, ops: Acting
) -> dict[str, Any]:
    """Justify a change made under the incident's evidence hold without one (a new model
    version seen in observations), once (404 for a change it does not list)."""
    return ops.incident_justify(incident_id, change, body.text)


@quality.post("/silences", response_model=SilenceOut, tags=["incidents"], status_code=201)
def silence(body: SilenceIn, ops: Acting) -> dict[str, Any]:
    return ops.silence(body.system, dict(body.matchers), body.hours, body.reason, body.kind)


@quality.get("/systems/{name}/evals", response_model=list[EvalSuiteOut], tags=["care"])
def eval_suites(name: SystemName, ops: Acting) -> list[dict[str, Any]]:
    """The applied manifest's eval suites, which `wk eval run` runs where the code lives."""
    return ops.eval_suites(name)


@quality.post("/systems/{name}/evals", response_model=list[EvalOutcomeOut], tags=["care"])
def eval_run(name: SystemName, body: EvalRunIn, ops: Acting) -> list[dict[str, Any]]:
    """Run the system's golden set(s) on the server and diff against the previous run — only
    targets under WATCHKEEPER_EVAL_MODULES with golden sets under WATCHKEEPER_EVAL_DATA (403
    otherwise: evals run where the system's code lives, and upload their result)."""
    return ops.eval_run(name, body.suite)


@quality.post(
    "/systems/{name}/evals/runs", response_model=EvalOutcomeOut, tags=["care"], status_code=201
)
def eval_upload(name: SystemName, body: EvalUploadIn, ops: Acting) -> dict[str, Any]:
    """Record a run made where the system's code lives (`wk eval run` in client mode), as a run
    made here would be: dated on arrival, diffed against the previous run, logged, audited."""
    return ops.eval_upload(name, body.suite, body.run.model_dump(mode="json"))


@quality.post("/systems/{name}/reviews", response_model=ReviewOut, tags=["care"], status_code=201)
def review(name: SystemName, body: ReviewIn, ops: Acting) -> dict[str, Any]:
    """The owner signs off the period report with a verdict."""
    return ops.review(name, body.verdict, body.notes, body.days)


@quality.get(
    "/systems/{name}/report",
    response_model=ReportOut,
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


@quality.post("/systems/{name}/care", response_model=CareEntryOut, tags=["care"], status_code=201)
def care_log(name: SystemName, body: CareIn, ops: Acting) -> dict[str, Any]:
    return ops.care_log(name, body.hours, body.kind, body.note)


@quality.get("/systems/{name}/care", response_model=CareLedgerOut, tags=["care"])
def care_ledger(name: SystemName, ops: Acting) -> dict[str, Any]:
    return ops.care_ledger(name)


@quality.get("/systems/{name}/knowledge", response_model=list[KnowledgeOut], tags=["care"])
def knowledge(name: SystemName, ops: Acting) -> list[dict[str, Any]]:
    return ops.knowledge(name)


@quality.post(
    "/systems/{name}/knowledge", response_model=KnowledgeOut, tags=["care"], status_code=201
)
def record(name: SystemName, body: RecordIn, ops: Acting) -> dict[str, Any]:
    """A decision, failure mode, near-miss or postmortem; `closes` settles a pending decision."""
    return ops.record(body.kind, name, body.title, dict(body.fields), body.incident_id, body.closes)


@quality.get("/systems/{name}/triage", response_model=list[TriageItemOut], tags=["triage"])
def triage_queue(name: SystemName, ops: Acting, all: bool = False) -> list[dict[str, Any]]:
    return ops.triage_queue(name, None if all else "open")


@quality.post("/triage/{item_id}/verdict", response_model=TriageItemOut, tags=["triage"])
def triage_verdict(item_id: ItemId, body: VerdictIn, ops: Acting) -> dict[str, Any]:
    """ok, wrong, harmful (tells every kill authority at once) or unclear."""
    return ops.triage_verdict(item_id, body.verdict, body.label, list(body.tags), body.note)


@metrics.get("/metrics", response_class=PlainTextResponse)
def prometheus(request: Request) -> PlainTextResponse:
    """Prometheus text format: signal values, open incidents, switch states, vacuum scores,
    notification failures. Unauthenticated, like most exporters: it holds no personal data."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    body = render_metrics(watchkeeper, watchkeeper.clock.now())
    body += _tick_failures(watchkeeper.scheduler.last)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")


def _tick_failures(last: TickReport | None) -> str:
    """The steps that failed in this process's last tick, per system (empty for portfolio-wide
    jobs): nonzero means something is not being watched."""
    registry = CollectorRegistry()
    failed = Gauge(
        "watchkeeper_tick_failures",
        "Steps of the last scheduler tick that failed",
        ["system", "step"],
        registry=registry,
    )
    for failure in last.failures if last else []:
        failed.labels(failure.system or "", failure.step).inc()
    return generate_latest(registry).decode()
