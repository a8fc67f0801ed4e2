"""The traffic a rehearsal sends: a day of observations, feedback and eval runs, either replayed
from the system's own baseline or made from its contracts and signals, and the same day with the
scenario injected. Pure: a seeded random generator and plain dicts, as ingest accepts them."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.manifest import Bound, ContractField, Signal, SystemManifest, TriageRule
from watchkeeper.rehearsal._examples import matching, not_matching
from watchkeeper.rehearsal._plan import DAY, Target
from watchkeeper.store import ObservationRecord

SYNTHETIC_PER_DAY = 480
"""Twenty observations an hour when the system has no history to replay: enough for hourly
windows to hold a value, few enough that two months simulate in seconds."""
MAX_PER_DAY = 5_000
"""A busy system's days are thinned to this many observations: the checks need hundreds per
window, not millions, and a rehearsal must finish while its owner waits."""
FEEDBACK_SHARE = 0.5
EVAL_CASES = 50
EVAL_HOUR = timedelta(hours=12)
"""Runs land at midday: a run at the very instant the baseline ends would count in it."""


@dataclass
class Day:
    start: datetime
    observations: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class EvalUpload:
    at: datetime
    suite: str
    run: dict[str, Any]


def level_of(signal: Signal, bound: Bound | None) -> float:
    """A healthy value for a signal to sit at when there is no history: inside its bound with
    room to fall, and for shares and scores a value between 0 and 1."""
    share = signal.kind == "rate" or signal.source in ("feedback", "eval")
    if bound is not None and bound.min is not None:
        return (bound.min + 1) / 2 if share and bound.min < 1 else bound.min * 1.5 or 1.0
    if bound is not None and bound.max is not None:
        return bound.max / 2
    if signal.kind == "count":
        return float(SYNTHETIC_PER_DAY)
    return 0.8 if share else 500.0


class Synthetic:
    """Observations shaped by the manifest: inputs from the upstream contracts, outputs and
    fields that put each signal at a healthy level."""

    def __init__(
        self, manifest: SystemManifest, rng: random.Random, *, first: str | None = None
    ) -> None:
        """`first`: the signal the scenario aims at, whose pattern is tried first so that its
        rate is exactly its level (a later pattern hits only where the earlier ones missed)."""
        runbook = manifest.spec.runbook
        self.rng = rng
        self.levels = {
            name: level_of(signal, runbook.healthy.get(name))
            for name, signal in runbook.signals.items()
        }
        self.signals = runbook.signals
        self.contract = {n: f for u in manifest.spec.upstream for n, f in u.contract.items()}
        self.patterns = sorted(
            (
                (name, s.match)
                for name, s in runbook.signals.items()
                if s.source == "output" and s.kind == "rate" and s.match and not s.field
            ),
            key=lambda pair: pair[0] != first,
        )
        self.plain = not_matching(*(p for _, p in self.patterns)) or ""
        self.output_fields = sorted(
            {
                s.field
                for s in runbook.signals.values()
                if s.source == "output" and s.field and s.field != "length"
            }
            | {
                c.removeprefix("output.")
                for r in runbook.alerts
                for c in r.drift or ()
                if c.startswith("output.")
            }
        )

    def day(self, start: datetime, number: int) -> Day:
        day = Day(start)
        per_day = SYNTHETIC_PER_DAY
        step = DAY / per_day
        for i in range(per_day):
            oid = f"r{number}-{i}"
            item: dict[str, Any] = {
                "id": oid,
                "ts": (start + i * step).isoformat(),
                "inputs": {n: self._value(f) for n, f in self.contract.items()},
                "output": self._output(),
                "latency_ms": round(self.rng.lognormvariate(6, 0.3), 1),
            }
            for name, signal in self.signals.items():
                if signal.source == "observation" and signal.kind in ("mean", "quantile"):
                    path = signal.field or "latency_ms"
                    set_path(item, path, self._around(self.levels[name]))
            day.observations.append(item)
            if self.rng.random() < FEEDBACK_SHARE:
                feedback = self._feedback(oid)
                if feedback:
                    day.feedback.append(feedback)
        return day

    def _value(self, spec: ContractField) -> Any:
        rng = self.rng
        if spec.values:
            return rng.choice(spec.values)
        if spec.type in ("number", "integer"):
            low = spec.min if spec.min is not None else 0.0
            high = spec.max if spec.max is not None else low + 100.0
            value = rng.uniform(low, high)
            return round(value) if spec.type == "integer" else round(value, 3)
        if spec.type == "boolean":
            return rng.random() < 0.5
        if spec.type == "category":
            return rng.choice(["a", "b", "c"])
        if spec.type == "object":
            return {}
        if spec.type == "array":
            return []
        return f"text {rng.randrange(10_000)}"

    def _output(self) -> Any:
        text = f"{self.plain} {'lorem ' * self.rng.randrange(30)}".strip()
        if any(re.search(p, text) for _, p in self.patterns):
            text = self.plain
        for name, pattern in self.patterns:
            if self.rng.random() < self.levels[name]:
                text = matching(pattern) or text
                break
        if not self.output_fields:
            return text
        output: dict[str, Any] = {}
        for name in self.output_fields:
            signal = next(
                (s for n, s in self.signals.items() if s.source == "output" and s.field == name),
                None,
            )
            level = self.levels.get(_named(self.signals, signal), 1.0)
            if signal is not None and signal.kind == "rate":
                output[name] = self.rng.random() < level
            else:
                output[name] = self._around(level)
        return output

    def _feedback(self, oid: str) -> dict[str, Any] | None:
        feedback: dict[str, Any] = {}
        for name, signal in self.signals.items():
            if signal.source != "feedback":
                continue
            key = signal.field or "score"
            level = self.levels[name]
            if key == "thumbs_up" or signal.kind == "rate":
                feedback[key] = self.rng.random() < level
            elif key in ("score", "label"):
                feedback[key] = self._share(level) if key == "score" else str(int(level))
        return {"observation_id": oid, **feedback} if feedback else None

    def _around(self, level: float) -> float:
        return max(0.0, round(self.rng.gauss(level, abs(level) * 0.1), 4))

    def _share(self, level: float) -> float:
        return min(1.0, max(0.0, round(self.rng.gauss(level, 0.05), 4)))


def _named(signals: Mapping[str, Signal], signal: Signal | None) -> str:
    return next((n for n, s in signals.items() if s is signal), "")


class History:
    """The system's own baseline days replayed in turn, each moved to the day it stands for;
    their feedback comes with them."""

    def __init__(self, days: Sequence[Sequence[ObservationRecord]], origin: Sequence[datetime]):
        self.days, self.origin = days, origin

    def day(self, start: datetime, number: int) -> Day:
        index = number % len(self.days)
        shift = start - self.origin[index]
        day = Day(start)
        for record in self.days[index]:
            oid = f"r{number}-{record.id}"
            item: dict[str, Any] = {
                "id": oid,
                "ts": (record.ts + shift).isoformat(),
                "inputs": record.inputs,
                "output": record.output,
            }
            for key in ("latency_ms", "model_version"):
                if getattr(record, key) is not None:
                    item[key] = getattr(record, key)
            if record.metadata:
                item["metadata"] = record.metadata
            day.observations.append(item)
            given = {k: v for k, v in (record.feedback or {}).items() if k in _FEEDBACK_FIELDS}
            if given:
                day.feedback.append({"observation_id": oid, **given})
        return day


_FEEDBACK_FIELDS = ("label", "score", "thumbs_up")


def eval_uploads(
    manifest: SystemManifest,
    levels: Mapping[str, float],
    start: datetime,
    end: datetime,
    factor: Callable[[str, datetime], float],
    rng: random.Random,
) -> list[EvalUpload]:
    """A run of each scheduled suite at its cadence from `start`, passing at the level of the
    signal that reads it (times `factor(signal, at)`: the scenario's drop)."""
    runs = []
    signals = manifest.spec.runbook.signals
    for suite in manifest.spec.evals:
        every = suite.every or timedelta(days=7)
        reading = next(
            (n for n, s in signals.items() if s.source == "eval" and s.suite == suite.suite), None
        )
        at = start + EVAL_HOUR
        while at < end:
            rate = (levels.get(reading, 0.9) if reading else 0.9) * (
                factor(reading, at) if reading else 1.0
            )
            runs.append(EvalUpload(at, suite.suite, _run(suite.suite, at, rate, rng)))
            at += every
    return runs


def _run(suite: str, at: datetime, rate: float, rng: random.Random) -> dict[str, Any]:
    cases = []
    verdicts = [rng.random() < rate for _ in range(EVAL_CASES)]
    for i, passed in enumerate(verdicts):
        cases.append(
            {
                "id": f"case-{i}",
                "input": i,
                "expected": 1,
                "output": 1 if passed else 0,
                "score": 1.0 if passed else 0.0,
                "passed": passed,
                "detail": "",
                "error": None,
                "timed_out": False,
                "duration_ms": 1.0,
                "tags": [],
            }
        )
    hits = sum(verdicts)
    return {
        "format": 1,
        "started_at": at.isoformat(),
        "duration_ms": 50.0,
        "dataset": f"rehearsal/{suite}",
        "dataset_sha256": "0" * 64,
        "target": "rehearsal",
        "scorer": "exact_match",
        "scorer_options": {},
        "model_version": None,
        "summary": {
            "count": EVAL_CASES,
            "passed": hits,
            "errors": 0,
            "timeouts": 0,
            "mean_score": hits / EVAL_CASES,
            "pass_rate": hits / EVAL_CASES,
            "by_tag": {},
            "labels": None,
        },
        "cases": cases,
    }


# --- the scenario ----------------------------------------------------------------------------


HARMFUL = "rehearsal"
"""The metadata key marking the harmful observation, so the rehearsal finds it in the queue."""


def inject(
    day: Day, aim: Target, rng: random.Random, began: datetime, triage: Sequence[TriageRule]
) -> Day:
    """The day as the scenario makes it (from when the scenario began)."""
    if aim.scenario == "harmful-output":
        first = next((o for o in day.observations if _ts(o) >= began), None)
        if first is not None and _ts(first) < began + DAY:
            _harm(day, first, triage)
        return day
    if aim.scenario == "silence":
        return Day(day.start)
    if aim.scenario == "drift":
        for item in day.observations:
            for column in aim.columns:
                _shift(item, column)
        return day
    if aim.scenario == "upstream-break":
        name = aim.columns[0]
        for item in day.observations:
            inputs = dict(item.get("inputs") or {})
            if name in inputs:
                inputs[f"{name}_v2"] = inputs.pop(name)
            item["inputs"] = inputs
        return day
    if aim.scenario == "quality-drop" and aim.signal is not None:
        return _drop(day, aim.signal, aim.factor, rng)
    return day


def _ts(item: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(item["ts"])


def _harm(day: Day, item: dict[str, Any], triage: Sequence[TriageRule]) -> None:
    """Make `item` the harmful answer: the text a `match:` rule looks for (else plain words),
    its user's thumbs down and zero score, and every `below:` field under its limit — whatever
    the runbook's triage rules would catch a harmful output by."""
    pattern = next((r.match for r in triage if r.match), None)
    item["output"] = (matching(pattern) if pattern else None) or (
        "Tell the customer to dispute the charge twice to be refunded twice."
    )
    for rule in triage:
        if rule.field and rule.below is not None and not rule.field.startswith("feedback."):
            set_path(item, rule.field, rule.below - 1)
    item["metadata"] = {**(item.get("metadata") or {}), HARMFUL: "harmful"}
    day.feedback = [f for f in day.feedback if f["observation_id"] != item["id"]]
    day.feedback.append({"observation_id": item["id"], "thumbs_up": False, "score": 0.0})


def _drop(day: Day, signal: Signal, factor: float, rng: random.Random) -> Day:
    """Move the signal to `factor` of its level: numbers scaled, hits and true values kept with
    probability `factor`, rows kept with it for a count."""
    lose = 1 - factor
    if signal.kind == "count":
        day.observations = [o for o in day.observations if rng.random() >= lose]
        return day
    if signal.source == "eval":
        return day
    if signal.source == "feedback":
        key = signal.field or "score"
        for item in day.feedback:
            if key in item:
                item[key] = _lowered(item[key], factor, lose, rng)
        return day
    path = _path(signal)
    for item in day.observations:
        value = get_path(item, path)
        if signal.kind == "rate" and signal.match:
            text = value if isinstance(value, str) else str(value)
            if re.search(signal.match, text) and rng.random() < lose:
                set_path(item, path, not_matching(signal.match) or "")
        elif value is not None:
            set_path(item, path, _lowered(value, factor, lose, rng))
    return day


def _lowered(value: Any, factor: float, lose: float, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return value and rng.random() >= lose
    if isinstance(value, int | float):
        return value * factor
    return value


def _path(signal: Signal) -> str:
    if signal.source == "output":
        if signal.field == "length":
            return "output"
        return f"output.{signal.field}" if signal.field else "output"
    return signal.field or "latency_ms"


def _shift(item: dict[str, Any], column: str) -> None:
    """Move one watched column far from where it was: numbers tripled and offset, categories
    and text replaced by a value the baseline never had, outputs lengthened or changed."""
    if column == "output_embedding":
        item["output"] = "Lorem ipsum dolor sit amet: an answer unlike any the baseline gave."
        return
    if column == "output_length":
        if isinstance(item.get("output"), str):
            item["output"] = item["output"] * 5 + " (much longer)"
        return
    path = column if "." in column or column == "latency_ms" else f"inputs.{column}"
    value = get_path(item, path)
    if isinstance(value, bool) or value is None:
        set_path(item, path, "rehearsal-shifted")
    elif isinstance(value, int | float):
        set_path(item, path, value * 3 + 10)
    else:
        set_path(item, path, "rehearsal-shifted")


def get_path(item: Mapping[str, Any], path: str) -> Any:
    head, _, rest = path.partition(".")
    value = item.get(head)
    if not rest:
        return value
    return value.get(rest) if isinstance(value, dict) else None


def set_path(item: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        item[head] = value
        return
    inner = item.get(head)
    inner = dict(inner) if isinstance(inner, dict) else {}
    inner[rest] = value
    item[head] = inner
