"""The API's documented shapes. Inputs forbid unknown fields, so a typo is a 400 naming the
field, never silently ignored; outputs mirror the services' `to_dict()` exactly, so the CLI's
client mode gets the same dicts as local mode."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    status: Literal["ready"]
    database: str
    schema_revision: str


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


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; only its digest is stored")
    id: int
    person: str
    prefix: str
    created_at: Instant


class VerificationOut(BaseModel):
    ok: bool
    checked: int
    broken_at: int | None = Field(description="seq of the first broken link")
    reason: str


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
