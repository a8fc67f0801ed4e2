"""Typed models of the two manifest kinds: `AISystem` (one per system, in its repo) and `People`.

Field names follow SPEC §5/§9 exactly; they are a public contract with users' repos. Everything a
runbook can leave out is optional here, because a missing part is a readiness-gate failure with a
fix, not an unreadable file.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from watchkeeper.durations import format_duration, parse_duration
from watchkeeper.expr import compile_expr, compile_regex

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
SLUG_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ROLES = ("owner", "quality_monitor", "retraining_decider", "data_liaison", "kill_authority")
Tier = Literal["low", "medium", "high", "critical"]
Severity = Literal["info", "warning", "error", "critical"]


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is text such as 30m, 12h, 30d or 2w")
    return parse_duration(value)


def _email(value: Any) -> str:
    if not isinstance(value, str) or not EMAIL_RE.match(value.strip()):
        raise ValueError(f"{value!r} is not an email address (name@domain.example)")
    return value.strip().lower()


def _ref(value: Any) -> str:
    """A role holder: a person's email, or the name of a team."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("name a person by email, or a team by name")
    text = value.strip()
    if "@" in text:
        return _email(text)
    if not SLUG_RE.match(text):
        raise ValueError(f"{text!r} is neither an email address nor a team name (lowercase-slug)")
    return text


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use lowercase letters, digits and dashes, "
            "starting and ending with a letter or digit (max 63)"
        )
    return value


def _regex(value: str | None) -> str | None:
    """Compiled here, at load, so a pattern RE2 cannot run is a located error, never a tick's."""
    if value is not None:
        compile_regex(value)
    return value


def _percent(value: Any, *, whole: bool = False) -> float:
    """`20%` or `0.2` both mean a fifth; 100% only where `whole` (a share of rows kept)."""
    if isinstance(value, bool):
        raise ValueError("a share is a percentage such as 20% or a fraction such as 0.2")
    if isinstance(value, int | float):
        share = float(value)
    elif isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage such as 20%") from None
    else:
        raise ValueError("a share is a percentage such as 20% or a fraction such as 0.2")
    if not 0 < share < 1 and not (whole and share == 1):
        limit = "at most 100%" if whole else "below 100%"
        raise ValueError(f"{value!r} must be above 0% and {limit}")
    return share


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+[smhdw]$", "examples": ["30m", "30d"]}),
]
Email = Annotated[
    str, BeforeValidator(_email), WithJsonSchema({"type": "string", "format": "email"})
]
Ref = Annotated[
    str,
    BeforeValidator(_ref),
    WithJsonSchema({"type": "string", "description": "a person's email or a team's name"}),
]
Slug = Annotated[
    str, BeforeValidator(_slug), WithJsonSchema({"type": "string", "pattern": SLUG_RE.pattern})
]
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+per\s+(\S+)\s*$")


class AlarmBudget(BaseModel):
    """How many false alarms a system's owner accepts over a period, all checks together: what
    the monitor calibrates every statistical check to. Written `1 per 90d`."""

    model_config = ConfigDict(frozen=True)
    count: float
    per: timedelta

    def __str__(self) -> str:
        return f"{self.count:g} per {format_duration(self.per)}"

    def per_window(self, window: timedelta, checks: int) -> float:
        """The false-alarm probability one check may have per window of this size."""
        return self.count * (window / self.per) / max(1, checks)


def _budget(value: Any) -> AlarmBudget:
    if isinstance(value, AlarmBudget):
        return value
    match = _BUDGET.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(
            f"{value!r} is not an alarm budget; write a number of false alarms per period, "
            "e.g. `1 per 90d`"
        )
    count, per = float(match[1]), parse_duration(match[2])
    if count <= 0 or not per:
        raise ValueError(f"{value!r}: an alarm budget needs a count above 0 and a period")
    if count * timedelta(days=1) / per > 0.5:
        raise ValueError(
            f"{value!r} allows a false alarm on more than every other day; "
            "a monitor that noisy is ignored — write e.g. `1 per 30d`"
        )
    return AlarmBudget(count=count, per=per)


Budget = Annotated[
    AlarmBudget,
    BeforeValidator(_budget),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _BUDGET.pattern, "examples": ["1 per 90d"]}),
]
Share = Annotated[
    float,
    BeforeValidator(_percent),
    PlainSerializer(lambda v: f"{round(v * 100, 6):g}%", return_type=str),
    WithJsonSchema({"type": ["string", "number"], "examples": ["20%", 0.2]}),
]


WholeShare = Annotated[
    float,
    BeforeValidator(lambda value: _percent(value, whole=True)),
    PlainSerializer(lambda v: f"{round(v * 100, 6):g}%", return_type=str),
    WithJsonSchema({"type": ["string", "number"], "examples": ["10%", 0.1]}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- People -------------------------------------------------------------------------------


class Channel(_Model):
    type: Literal["email", "webhook", "slack", "pagerduty"]
    url: str | None = None
    routing_key: str | None = None
    address: Email | None = None
    secret: str | None = None

    @model_validator(mode="after")
    def _needs_target(self) -> Channel:
        if self.type in ("webhook", "slack") and not self.url:
            raise ValueError(f"a {self.type} channel needs a url")
        if self.type == "pagerduty" and not self.routing_key:
            raise ValueError("a pagerduty channel needs a routing_key")
        return self


class Person(_Model):
    email: Email
    name: str = ""
    active: bool = True
    admin: bool = False
    channels: list[Channel] = Field(default_factory=list)


class Team(_Model):
    name: Slug
    members: list[Email] = Field(default_factory=list)


class PeopleManifest(_Model):
    api_version: Literal["watchkeeper/v1"] = Field(alias="apiVersion")
    kind: Literal["People"]
    people: list[Person] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)


# --- AISystem -----------------------------------------------------------------------------


class Metadata(_Model):
    name: Slug
    title: str = ""
    description: str = ""
    tier: Tier = "medium"
    labels: dict[str, str] = Field(default_factory=dict)


class Charter(_Model):
    owner: Ref | None = None
    quality_monitor: Ref | None = None
    retraining_decider: Ref | None = None
    data_liaison: Ref | None = None
    kill_authority: list[Ref] = Field(default_factory=list)
    review_every: Duration = timedelta(days=30)
    attest_every: Duration = timedelta(days=90)

    @field_validator("kill_authority", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def holders(self, role: str) -> list[str]:
        """Everyone named for a role, as a list, whatever the role's arity."""
        value = getattr(self, role)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]


class ContractField(_Model):
    type: Literal["string", "number", "integer", "boolean", "category", "object", "array"]
    required: bool = False
    nullable: bool = True
    values: list[str | int | float | bool] | None = None
    min: float | None = None
    max: float | None = None


class Upstream(_Model):
    name: Slug
    team: str | None = None
    contact: Email | None = None
    contract: dict[str, ContractField] = Field(default_factory=dict)


class Baseline(_Model):
    first: Duration | None = None
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Baseline:
        if self.first is not None and (self.from_ or self.to):
            raise ValueError("give either `first` or `from`/`to`, not both")
        if (self.from_ is None) != (self.to is None):
            raise ValueError("`from` and `to` go together")
        if self.from_ and self.to and self.to <= self.from_:
            raise ValueError("`to` must be after `from`")
        return self


class Bound(_Model):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("a healthy bound needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("`min` is above `max`")
        return self


class Signal(_Model):
    source: Literal["observation", "output", "feedback", "eval", "triage"] = Field(alias="from")
    kind: Literal["mean", "rate", "quantile", "count", "expr", "score"] = "mean"
    field: str | None = None
    match: str | None = None
    q: float | None = Field(default=None, gt=0, lt=1)
    expr: str | None = None
    suite: str | None = None
    window: Duration = timedelta(days=1)

    @field_validator("expr")
    @classmethod
    def _expr(cls, value: str | None) -> str | None:
        if value is not None:
            compile_expr(value)
        return value

    _match = field_validator("match")(_regex)


class AlertRule(_Model):
    name: Slug
    signal: str | None = None
    drop: Share | None = None
    rise: Share | None = None
    below: float | None = None
    above: float | None = None
    trend: Literal["down", "up"] | None = None
    drift: list[str] | None = None
    contract: str | None = None
    absent: Duration | None = None
    severity: Severity = "warning"
    playbook: str | None = None
    for_: Duration | None = Field(default=None, alias="for")

    @property
    def condition_free(self) -> bool:
        """A rule naming only a signal alerts when that signal leaves its healthy bounds."""
        return self.signal is not None and all(
            v is None
            for v in (self.drop, self.rise, self.below, self.above, self.trend, self.drift,
                      self.contract, self.absent)
        )  # fmt: skip

    @model_validator(mode="after")
    def _one_condition(self) -> AlertRule:
        on_signal = [self.drop, self.rise, self.below, self.above, self.trend]
        if any(v is not None for v in on_signal) and not self.signal:
            raise ValueError("drop, rise, below, above and trend watch a `signal`; name one")
        conditions = [*on_signal, self.drift, self.contract, self.absent]
        if all(v is None for v in conditions) and not self.signal:
            raise ValueError(
                "an alert needs a condition: signal with drop/rise/below/above/trend, "
                "drift, contract or absent"
            )
        return self


class EscalationLevel(_Model):
    after: Duration = timedelta(0)
    notify: list[Ref] = Field(min_length=1)


class Escalation(_Model):
    levels: list[EscalationLevel] = Field(default_factory=list)
    repeat: int = Field(default=0, ge=0, le=10)


class Playbook(_Model):
    summary: str = ""
    steps: list[str] = Field(default_factory=list)
    auto_disable: bool = False
    open_decision: Literal["retrain", "replace"] | None = None
    notify_upstream: bool = False


class TriageRule(_Model):
    """One reason to put an observation in front of a person. Exactly one condition."""

    name: Slug
    negative_feedback: bool | None = None
    field: str | None = None
    below: float | None = None
    match: str | None = None
    contract_violation: bool | None = None
    eval_failures: bool | None = None
    sample: Share | None = None
    expr: str | None = None
    priority: int = Field(default=2, ge=0, le=5)

    _match = field_validator("match")(_regex)

    @model_validator(mode="after")
    def _one_condition(self) -> TriageRule:
        conditions = {
            "negative_feedback": self.negative_feedback,
            "below": self.below,
            "match": self.match,
            "contract_violation": self.contract_violation,
            "eval_failures": self.eval_failures,
            "sample": self.sample,
            "expr": self.expr,
        }
        given = [k for k, v in conditions.items() if v not in (None, False)]
        if len(given) != 1:
            raise ValueError(
                "a triage rule has exactly one condition: negative_feedback, below (with field), "
                f"match, contract_violation, eval_failures, sample or expr (got {given or 'none'})"
            )
        if self.below is not None and not self.field:
            raise ValueError("`below` needs the `field` it compares, e.g. output.confidence")
        if self.expr is not None:
            compile_expr(self.expr)
        return self

    @property
    def condition(self) -> str:
        for name in ("negative_feedback", "below", "match", "contract_violation",
                     "eval_failures", "sample", "expr"):  # fmt: skip
            if getattr(self, name) not in (None, False):
                return name
        raise AssertionError("validated to have one condition")


class Triage(_Model):
    rules: list[TriageRule] = Field(default_factory=list)
    deadline: Duration = timedelta(days=7)
    assignee: Ref | None = None
    propose_failure_mode_after: int = Field(default=3, ge=1)


class Runbook(_Model):
    baseline: Baseline = Baseline(first=timedelta(days=14))
    healthy: dict[str, Bound] = Field(default_factory=dict)
    signals: dict[str, Signal] = Field(default_factory=dict)
    alerts: list[AlertRule] = Field(default_factory=list)
    escalation: Escalation = Escalation()
    playbooks: dict[str, Playbook] = Field(default_factory=dict)
    triage: Triage = Triage()
    # What the owner accepts in false alarms, all checks together: every statistical check is
    # calibrated on the baseline to meet it.
    alarm_budget: Budget = Field(default_factory=lambda: _budget("1 per 90d"))
    # An alert resolves after this many evaluations of its rule in a row without it, and an
    # alert that comes back within `reopen_within` of its incident resolving re-opens that
    # incident instead of paging anew.
    resolve_after: int = Field(default=3, ge=1, le=100)
    reopen_within: Duration = timedelta(days=7)


class EvalSuite(_Model):
    suite: Slug
    dataset: str
    target: str
    scorer: str = "exact_match"
    every: Duration | None = None

    @field_validator("target")
    @classmethod
    def _import_path(cls, value: str) -> str:
        if not re.match(r"^[\w.]+:[\w.]+$", value):
            raise ValueError(f"{value!r} is not an import path such as package.module:function")
        return value


class Care(_Model):
    hours_per_month: float = Field(ge=0)


class KillSwitch(_Model):
    fail_mode: Literal["open", "closed"] | None = None
    fallback: str | None = None


class Retention(_Model):
    """How long a system's data is kept, and how much of it raw. Every observation feeds the
    window partials the monitor reads; after RAW_FULL_DAYS only a stable `raw_sample` of the
    rows (and those a triage rule queued, and the baseline period's) stays, so storage follows
    the sample rather than the traffic. Written as a duration alone, it is `keep`."""

    keep: Duration = timedelta(days=180)
    raw_sample: WholeShare = 1.0

    @model_validator(mode="before")
    @classmethod
    def _duration_alone(cls, value: Any) -> Any:
        return {"keep": value} if isinstance(value, str | timedelta) else value


class SystemSpec(_Model):
    lifecycle: Literal["draft", "live", "retired"] = "draft"
    charter: Charter = Charter()
    upstream: list[Upstream] = Field(default_factory=list)
    runbook: Runbook = Runbook()
    evals: list[EvalSuite] = Field(default_factory=list)
    care: Care | None = None
    kill_switch: KillSwitch = KillSwitch()
    retention: Retention = Retention()


class SystemManifest(_Model):
    api_version: Literal["watchkeeper/v1"] = Field(alias="apiVersion")
    kind: Literal["AISystem"]
    metadata: Metadata
    spec: SystemSpec = SystemSpec()

    @property
    def name(self) -> str:
        return self.metadata.name
