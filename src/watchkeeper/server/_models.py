"""The API's documented shapes. Inputs forbid unknown fields, so a typo is a 400 naming the
field, never silently ignored; outputs mirror the services' `to_dict()` exactly, so the CLI's
client mode gets the same dicts as local mode."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, field_validator

from watchkeeper.access._tokens import token_lifetime

Instant = Annotated[str, Field(description="ISO 8601 instant, UTC")]
# PostgreSQL text cannot hold NUL: refuse it here, naming the field, rather than fail in the store
NO_NUL = r"^[^\x00]*$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. body.files[0].text")
    message: str


class ManifestProblem(BaseModel):
    file: str
    line: int
    column: int
    message: str


class ErrorOut(BaseModel):
    kind: str = Field(description="invalid, unauthenticated, forbidden, not_found, conflict, ...")
    detail: str = Field(description="What is wrong and where; shown to people as is")
    errors: list[FieldError] = Field(default_factory=list)
    problems: list[ManifestProblem] = Field(default_factory=list)


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "degraded"]
    database: str
    schema_revision: str
    detail: str | None = None


class AssignmentOut(BaseModel):
    role: str
    holder: str
    active: bool
    ack: Literal["acknowledged", "stale", "pending"]
    acked_at: Instant | None
    acked_by: str | None
    expires_at: Instant | None


class StatusOut(BaseModel):
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


class CheckOut(BaseModel):
    id: str
    title: str
    passed: bool
    severity: str
    weight: int
    detail: str
    why: str
    fix: str


class SystemVacuumOut(BaseModel):
    system: str
    lifecycle: str
    owner: str | None
    score: int
    critical: bool
    gaps: list[CheckOut]
    checks: list[CheckOut]


class VacuumOut(BaseModel):
    critical: bool = Field(description="Whether any live system has a critical gap")
    systems: list[SystemVacuumOut]


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


class ChangeOut(BaseModel):
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


class SwitchOut(BaseModel):
    system: str
    state: Literal["enabled", "disabled"]
    version: int = Field(description="Moves by one with every flip; 0 = never flipped")
    reason: str | None
    changed_by: str | None
    changed_at: Instant | None
    fail_mode: Literal["open", "closed"] | None = Field(
        description="What SDKs do when they cannot reach the server (spec.kill_switch)"
    )
    fallback: str | None


class SwitchChangeOut(SwitchOut):
    changed: bool = Field(description="False when the switch was already in that state")


class SwitchIn(_In):
    state: Literal["enabled", "disabled"]
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL, description="Required: why")


class TokenIn(_In):
    email: str = Field(min_length=3, max_length=254, pattern=NO_NUL)
    expires: str | None = Field(
        default=None, max_length=16, description="Lifetime, e.g. 90d or 12h; none: until revoked"
    )

    @field_validator("expires")
    @classmethod
    def _lifetime(cls, value: str | None) -> str | None:
        if value is not None:
            token_lifetime(value)
        return value


class TokenInfoOut(BaseModel):
    id: int
    person: str
    prefix: str = Field(description="The token's first characters, to recognise it by")
    created_at: Instant
    created_by: str
    expires_at: Instant | None
    revoked_at: Instant | None
    revoked_by: str | None
    status: Literal["active", "expired", "revoked"]


class TokenOut(TokenInfoOut):
    token: str = Field(description="Shown once; only its digest is stored")


class VerificationOut(BaseModel):
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


class AuditEntryOut(BaseModel):
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
