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
    type: Literal["email", "webhook", "slack", "pagerduty"] = Field(
        description="How this person is reached: email, a webhook, Slack or PagerDuty"
    )
    url: str | None = Field(
        None, description="Where a webhook or Slack channel posts (required for them)"
    )
    routing_key: str | None = Field(
        None, description="The PagerDuty integration key (required for pagerduty)"
    )
    address: Email | None = Field(
        None, description="Send email here instead of the person's own address"
    )
    secret: str | None = Field(
        None,
        description="Signs webhook bodies (X-Watchkeeper-Signature) for the receiver to check",
    )

    @model_validator(mode="after")
    def _needs_target(self) -> Channel:
        if self.type in ("webhook", "slack") and not self.url:
            raise ValueError(f"a {self.type} channel needs a url")
        if self.type == "pagerduty" and not self.routing_key:
            raise ValueError("a pagerduty channel needs a routing_key")
        return self


class Person(_Model):
    email: Email = Field(description="The person's email: how manifests name them")
    name: str = Field("", description="Display name")
    active: bool = Field(
        True,
        description="false once they leave: their roles fall vacant and their tokens stop working",
    )
    admin: bool = Field(
        False, description="May apply people, (de)activate them, issue tokens and silence all"
    )
    channels: list[Channel] = Field(
        default_factory=list, description="Where notifications reach them besides their email"
    )
    slack: str | None = Field(
        None,
        pattern=r"^[UW][A-Z0-9]{2,20}$",
        description="Their Slack user id (U…): a button they press in Slack acts as them",
    )
    pagerduty: str | None = Field(
        None,
        pattern=r"^P[A-Z0-9]{5,13}$",
        description="Their PagerDuty user id (P…): acknowledging or resolving in PagerDuty "
        "acts here as them",
    )


class Team(_Model):
    name: Slug = Field(description="The team's name, as role holders and escalation levels name it")
    members: list[Email] = Field(
        default_factory=list,
        description="Its members by email, each declared as a person",
    )


class PeopleManifest(_Model):
    api_version: Literal["watchkeeper/v1"] = Field(
        alias="apiVersion", description="Always watchkeeper/v1"
    )
    kind: Literal["People"] = Field(description="People: the people and teams manifests name")
    people: list[Person] = Field(default_factory=list, description="Everyone a manifest may name")
    teams: list[Team] = Field(default_factory=list, description="Named groups of those people")


# --- AISystem -----------------------------------------------------------------------------


class Metadata(_Model):
    name: Slug = Field(description="The system's id: lowercase letters, digits and dashes")
    title: str = Field("", description="Human name shown on the dashboard")
    description: str = Field("", description="What the system does, in a sentence")
    tier: Tier = Field(
        "medium", description="How much harm a failure does: low, medium, high or critical"
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Free key-value tags")
    eu_ai_act: Literal["high-risk", "limited", "minimal"] | None = Field(
        None,
        description="The system's class under the EU AI Act, where it is in scope: a high-risk "
        "system keeps its logs at least six months (Art. 19(1), 26(6)), which the gate checks "
        "and retention honours whatever spec.retention says",
    )


class Charter(_Model):
    owner: Ref | None = Field(None, description="The named product owner of the system")
    quality_monitor: Ref | None = Field(
        None, description="Who watches quality and works the triage queue (person or team)"
    )
    retraining_decider: Ref | None = Field(
        None, description="Who decides to retrain or replace the model (person or team)"
    )
    data_liaison: Ref | None = Field(
        None, description="Who talks to the upstream data owners (person or team)"
    )
    kill_authority: list[Ref] = Field(
        default_factory=list, description="One or a list: who may take the system offline"
    )
    review_every: Duration = Field(
        timedelta(days=30), description="How often the owner reviews the system"
    )
    attest_every: Duration = Field(
        timedelta(days=90), description="How often role holders must acknowledge their role again"
    )

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
    type: Literal["string", "number", "integer", "boolean", "category", "object", "array"] = Field(
        description="The type the upstream promises for this input"
    )
    required: bool = Field(False, description="Every observation must carry this input")
    nullable: bool = Field(True, description="Whether null is an allowed value")
    values: list[str | int | float | bool] | None = Field(
        None, description="For a category: the values the upstream promises"
    )
    min: float | None = Field(None, description="For a number: the smallest value promised")
    max: float | None = Field(None, description="For a number: the largest value promised")


class Upstream(_Model):
    name: Slug = Field(description="The upstream's name, as alert rules' `contract:` name it")
    team: str | None = Field(None, description="The team that owns the upstream")
    contact: Email | None = Field(None, description="Who hears of a contract break")
    contract: dict[str, ContractField] = Field(
        default_factory=dict,
        description="The inputs promised, by name (keys of an observation's inputs)",
    )


class Baseline(_Model):
    first: Duration | None = Field(
        None,
        description="The first whole days of traffic, counted from the UTC midnight before the "
        "first observation",
    )
    from_: date | None = Field(
        default=None,
        alias="from",
        description="The first day of a fixed baseline period (with `to`)",
    )
    to: date | None = Field(
        None, description="The day a fixed baseline period ends, not included (with `from`)"
    )

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
    min: float | None = Field(None, description="The signal is healthy at or above this")
    max: float | None = Field(None, description="The signal is healthy at or below this")

    @model_validator(mode="after")
    def _some_bound(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("a healthy bound needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("`min` is above `max`")
        return self


class Signal(_Model):
    source: Literal["observation", "output", "feedback", "eval", "triage"] = Field(
        alias="from",
        description="What is measured: observations, their outputs, their feedback, eval runs, or "
        "reviewed triage samples",
    )
    kind: Literal["mean", "rate", "quantile", "count", "expr", "score", "estimated"] = Field(
        "mean",
        description="How a window's values become one number (see the README's Data formats); "
        "estimated: a binary classifier's metric estimated from its scores before labels come",
    )
    field: str | None = Field(
        None,
        description="The dotted path measured, e.g. latency_ms, inputs.amount, output.confidence; "
        "for eval, the run metric (default pass_rate)",
    )
    match: str | None = Field(
        None, description="For a rate: the RE2 pattern whose matches count as hits"
    )
    q: float | None = Field(
        default=None, gt=0, lt=1, description="For a quantile: which one, e.g. 0.95 (default 0.5)"
    )
    expr: str | None = Field(
        None, description="For kind expr: the expression computed per observation"
    )
    suite: str | None = Field(None, description="For from: eval: the eval suite read")
    window: Duration = Field(
        timedelta(days=1),
        description="The window the signal is computed over, aligned to the Unix epoch",
    )
    metric: Literal["roc_auc", "accuracy", "precision", "recall", "f1"] | None = Field(
        None, description="For kind estimated: the metric estimated"
    )
    score: str | None = Field(
        None,
        description="For kind estimated: the path of the model's score, the probability of the "
        "positive class in [0, 1], e.g. output.score",
    )
    prediction: str | None = Field(
        None,
        description="For kind estimated: the path of the model's 0/1 decision, e.g. "
        "output.approved (roc_auc needs none)",
    )
    positive: str = Field(
        "1",
        description="For kind estimated: the feedback label of the positive class (also true "
        "and 1 as numbers or booleans)",
    )

    @model_validator(mode="after")
    def _estimated(self) -> Signal:
        """An estimated metric needs its score and (but for roc_auc) its decision, read from
        observations; the fields mean nothing to other kinds, so they are refused there."""
        fields = {"metric": self.metric, "score": self.score, "prediction": self.prediction}
        if self.kind != "estimated":
            given = [k for k, v in fields.items() if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)} belong to kind: estimated")
            return self
        if self.source not in ("observation", "output"):
            raise ValueError("an estimated metric reads observations: from: observation")
        needed = ["metric", "score"] + ([] if self.metric == "roc_auc" else ["prediction"])
        missing = [k for k in needed if fields[k] is None]
        if missing:
            raise ValueError(
                f"kind estimated needs {', '.join(missing)} (e.g. metric: accuracy, "
                "score: output.score, prediction: output.approved)"
            )
        return self

    @field_validator("expr")
    @classmethod
    def _expr(cls, value: str | None) -> str | None:
        if value is not None:
            compile_expr(value)
        return value

    _match = field_validator("match")(_regex)


class AlertRule(_Model):
    name: Slug = Field(description="The rule's name, shown on alerts and incidents")
    signal: str | None = Field(
        None,
        description="The signal watched; alone, the rule fires when it leaves its healthy bounds",
    )
    drop: Share | None = Field(
        None, description="Fire when the signal drops this share below the baseline"
    )
    rise: Share | None = Field(
        None, description="Fire when the signal rises this share above the baseline"
    )
    below: float | None = Field(None, description="Fire when the signal is below this value")
    above: float | None = Field(None, description="Fire when the signal is above this value")
    trend: Literal["down", "up"] | None = Field(
        None, description="Fire on a sustained trend in this direction (CUSUM and Theil-Sen slope)"
    )
    drift: list[str] | None = Field(
        None,
        description="Columns watched for drift: contract fields, latency_ms, output_length, "
        "output.FIELD, metadata.KEY, output_embedding",
    )
    contract: str | None = Field(None, description="Fire when this upstream breaks its contract")
    absent: Duration | None = Field(
        None, description="Fire when no observation arrives for this long"
    )
    severity: Severity = Field("warning", description="info, warning, error or critical")
    playbook: str | None = Field(
        None, description="The playbook run when the alert joins an incident"
    )
    for_: Duration | None = Field(
        default=None, alias="for", description="Fire only once the condition has held this long"
    )

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
    after: Duration = Field(
        timedelta(0),
        description="How long after the incident opened, unacknowledged, this level is paged",
    )
    notify: list[Ref] = Field(min_length=1, description="People or teams paged at this level")


class Escalation(_Model):
    levels: list[EscalationLevel] = Field(
        default_factory=list, description="Who is paged, and when, until someone acknowledges"
    )
    repeat: int = Field(
        default=0,
        ge=0,
        le=10,
        description="How many times the levels run again when nobody acknowledges",
    )


class Playbook(_Model):
    summary: str = Field(
        "", description="One line on what the playbook is for, on the incident timeline"
    )
    steps: list[str] = Field(
        default_factory=list, description="What to do, in order; put on the incident's timeline"
    )
    auto_disable: bool = Field(
        False, description="Take the system offline at once; its kill authorities are told"
    )
    open_decision: Literal["retrain", "replace"] | None = Field(
        None, description="Open a pending retrain-or-replace decision for the retraining decider"
    )
    notify_upstream: bool = Field(
        True,
        description="On a contract break, tell the upstream's contact and the data liaison "
        "(the default; false opts this playbook out)",
    )


class TriageRule(_Model):
    """One reason to put an observation in front of a person. Exactly one condition."""

    name: Slug = Field(description="The rule's name, shown on the items it queues")
    negative_feedback: bool | None = Field(
        None, description="Queue observations with thumbs down or a score below 0.5"
    )
    field: str | None = Field(
        None, description="The dotted path `below` compares (and `match` reads; default output)"
    )
    below: float | None = Field(None, description="Queue observations whose `field` is below this")
    match: str | None = Field(
        None, description="Queue observations whose output matches this RE2 pattern"
    )
    contract_violation: bool | None = Field(
        None, description="Queue observations that break an upstream contract"
    )
    eval_failures: bool | None = Field(None, description="Queue the failed cases of eval runs")
    sample: Share | None = Field(
        None,
        description="Queue a stable random share of observations (the reviewed error rate's base)",
    )
    expr: str | None = Field(
        None, description="Queue observations for which this expression is true"
    )
    priority: int = Field(
        default=2,
        ge=0,
        le=5,
        description="0 to 5; higher first, and the first matching rule by priority queues",
    )

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
    rules: list[TriageRule] = Field(
        default_factory=list, description="Why an observation is put in front of a person"
    )
    deadline: Duration = Field(
        timedelta(days=7), description="How soon a queued item should have a verdict"
    )
    assignee: Ref | None = Field(
        None, description="Who works the queue (default: the quality monitor)"
    )
    propose_failure_mode_after: int = Field(
        default=3, ge=1, description="Propose a failure-mode record once a tag is seen this often"
    )


class Runbook(_Model):
    baseline: Baseline = Field(
        Baseline(first=timedelta(days=14)),
        description="The period every later window is compared with",
    )
    healthy: dict[str, Bound] = Field(
        default_factory=dict, description="Healthy bounds per signal name"
    )
    signals: dict[str, Signal] = Field(
        default_factory=dict, description="Named quality measures, computed per window"
    )
    alerts: list[AlertRule] = Field(default_factory=list, description="When to raise an alert")
    escalation: Escalation = Field(Escalation(), description="Who is paged, and when")
    playbooks: dict[str, Playbook] = Field(
        default_factory=dict, description="What an alert sets off, by name"
    )
    triage: Triage = Field(Triage(), description="The queue of outputs a person should look at")
    alarm_budget: Budget = Field(
        default_factory=lambda: _budget("1 per 90d"),
        description="False alarms the owner accepts, all checks together: each statistical "
        "check is calibrated on the baseline to meet it",
    )
    resolve_after: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Evaluations in a row without its condition before an alert resolves",
    )
    reopen_within: Duration = Field(
        timedelta(days=7),
        description="A cause back within this long of its incident resolving re-opens it "
        "instead of paging anew",
    )
    rehearse_every: Duration | None = Field(
        None,
        description="Rehearse the runbook this often with `wk rehearse` (e.g. 90d, at least 1d): "
        "the gate accepts a passed quality-drop rehearsal this recent for any version of the "
        "manifest, and an overdue one is a vacuum gap",
    )

    @field_validator("rehearse_every")
    @classmethod
    def _rehearsals_at_most_daily(cls, value: timedelta | None) -> timedelta | None:
        """A rehearsal proves the runbook, which changes with its manifest, not by the hour."""
        if value is not None and value < timedelta(days=1):
            raise ValueError(f"rehearsals are at least a day apart, not {format_duration(value)}")
        return value


class EvalSuite(_Model):
    suite: Slug = Field(description="The suite's name, as eval signals name it")
    dataset: str = Field(description="The golden set: a JSONL file of cases")
    target: str = Field(description="The system's callable, as package.module:function")
    scorer: str = Field(
        "exact_match",
        description="A built-in scorer (contains, exact_match, json_valid, numeric_close, regex) "
        "or module:function",
    )
    every: Duration | None = Field(
        None, description="Run on this schedule; without it, on demand only"
    )

    @field_validator("target")
    @classmethod
    def _import_path(cls, value: str) -> str:
        if not re.match(r"^[\w.]+:[\w.]+$", value):
            raise ValueError(f"{value!r} is not an import path such as package.module:function")
        return value


class Care(_Model):
    hours_per_month: float = Field(ge=0, description="The recurring care budget, in hours a month")


class KillSwitch(_Model):
    fail_mode: Literal["open", "closed"] | None = Field(
        None, description="What the SDK does without the server when it knows of no kill"
    )
    fallback: str | None = Field(
        None, description="What serving does instead while the system is off"
    )
    drill_every: Duration | None = Field(
        None,
        description="Exercise the switch this often with `wk drill` (e.g. 90d, at least 1d): "
        "every live SDK process must confirm a version bump that leaves the state as it is; "
        "an overdue or failed drill is a vacuum gap",
    )

    @field_validator("drill_every")
    @classmethod
    def _drills_at_most_daily(cls, value: timedelta | None) -> timedelta | None:
        """A drill every few minutes would be load on every serving process, not assurance."""
        if value is not None and value < timedelta(days=1):
            raise ValueError(f"drills are at least a day apart, not {format_duration(value)}")
        return value


class Retention(_Model):
    """How long a system's data is kept, and how much of it raw. Every observation feeds the
    window partials the monitor reads; after RAW_FULL_DAYS only a stable `raw_sample` of the
    rows (and those a triage rule queued, and the baseline period's) stays, so storage follows
    the sample rather than the traffic. Written as a duration alone, it is `keep`."""

    keep: Duration = Field(
        timedelta(days=180),
        description="How long observations, feedback, partials and dead letters are kept",
    )
    raw_sample: WholeShare = Field(1.0, description="The share of raw rows kept after 7 days")

    @model_validator(mode="before")
    @classmethod
    def _duration_alone(cls, value: Any) -> Any:
        return {"keep": value} if isinstance(value, str | timedelta) else value


class SystemSpec(_Model):
    lifecycle: Literal["draft", "live", "retired"] = Field(
        "draft", description="draft, live or retired; going live starts the review clock"
    )
    charter: Charter = Field(Charter(), description="Who is responsible for what")
    upstream: list[Upstream] = Field(
        default_factory=list,
        description="Where inputs come from, who to tell, and what was promised",
    )
    runbook: Runbook = Field(
        Runbook(), description="Signals, alerts and what to do, written before launch"
    )
    evals: list[EvalSuite] = Field(default_factory=list, description="Golden-set eval suites")
    care: Care | None = Field(None, description="The recurring care budget")
    kill_switch: KillSwitch = Field(
        KillSwitch(), description="How serving behaves when switched off"
    )
    retention: Retention = Field(
        Retention(), description="How long data is kept; a duration alone is `keep`"
    )


class SystemManifest(_Model):
    api_version: Literal["watchkeeper/v1"] = Field(
        alias="apiVersion", description="Always watchkeeper/v1"
    )
    kind: Literal["AISystem"] = Field(description="AISystem: one per system, in its repo")
    metadata: Metadata = Field(description="The system's name and labels")
    spec: SystemSpec = Field(SystemSpec(), description="The charter, runbook and everything else")

    @property
    def name(self) -> str:
        return self.metadata.name
