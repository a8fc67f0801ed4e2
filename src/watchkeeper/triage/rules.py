"""Which outputs need a human look, and why: the runbook's triage rules as pure functions.

The random sample is decided by a hash of the observation id, not a random draw: the same
observation is always in or out, re-running a tick never changes the sample, and the share
converges on the rate — an unbiased base for the reviewed error rate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.expr import Fields, compile_expr, compile_regex, resolve
from watchkeeper.manifest import TriageRule
from watchkeeper.monitor.signals import Observation, fields_of


@dataclass(frozen=True)
class Match:
    observation_id: str
    rule: str
    condition: str
    priority: int
    reason: str


def in_sample(observation_id: str, rate: float, salt: str = "") -> bool:
    digest = hashlib.sha256(f"{salt}:{observation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _negative(feedback: dict[str, object] | None) -> bool:
    if not feedback:
        return False
    if feedback.get("thumbs_up") is False:
        return True
    score = feedback.get("score")
    return isinstance(score, int | float) and not isinstance(score, bool) and score < 0.5


def evaluate(
    rules: Sequence[TriageRule],
    observations: Iterable[Observation],
    *,
    system: str,
    contract_violations: frozenset[str] = frozenset(),
) -> list[Match]:
    """Every (observation, first matching rule by priority) pair; one match per observation."""
    compiled = {r.name: compile_expr(r.expr) for r in rules if r.expr}
    patterns = {r.name: compile_regex(r.match) for r in rules if r.match}
    ordered = sorted(rules, key=lambda r: -r.priority)
    found = []
    for obs in observations:
        fields = fields_of(obs)
        for rule in ordered:
            reason = _reason(rule, obs, fields, compiled, patterns, system, contract_violations)
            if reason:
                found.append(Match(obs.id, rule.name, rule.condition, rule.priority, reason))
                break
    return found


def _reason(
    rule: TriageRule,
    obs: Observation,
    fields: dict[str, object],
    compiled: dict[str, Callable[[Fields], Any]],
    patterns: dict[str, Any],
    system: str,
    violations: frozenset[str],
) -> str | None:
    condition = rule.condition
    if condition == "negative_feedback":
        return "negative feedback" if _negative(obs.feedback) else None
    if condition == "below":
        value = resolve(fields, rule.field or "")
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return f"{rule.field} = {value} below {rule.below:g}" if ok and value < rule.below else None
    if condition == "match":
        text = resolve(fields, rule.field or "output")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        hit = patterns[rule.name].search(text)
        return f"output matches {rule.match!r} ({hit.group(0)!r})" if hit else None
    if condition == "contract_violation":
        return "breaks the upstream contract" if obs.id in violations else None
    if condition == "sample":
        rate = rule.sample or 0.0
        return f"random sample ({rate:.1%})" if in_sample(obs.id, rate, system) else None
    if condition == "expr":
        run = compiled[rule.name]
        return f"{rule.expr}" if run(fields) is True else None
    return None
