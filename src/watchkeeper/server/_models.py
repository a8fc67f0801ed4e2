"""The API's documented shapes. Inputs forbid unknown fields, so a typo is a 400 naming the
field, never silently ignored; outputs mirror the services' `to_dict()` exactly, so the CLI's
client mode gets the same dicts as local mode. Outputs let unknown keys through rather than drop
them: a key a service adds reaches clients, and tests/server/test_openapi_models.py fails until
the model here declares it."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)

from watchkeeper.access import token_lifetime, token_name
from watchkeeper.evals import CaseResult, Diff, Summary
from watchkeeper.manifest import Severity
from watchkeeper.switch import DEFAULT_DRILL_REASON, MAX_REASON

Instant = Annotated[str, Field(description="ISO 8601 instant, UTC")]
# PostgreSQL text cannot hold NUL: refuse it here, naming the field, rather than fail in the store
NO_NUL = r"^[^\x00]*$"
HOLD_JUSTIFICATION = (
    "Why the system changes while a serious incident's evidence hold is on (EU AI Act "
    "Art. 73(6)): required then (409 without it), recorded on the incident and in its report"
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class FieldError(_Out):
    field: str = Field(description="Where the problem is, e.g. body.files[0].text")
    message: str


class ManifestProblem(_Out):
    file: str
    line: int
    column: int
    message: str


class ErrorOut(_Out):
    kind: str = Field(description="invalid, unauthenticated, forbidden, not_found, conflict, ...")
    detail: str = Field(description="What is wrong and where; shown to people as is")
    errors: list[FieldError] = Field(default_factory=list)
    problems: list[ManifestProblem] = Field(default_factory=list)


class HealthOut(_Out):
    status: Literal["ok"]


class ReadyOut(_Out):
    status: Literal["ready", "degraded"]
    database: str
    schema_revision: str
    detail: str | None = None


class AssignmentOut(_Out):
    role: str
    holder: str
    active: bool
    ack: Literal["acknowledged", "stale", "pending"]
    acked_at: Instant | None
    acked_by: str | None
    expires_at: Instant | None


class StatusOut(_Out):
    system: str
    title: str
    tier: str
    lifecycle: str
    version: int
    applied_at: Instant
    applied_by: str
    live_since: Instant | None
    assignments: list[AssignmentOut]
    missing: list[str]


class CheckOut(_Out):
    id: str
    title: str
    passed: bool
    severity: str
    weight: int
    detail: str
    why: str
    fix: str


class SystemVacuumOut(_Out):
    system: str
    lifecycle: str
    owner: str | None
    score: int
    critical: bool
    gaps: list[CheckOut]
    checks: list[CheckOut]


class VacuumOut(_Out):
    critical: bool = Field(description="Whether any live system has a critical gap")
    systems: list[SystemVacuumOut]


class GateReportOut(_Out):
    system: str
    ready: bool = Field(description="No check failed")
    score: int = Field(description="Weighted share of passing checks, 0-100")
    not_checked: list[str] = Field(
        description="Ids of checks that could not be made (the server reads acknowledgements, "
        "so none)"
    )
    checks: list[CheckOut]


class ManifestFile(_In):
    name: str = Field(
        min_length=1, max_length=500, pattern=NO_NUL, description="Shown in error locations"
    )
    text: str = Field(
        max_length=1_000_000,
        pattern=NO_NUL,
        description="YAML: AISystem and/or People documents",
    )


class ApplyIn(_In):
    files: list[ManifestFile] = Field(min_length=1, max_length=200)
    justification: str | None = Field(
        default=None, max_length=2000, pattern=NO_NUL, description=HOLD_JUSTIFICATION
    )


class ChangeOut(_Out):
    kind: str
    name: str
    action: Literal["created", "updated", "unchanged"]
    details: list[str]


class AckIn(_In):
    role: str = Field(
        max_length=64,
        pattern=NO_NUL,
        description="owner, quality_monitor, retraining_decider, data_liaison, kill_authority "
        "or all (every role the caller holds)",
    )


class DrillMarkOut(_Out):
    by: str = Field(description="The kill authority who started the drill")
    at: Instant
    reason: str


class SwitchOut(_Out):
    system: str
    state: Literal["enabled", "disabled"]
    version: int = Field(description="Moves by one with every flip and drill; 0 = never moved")
    reason: str | None = Field(description="Why the last flip was made")
    changed_by: str | None = Field(description="Who made the last flip")
    changed_at: Instant | None = Field(description="When the last flip was made")
    fail_mode: Literal["open", "closed"] | None = Field(
        description="What SDKs do when they cannot reach the server (spec.kill_switch)"
    )
    fallback: str | None
    drill: DrillMarkOut | None = Field(
        description="Set while the version is a drill's: it moved, the state did not (SDKs "
        "confirm it and go on serving as they were)"
    )


class SwitchChangeOut(SwitchOut):
    changed: bool = Field(description="False when the switch was already in that state")


class SwitchProcessOut(_Out):
    system: str
    process: str = Field(description="The SDK process's own random id, made when it started")
    host: str
    pid: int | None
    sdk: str = Field(description="The SDK's version")
    service: str | None = Field(description="The service's own name, if its Client gave one")
    version: int | None = Field(description="The switch version it holds; null: none heard yet")
    fail_mode: Literal["open", "closed"] | None
    heartbeat: float = Field(description="Seconds it promises between reports")
    first_seen: Instant
    last_seen: Instant = Field(description="Server clock; written at most once a heartbeat")
    version_since: Instant = Field(description="When it first reported this version (server)")


class SwitchStragglerOut(SwitchProcessOut):
    name: str = Field(description="host/pid/service, as a kill authority looks for it")
    live: bool = Field(description="Still heard from; false: silent since last_seen, likely gone")


class SwitchConfirmationOut(_Out):
    system: str
    version: int = Field(description="The flip confirmed: processes holding this version or later")
    state: Literal["enabled", "disabled"]
    flipped_at: Instant | None = Field(
        description="When the switch took this version: the flip's moment, or the drill's"
    )
    at: Instant = Field(description="When this was read (server clock)")
    live: int = Field(description="n: processes live at the flip (heard within 3 heartbeats)")
    confirmed: int = Field(description="k: those of them that report the flip's version")
    confirmed_in_ms: float | None = Field(
        description="From the flip to its last confirmation, by the server's clock"
    )
    complete: bool = Field(description="Every process live at the flip confirmed it")
    summary: str = Field(description="confirmed by k of n live processes in t ms")
    stragglers: list[SwitchStragglerOut] = Field(description="Live at the flip, not confirmed")


class SwitchFlipOut(SwitchChangeOut):
    confirmations: SwitchConfirmationOut | None = Field(
        description="After the wait asked for (`wait`); the current picture when nothing changed"
    )


class SwitchIn(_In):
    state: Literal["enabled", "disabled"]
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL, description="Required: why")
    justification: str | None = Field(
        default=None, max_length=2000, pattern=NO_NUL, description=HOLD_JUSTIFICATION
    )


class DrillIn(_In):
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REASON,
        pattern=NO_NUL,
        description=f"Why (kept in the audit trail); none: {DEFAULT_DRILL_REASON!r}",
    )


class SwitchDrillOut(_Out):
    system: str
    version: int = Field(description="The switch version the drill made")
    state: Literal["enabled", "disabled"] = Field(description="The state, which it left alone")
    reason: str
    started_by: str
    started_at: Instant
    finished_at: Instant | None = Field(
        description="When its wait ended (server clock); null: it is waiting, or whatever ran it "
        "stopped first, and it proved nothing"
    )
    live: int | None = Field(description="n: SDK processes live at the drill")
    confirmed: int | None = Field(description="k: those of them that reported its version")
    confirmed_in_ms: float | None = Field(
        description="From the drill to its last confirmation (server clock); when it passed, "
        "the time to full confirmation"
    )
    stragglers: list[SwitchStragglerOut] = Field(description="Live at the drill, not confirmed")
    passed: bool | None = Field(
        description="Every live process confirmed; false also when none was live (it proved "
        "nothing); null until it finished"
    )
    summary: str | None = Field(description="The outcome in words")


class TokenIn(_In):
    """A person's token (`email`), a service token for one system (`service`, `name`), or an
    identity provider's SCIM token (`scim`, `name`)."""

    email: str | None = Field(
        default=None, min_length=3, max_length=254, pattern=NO_NUL, description="Acts as them"
    )
    service: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        pattern=NO_NUL,
        description="Serves this system: writes its data and reads its kill switch, nothing else",
    )
    name: str | None = Field(
        default=None,
        max_length=63,
        description="A service or SCIM token's label in the audit trail",
    )
    scim: bool = Field(
        default=False, description="A SCIM token: provisions people and teams at /scim/v2 only"
    )
    expires: str | None = Field(
        default=None, max_length=16, description="Lifetime, e.g. 90d or 12h; none: until revoked"
    )

    @field_validator("expires")
    @classmethod
    def _lifetime(cls, value: str | None) -> str | None:
        if value is not None:
            token_lifetime(value)
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return token_name(value) if value is not None else None

    @model_validator(mode="after")
    def _one_holder(self) -> TokenIn:
        if [self.email is not None, self.service is not None, self.scim].count(True) != 1:
            raise ValueError(
                "give one of `email` (a person's token), `service` (a system's) or `scim: true`"
            )
        if self.name is not None and self.email is not None:
            raise ValueError("`name` labels a service or SCIM token, not a person's")
        return self


class TokenInfoOut(_Out):
    id: int
    kind: Literal["person", "service", "scim"]
    person: str | None = Field(description="Whom a person's token acts as")
    system: str | None = Field(description="The one system a service token serves")
    name: str | None = Field(description="A service token's label")
    actor: str = Field(description="As the audit trail names it: the email, or service:SYSTEM/NAME")
    prefix: str = Field(description="The token's first characters, to recognise it by")
    created_at: Instant
    created_by: str
    expires_at: Instant | None
    last_used_at: Instant | None = Field(description="To the minute")
    revoked_at: Instant | None
    revoked_by: str | None
    status: Literal["active", "expired", "revoked"]


class TokenOut(TokenInfoOut):
    token: str = Field(description="Shown once; only its digest is stored")


class VerificationOut(_Out):
    ok: bool
    state: Literal["intact", "altered", "truncated", "unkeyed"] = Field(
        description="unkeyed: no WATCHKEEPER_SECRET on the server, so integrity only"
    )
    checked: int
    broken_at: int | None = Field(description="seq of the first altered or missing entry")
    reason: str
    unkeyed_through: int | None = Field(
        description="entries up to this seq were written before the chain was keyed"
    )
    checkpoint: int | None = Field(description="seq of the newest signed checkpoint")


class AuditEntryOut(_Out):
    seq: int
    at: Instant
    actor: str
    action: str
    target: str
    system: str | None
    before: Any
    after: Any
    reason: str | None
    prev_hash: str
    hash: str
    keyed: bool


def _storable(value: JsonValue) -> JsonValue:
    """PostgreSQL keeps JSON as jsonb, which holds neither NUL characters nor NaN or infinity:
    refuse them here, where the error names the field, rather than fail in the store."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            raise ValueError("a NUL character cannot be stored")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{item} is not a JSON number")
        if isinstance(item, dict):
            pending += [*item, *item.values()]
        elif isinstance(item, list):
            pending += item
    return value


StoredJson = Annotated[JsonValue, AfterValidator(_storable)]
EvalName = Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL)]
EvalNote = Annotated[str, Field(max_length=100_000, pattern=NO_NUL)]
Milliseconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class EvalCaseIn(_In):
    """One case as `wk eval run` recorded it (`CaseResult`)."""

    id: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    input: StoredJson
    expected: StoredJson
    output: StoredJson
    score: float = Field(ge=0, le=1)
    passed: bool
    detail: EvalNote
    error: EvalNote | None
    timed_out: bool
    duration_ms: Milliseconds
    tags: list[Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]] = Field(
        max_length=50
    )


class EvalRunRecordIn(_In):
    """A run as `EvalRun.to_dict()` writes it. The server dates it on arrival and recounts its
    summary from the cases; the summary sent only says whether label metrics apply."""

    format: Literal[1]
    started_at: datetime
    duration_ms: Milliseconds
    dataset: EvalName
    dataset_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    target: EvalName
    scorer: EvalName
    scorer_options: dict[Annotated[str, Field(max_length=100)], StoredJson] = Field(max_length=50)
    model_version: str | None = Field(max_length=200, pattern=NO_NUL)
    summary: dict[Annotated[str, Field(max_length=100)], StoredJson]
    cases: list[EvalCaseIn] = Field(min_length=1, max_length=10_000)


class EvalUploadIn(_In):
    suite: str = Field(min_length=1, max_length=63, pattern=NO_NUL, description="Which suite ran")
    run: EvalRunRecordIn


# --- observations ------------------------------------------------------------------------------


class RejectedOut(_Out):
    index: int = Field(description="Position in the batch")
    error: str = Field(description="items[i].field: what is wrong")


class BatchOut(_Out):
    accepted: int = Field(description="Stored now")
    duplicates: int = Field(description="Already stored (same id): replays are harmless")
    rejected: list[RejectedOut] = Field(description="Kept as dead letters with their reason")


class PartialsOut(_Out):
    partials: int = Field(description="Partials stored, merged with the windows' others when read")
    duplicates: int = Field(description="Already stored from the same origin: a re-run is harmless")
    rows: int = Field(description="Observations the stored day partials summarise")
    windows: int = Field(description="Distinct windows they cover")


class ProfilingOut(_Out):
    manifest: dict[str, Any] = Field(description="The system's manifest: which partials to make")
    edges: dict[str, list[float]] = Field(
        description="The baseline's bin edges per numeric column, once the baseline is profiled"
    )


class DeadLetterOut(_Out):
    id: int
    received_at: Instant
    source: str
    index: int | None = Field(description="Its place in the batch, when it came in one")
    reason: str
    raw: Any = Field(description="The item as it came")


class ObservationOut(_Out):
    id: str
    ts: Instant
    inputs: dict[str, Any]
    output: Any
    latency_ms: float | None
    model_version: str | None
    metadata: dict[str, Any]
    feedback: dict[str, Any] | None = Field(description="The latest feedback on it, if any")


class ObservationPageOut(_Out):
    observations: list[ObservationOut] = Field(description="Newest first")
    scanned: int = Field(description="Observations read to find these")
    next: str | None = Field(
        description="Pass as `after` for the next page; null when the range is read to its start"
    )


# --- monitoring and the scheduler -------------------------------------------------------------


class FindingOut(_Out):
    """What a check concluded for one window (`Finding.to_dict()`)."""

    system: str
    check: str = Field(description="bounds, drop, rise, threshold, trend, drift, contract, ...")
    subject: str = Field(description="The signal, column, contract or stream looked at")
    severity: Severity
    summary: str
    window_start: Instant
    window_end: Instant
    rule: str | None = Field(description="The runbook alert it answers to, if any")
    fingerprint: str = Field(description="Stable across windows: one ongoing problem, one alert")
    evidence: dict[str, Any]


class StoredFindingOut(FindingOut):
    id: int
    created_at: Instant


class SignalWindowOut(_Out):
    window_start: Instant
    window_end: Instant
    value: float | None = Field(description="The signal's value; None for a window without data")
    n: int = Field(description="Rows behind the value")
    low: float | None = Field(description="An estimated metric's interval, low end; else None")
    high: float | None = Field(description="An estimated metric's interval, high end; else None")
    realized: float | None = Field(
        description="An estimated metric computed on the labels that have come since; None "
        "until some have (and for every other kind)"
    )
    realized_n: int = Field(description="Labelled rows behind `realized`")


class SignalOut(_Out):
    signal: str
    kind: str = Field(description="The signal's kind, e.g. rate, mean, estimated")
    metric: str | None = Field(description="The metric an estimated signal estimates; else None")
    window: str = Field(description="The window length, e.g. 1d")
    windows: list[SignalWindowOut] = Field(description="The newest windows, oldest first")


class CalibrationOut(_Out):
    check: str
    rule: str | None
    subject: str
    threshold: str
    false_alarms: str = Field(description="This check's expected false alarms per budget period")
    detects: str = Field(description="The smallest shift it sees at the usual window size")
    rows_per_window: float
    meets_budget: bool = Field(
        description="False when the budget leaves it blind to breaches the owner cares about"
    )
    needs: str | None = Field(description="The window that would meet the budget, when not met")


class CheckReportOut(_Out):
    system: str
    recorded: Literal[False] = Field(description="A check records and alerts nothing")
    note: str
    windows: int = Field(description="Complete windows evaluated")
    findings: list[FindingOut]
    alarm_budget: str = Field(description="False alarms the owner accepts, all checks together")
    calibration: list[CalibrationOut] = Field(
        description="Each statistical check's threshold, share of the budget and reach"
    )


class FailureOut(_Out):
    system: str | None = Field(description="None for a portfolio-wide job")
    step: str
    error: str = Field(description="`Class: message`")


class RefusedEvalOut(_Out):
    system: str
    suite: str
    reason: str


class ScheduledEvalsOut(_Out):
    ran: int
    refused: list[RefusedEvalOut] = Field(
        description="Due suites the operator's policy keeps from running here; they stay due"
    )


class RetentionOut(_Out):
    """Rows removed; only `due` when the run was not due (already done today)."""

    due: bool
    observations: int = 0
    thinned: int = Field(default=0, description="Raw rows outside `raw_sample`, once a week old")
    feedback: int = 0
    partials: int = Field(default=0, description="Window partials past retention")
    dead_letters: int = 0
    finished: bool = Field(default=False, description="False: the rest waits for the next tick")


_JOB = "Absent when the tick did not run"
_PORTFOLIO_JOB = f"{_JOB}; null when it failed"


class TickOut(_Out):
    """A job done system by system always has its line (a system that failed is in
    `failures`); a portfolio-wide job that failed has null."""

    now: Instant
    ran: bool = Field(description="False: another process holds the tick; nothing ran")
    windows: int
    findings: int
    incidents_opened: list[int]
    pages: int
    evals: ScheduledEvalsOut = Field(
        default_factory=lambda: ScheduledEvalsOut(ran=0, refused=[]), description=_JOB
    )
    review_reminders: int = Field(default=0, description=_JOB)
    serious_reminders: int = Field(default=0, description=_JOB)
    triage_queued: int = Field(default=0, description=_JOB)
    audit_noise: int | None = Field(default=None, description=_PORTFOLIO_JOB)
    retention: RetentionOut = Field(
        default_factory=lambda: RetentionOut(due=False), description=_JOB
    )
    retention_unapplied: RetentionOut | None = Field(default=None, description=_PORTFOLIO_JOB)
    failures: list[FailureOut]


# --- incidents ---------------------------------------------------------------------------------


class IncidentOut(_Out):
    id: int
    system: str
    status: Literal["triggered", "acknowledged", "resolved"]
    severity: Severity
    title: str
    opened_at: Instant
    acknowledged_at: Instant | None
    acknowledged_by: str | None
    resolved_at: Instant | None
    resolved_by: str | None
    serious: bool = Field(description="A serious incident under EU AI Act Art. 3(49)")
    serious_category: Literal["a", "b", "c", "d"] | None = Field(
        description="Its point of Art. 3(49): (a) death or serious harm to health, (b) critical "
        "infrastructure, (c) fundamental rights, (d) property or the environment"
    )
    serious_death: bool = Field(description="It led to a death (Art. 73(4): 10 days)")
    serious_widespread: bool = Field(
        description="A widespread infringement (Art. 3(61); Art. 73(3): 2 days)"
    )
    serious_kind: Literal["default", "widespread", "critical-infrastructure", "death"] | None = (
        Field(
            description="What set the deadline: critical-infrastructure or widespread 2 days "
            "(Art. 73(3)), death 10 (Art. 73(4)), default 15 (Art. 73(2))"
        )
    )
    deadline_article: Literal["Art. 73(2)", "Art. 73(3)", "Art. 73(4)"] | None = Field(
        description="The paragraph that sets the deadline"
    )
    deadline_days: int | None = Field(description="Days from awareness the report is due in")
    aware_at: Instant | None = Field(description="When the provider or deployer became aware")
    report_due: Instant | None = Field(description="The Art. 73 reporting deadline")
    reported_at: Instant | None = Field(
        description="When the first report went to the authority: the deadline is met"
    )
    report_complete_at: Instant | None = Field(
        description="When the complete report went (Art. 73(5))"
    )
    hold: bool = Field(
        description="The evidence hold of Art. 73(6) is on: a change to the system needs a "
        "recorded justification until the incident is resolved and a report was submitted"
    )
    reopened: int = Field(description="How many times it was reopened")


class AlertOut(_Out):
    fingerprint: str
    rule: str
    severity: Severity
    status: str = Field(description="firing or resolved")
    summary: str
    first_seen: Instant


class IncidentEventOut(_Out):
    at: Instant
    kind: str = Field(description="opened, alert, playbook, escalated, acknowledged, ...")
    actor: str
    detail: Any


class DeliveryOut(_Out):
    at: Instant
    purpose: str
    event: str
    recipient: str
    channel: str
    status: str
    detail: str


class IncidentDetailOut(IncidentOut):
    alerts: list[AlertOut]
    timeline: list[IncidentEventOut]
    deliveries: list[DeliveryOut] = Field(description="Every delivery attempt")


class HoldChangeOut(_Out):
    change: int = Field(description="Its number, as `wk incident justify` names it")
    at: Instant
    by: str
    kind: Literal["apply", "restore", "model_version"]
    what: str
    justification: str | None = Field(description="None: not justified yet")
    justified_at: Instant | None
    justified_by: str | None


class ReportSystemOut(_Out):
    name: str
    title: str
    description: str
    tier: str
    eu_ai_act: Literal["high-risk", "limited", "minimal"] | None
    lifecycle: str
    manifest_version: int | None


class ReportContactOut(_Out):
    role: str
    team: str | None = Field(description="The team named for the role, when it was a team")
    email: str
    name: str
    active: bool


class ReportClassificationOut(_Out):
    category: Literal["a", "b", "c", "d"] | None
    article: str | None = Field(description="e.g. Art. 3(49)(a)")
    meaning: str | None = Field(description="The point of Art. 3(49) in its words")
    death: bool
    widespread: bool
    deadline_basis: Literal["default", "widespread", "critical-infrastructure", "death"]
    deadline_article: str = Field(description="Art. 73(2), 73(3) or 73(4)")
    deadline_days: int


class ReportMeasuresOut(_Out):
    switch: list[dict[str, Any]] = Field(description="Switch flips since the incident opened")
    playbooks: list[dict[str, Any]] = Field(description="Playbooks run and decisions opened")
    records: list[dict[str, Any]] = Field(description="Postmortems and decisions linked to it")


class ReportHoldOut(_Out):
    article: str
    on: bool
    changes: list[HoldChangeOut]


class ReportEventOut(IncidentEventOut):
    rule: str | None = Field(description="The rule of the alert it is about, if any")
    text: str = Field(description="The event in words")


class SeriousReportOut(_Out):
    """The draft of an Art. 73 report; `text` is the same, written out to be sent."""

    incident: int
    report: Literal["initial", "complete"]
    report_article: str
    drafted_at: Instant
    system: ReportSystemOut
    contacts: list[ReportContactOut]
    classification: ReportClassificationOut
    aware_at: Instant | None
    report_due: Instant | None
    overdue: bool
    status: Literal["triggered", "acknowledged", "resolved"]
    severity: Severity
    title: str
    opened_at: Instant
    resolved_at: Instant | None
    alerts: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    timeline: list[ReportEventOut]
    corrective_measures: ReportMeasuresOut
    hold: ReportHoldOut
    submissions: list[dict[str, Any]] = Field(description="Reports recorded as submitted")
    gaps: list[str] = Field(description="What the draft cannot say: add it before sending")
    text: str


class SilenceOut(_Out):
    id: int
    system: str | None = Field(description="None: every system")
    kind: Literal["silence", "maintenance"]
    hours: float


# --- care: evals, reviews, the report, the ledger, knowledge ----------------------------------


class EvalSuiteOut(_Out):
    suite: str
    dataset: str
    target: str = Field(description="package.module:function")
    scorer: str
    every: str | None = Field(description="How often it is due, e.g. 1w")


class EvalRunOut(_Out):
    """A run as `EvalRun.to_dict()` writes it."""

    format: Literal[1]
    started_at: Instant
    duration_ms: float
    dataset: str
    dataset_sha256: str
    target: str
    scorer: str
    scorer_options: dict[str, Any]
    model_version: str | None
    summary: Summary
    cases: list[CaseResult]


class EvalOutcomeOut(_Out):
    system: str
    suite: str
    started_at: Instant
    pass_rate: float
    mean_score: float
    count: int
    diff: Diff | None = Field(description="Against the previous run; None for the first")
    run: EvalRunOut


class PeriodOut(_Out):
    start: Instant
    end: Instant


class EstimateWindowOut(_Out):
    window_start: Instant
    value: float | None = Field(description="The estimate")
    n: int
    low: float | None = Field(description="The estimate's interval, low end")
    high: float | None = Field(description="The estimate's interval, high end")
    realized: float | None = Field(description="The metric on the labels come since, if any")
    realized_n: int


class SignalSeriesOut(_Out):
    name: str
    points: list[tuple[Instant, float | None]] = Field(description="[window start, value]")
    min: float | None = Field(description="The healthy bound, if any")
    max: float | None = Field(description="The healthy bound, if any")
    latest: float | None
    mean: float | None
    metric: str | None = Field(description="An estimated signal's metric; else None")
    estimates: list[EstimateWindowOut] = Field(
        description="An estimated metric's windows in the period beside the realized metric"
    )
    mae: float | None = Field(
        description="Mean absolute error of the estimates where the realized metric is known"
    )
    compared: int = Field(description="Windows behind `mae`")


class FindingBriefOut(_Out):
    created_at: Instant
    check: str
    severity: Severity
    summary: str


class FindingsSummaryOut(_Out):
    count: int
    by_check: dict[str, int]
    latest: list[FindingBriefOut] = Field(description="The newest 20")


class ReportIncidentOut(_Out):
    id: int
    severity: Severity
    status: Literal["triggered", "acknowledged", "resolved"]
    title: str
    opened_at: Instant
    minutes_to_ack: int | None


class ReportEvalOut(_Out):
    suite: str
    started_at: Instant
    pass_rate: float


class ReportSwitchOut(_Out):
    at: Instant
    actor: str
    state: Literal["enabled", "disabled"] | None
    reason: str | None


class CareMonthOut(_Out):
    month: str = Field(description="YYYY-MM")
    planned: float = Field(description="Hours")
    given: float = Field(description="Hours")
    share: float = Field(description="given / planned")
    unspent: bool = Field(description="Less care given than the charter promised")


class ReportCareOut(_Out):
    budget: float = Field(description="Hours per month (spec.care)")
    months: list[CareMonthOut]


class ErrorRateOut(_Out):
    rate: float | None
    low: float | None = Field(description="95% Wilson interval")
    high: float | None = Field(description="95% Wilson interval")
    errors: int
    reviewed: int


class ReportTriageOut(_Out):
    open: int
    oldest_days: float
    verdicts: dict[str, int]
    sample_error_rate: ErrorRateOut = Field(description="Of the sampled outputs reviewed")


class ReportOut(_Out):
    system: str
    title: str
    period: PeriodOut
    charter: list[AssignmentOut]
    signals: list[SignalSeriesOut]
    findings: FindingsSummaryOut
    incidents: list[ReportIncidentOut]
    evals: list[ReportEvalOut]
    switch: list[ReportSwitchOut]
    care: ReportCareOut
    triage: ReportTriageOut


class ReviewOut(_Out):
    system: str
    verdict: Literal["healthy", "concerns", "action-needed"]
    reviewed_at: Instant
    reviewer: str


class CareEntryOut(_Out):
    system: str
    hours: float
    kind: str
    at: Instant


class CareLedgerOut(_Out):
    system: str
    budget: float = Field(description="Hours per month (spec.care)")
    months: list[CareMonthOut]
    unspent_streak: int = Field(description="Complete months in a row with care unspent")


class KnowledgeOut(_Out):
    id: int
    system: str
    kind: Literal["decision", "failure-mode", "near-miss", "postmortem"]
    number: int = Field(description="Numbered per system and kind")
    title: str
    status: str = Field(description="Decisions: pending, accepted or decided; else recorded")
    fields: dict[str, Any]
    created_at: Instant
    created_by: str
    assigned_to: str | None = Field(description="Whose call a pending decision is")
    incident_id: int | None
    closed_by: str | None


# --- triage ------------------------------------------------------------------------------------


class TriageItemOut(_Out):
    id: int
    system: str
    observation_id: str
    observed_at: Instant
    queued_at: Instant
    age_days: float
    rule: str
    condition: str
    reason: str
    priority: int
    assignee: str | None = Field(description="The person or team the queue names")
    status: Literal["open", "done"]
    verdict: Literal["ok", "wrong", "harmful", "unclear"] | None
    label: str | None
    tags: list[str]
    note: str | None
    observation: Any = Field(description="The observation as it was when queued")


# --- runbook rehearsal -------------------------------------------------------------------------


class RehearsalIn(_In):
    scenario: str = Field(
        default="quality-drop",
        max_length=64,
        pattern=NO_NUL,
        description="quality-drop, drift, upstream-break, silence or harmful-output",
    )
    budget: float = Field(
        default=120.0, ge=1, le=600, description="Most wall-clock seconds it may take"
    )
    files: list[ManifestFile] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Manifests (People and the system) to rehearse before they are applied, as "
        "`/gate` takes them; none: the applied version",
    )


class SimulatedOut(_Out):
    start: Instant = Field(alias="from", description="Where the simulated clock started")
    began: Instant = Field(description="When the scenario began")
    to: Instant = Field(description="Where the simulated clock stopped")


class TimelineEntryOut(_Out):
    at: Instant = Field(description="Simulated time")
    after_s: float = Field(description="Seconds since the scenario began; negative before it")
    kind: Literal["scenario", "finding", "incident", "page", "playbook", "decision", "note"]
    text: str


class MissedOut(_Out):
    check: str = Field(
        description="rule.silent, level.unreachable, signal.unfilled, budget.hidden, "
        "baseline.small, scenario.inexpressible, budget.exceeded, ..."
    )
    text: str


class RehearsalReportOut(_Out):
    system: str
    scenario: str
    passed: bool
    verdict: str = Field(description="Why it passed or failed, in one sentence")
    rule: str | None = Field(description="The alert rule the scenario aims at")
    signal: str | None = Field(description="That rule's signal")
    source: Literal["history", "synthetic"] | None = Field(
        description="Baseline traffic: the system's own observations, or made from its "
        "contracts; null when the scenario could not be rehearsed at all"
    )
    simulated: SimulatedOut | None = Field(
        description="The simulated clock; null when the scenario could not be rehearsed at all"
    )
    time_to_page_s: float | None = Field(
        description="From the scenario's start to the first page about the aimed rule"
    )
    timeline: list[TimelineEntryOut]
    missed: list[MissedOut] = Field(description="What did not happen")
    elapsed_s: float = Field(description="Wall-clock seconds the rehearsal took")


class RehearsalOut(_Out):
    id: int
    system: str
    scenario: str
    digest: str = Field(description="sha256 of the manifest rehearsed")
    runbook_digest: str = Field(description="sha256 of its runbook")
    version: int | None = Field(
        description="The applied version rehearsed; null when rehearsed from files"
    )
    passed: bool
    time_to_page_s: float | None
    rehearsed_at: Instant
    rehearsed_by: str
    report: RehearsalReportOut


class EvidenceChainOut(_Out):
    head: dict[str, Any] = Field(description="The chain's head at export: the export's own entry")
    keyed: bool = Field(description="Whether the chain is sealed with the deployment's secret")
    entries: list[dict[str, Any]] = Field(description="The chain from the first cited entry")


class EvidenceOut(_Out):
    """An evidence bundle as its digests cover it: records and mapping pass through as stored."""

    format: str = Field(description="watchkeeper-evidence/1")
    deployment: str | None = Field(description="The hash of the deployment's first audit entry")
    system: str
    title: str
    period: dict[str, str] = Field(description="from (included) and to (excluded)")
    exported_at: str = Field(description="ISO 8601, as the root covers it (not re-formatted)")
    exported_by: str
    records: list[dict[str, Any]] = Field(description="id, kind, at, title, data, audit, digest")
    mapping: list[dict[str, Any]] = Field(description="Each obligation and its records")
    root: str = Field(description="SHA-256 over the header, the digests and the mapping")
    chain: EvidenceChainOut


class OriginOut(_Out):
    deployment: str | None = Field(description="The hash of this deployment's first audit entry")
    seq: int
    hash: str | None = Field(description="This chain's hash at `seq` (none past its head)")
