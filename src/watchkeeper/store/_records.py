"""Plain records the store hands out, so nothing above it touches SQLAlchemy objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypedDict


@dataclass(frozen=True)
class PersonRecord:
    email: str
    name: str
    active: bool
    admin: bool = False
    channels: list[dict[str, Any]] = field(default_factory=list)
    left_at: datetime | None = None  # when they stopped being active, as the store saw it
    slack: str | None = None  # their Slack user id: a Slack button acts as them
    pagerduty: str | None = None  # their PagerDuty user id: acting in PagerDuty acts as them


@dataclass(frozen=True)
class TeamRecord:
    name: str
    members: list[str]


@dataclass(frozen=True)
class SystemRecord:
    name: str
    version: int
    manifest: dict[str, Any]
    digest: str
    applied_at: datetime
    applied_by: str
    live_since: datetime | None


@dataclass(frozen=True)
class AckRecord:
    system: str
    role: str
    holder: str
    acked_by: str
    acked_at: datetime


@dataclass(frozen=True)
class SwitchRecord:
    """A system's kill switch as stored; a system never flipped has no record (enabled, v0)."""

    system: str
    state: str
    version: int
    reason: str | None
    changed_by: str | None
    changed_at: datetime | None


@dataclass(frozen=True)
class DrillRecord:
    """One kill-switch drill: a version bump that leaves the state as it was, which every SDK
    process live at `started_at` must confirm (server clock throughout). The outcome is None
    while the drill waits, and stays None if whatever ran it stopped first: such a drill proved
    nothing. `stragglers` are the processes that did not confirm, each as the confirmation
    names it (host/pid/service as `name`, the version it held, when last heard, `live`);
    `summary` says the outcome in words."""

    system: str
    version: int
    state: str
    reason: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None = None
    live: int | None = None
    confirmed: int | None = None
    confirmed_in_ms: float | None = None
    stragglers: list[dict[str, Any]] = field(default_factory=list)
    passed: bool | None = None
    summary: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "version": self.version,
            "state": self.state,
            "reason": self.reason,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "live": self.live,
            "confirmed": self.confirmed,
            "confirmed_in_ms": self.confirmed_in_ms,
            "stragglers": self.stragglers,
            "passed": self.passed,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class RehearsalRecord:
    """One rehearsal of a runbook: the manifest it ran on (by digest, and the applied version
    when it was applied; None for files rehearsed before apply), whether the scenario paged, and
    the whole report (timeline, what did not happen)."""

    id: int
    system: str
    scenario: str
    digest: str
    runbook_digest: str
    version: int | None
    passed: bool
    time_to_page_s: float | None
    rehearsed_at: datetime
    rehearsed_by: str
    report: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "scenario": self.scenario,
            "digest": self.digest,
            "runbook_digest": self.runbook_digest,
            "version": self.version,
            "passed": self.passed,
            "time_to_page_s": self.time_to_page_s,
            "rehearsed_at": self.rehearsed_at.isoformat(),
            "rehearsed_by": self.rehearsed_by,
            "report": self.report,
        }


@dataclass(frozen=True)
class TokenRecord:
    """An API token's public half: whose it is and how to recognise it; never the secret. A
    person's token acts as its `person`; a service token (`kind` service) has no person and
    serves its one `system`, named in the audit trail by its `name` or, without one, its
    prefix (`label`). A SCIM token (`kind` scim) has neither: it provisions people and teams
    at /scim/v2 and does nothing else."""

    id: int
    person: str | None
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    kind: Literal["person", "service", "scim"] = "person"
    system: str | None = None
    name: str | None = None
    last_used_at: datetime | None = None

    @property
    def label(self) -> str:
        return self.name or self.prefix

    def status(self, now: datetime) -> str:
        """`active`, `revoked` or `expired` at `now`: only an active token authenticates."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Deactivation:
    """A deliberate `wk people deactivate`: it holds until someone reverses it explicitly."""

    at: datetime
    by: str


@dataclass(frozen=True)
class AuditHead:
    """The newest link of the audit chain, kept apart so that deleting the tail shows."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ObservationRecord:
    """One prediction or generation, with the latest feedback on it (if any)."""

    id: str
    ts: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    latency_ms: float | None = None
    model_version: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] | None = None


class NewObservation(TypedDict):
    """One observation for `add_observations`, as validation left it: `inputs`, `output` and
    `meta` already JSON text, since the insert skips the ORM (it is the one high-volume write)."""

    obs_id: str
    ts: datetime
    inputs: str
    output: str
    latency_ms: float | None
    model_version: str | None
    meta: str


@dataclass(frozen=True)
class DeadLetterRecord:
    """An item refused at ingest, kept as it came so that nothing a client sent is lost."""

    id: int
    system: str
    received_at: datetime
    source: str
    item_index: int | None  # its place in the batch, when it came in one
    raw: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "source": self.source,
            "index": self.item_index,
            "reason": self.reason,
            "raw": self.raw,
        }


@dataclass(frozen=True)
class FindingRecord:
    """A finding as stored: what the monitor concluded for one window, and when it said so."""

    id: int
    system: str
    fingerprint: str
    check: str
    subject: str
    rule: str | None
    severity: str
    summary: str
    window_start: datetime
    window_end: datetime
    evidence: Any
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "fingerprint": self.fingerprint,
            "check": self.check,
            "subject": self.subject,
            "rule": self.rule,
            "severity": self.severity,
            "summary": self.summary,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "evidence": self.evidence,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class EvalRunRecord:
    """A stored eval run: the summary columns queries need, and the whole run (`run`) as
    `EvalRun.to_dict` wrote it."""

    id: int
    system: str
    suite: str
    started_at: datetime
    actor: str
    trigger: str  # manual | schedule | upload
    model_version: str | None
    dataset_sha256: str
    pass_rate: float
    mean_score: float
    run: dict[str, Any]


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    system: str
    reviewed_at: datetime
    reviewer: str
    verdict: str
    notes: str
    report: dict[str, Any]


@dataclass(frozen=True)
class CareEntryRecord:
    """One line of the care ledger."""

    id: int
    system: str
    at: datetime
    hours: float
    kind: str
    by: str
    note: str


@dataclass(frozen=True)
class KnowledgeRecord:
    """A decision, failure mode, near-miss or postmortem, numbered per system and kind. A
    pending decision is `assigned_to` the person or team whose call it is."""

    id: int
    system: str
    kind: str
    number: int
    title: str
    fields: dict[str, Any]
    status: str
    created_at: datetime
    created_by: str
    assigned_to: str | None
    incident_id: int | None
    closed_at: datetime | None
    closed_by: str | None


@dataclass(frozen=True)
class TriageItemRecord:
    """One queued output and, once someone judged it, their verdict. `assignee` is the person
    or team the queue names; `snapshot` is the observation as it was when queued."""

    id: int
    system: str
    observation_id: str
    observed_at: datetime
    queued_at: datetime
    rule: str
    condition: str
    reason: str
    priority: int
    assignee: str | None
    snapshot: Any
    status: str  # open | done
    verdict: str | None
    label: str | None
    tags: list[str]
    note: str | None
    reviewed_at: datetime | None
    reviewed_by: str | None
