"""Triage rules pick the right observations, once each; the sample holds its rate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from watchkeeper.manifest._models import TriageRule
from watchkeeper.monitor.signals import Observation
from watchkeeper.monitor.stats import reviewed_error_rate, wilson
from watchkeeper.testing import T0
from watchkeeper.triage.rules import evaluate, in_sample


def rule(**kw: object) -> TriageRule:
    return TriageRule.model_validate(kw)


def obs(i: int, **kw: object) -> Observation:
    return Observation(id=f"o{i}", ts=T0 + timedelta(seconds=i), **kw)  # type: ignore[arg-type]


def test_each_rule_kind_queues_the_right_observations() -> None:
    rules = [
        rule(name="thumbs-down", negative_feedback=True, priority=3),
        rule(name="low-confidence", field="output.confidence", below=0.5),
        rule(name="refusal", match="(?i)sorry|can.t help", field="output.text", priority=1),
        rule(name="contract", contract_violation=True),
        rule(name="long", expr="len(output.text) > 40", priority=0),
    ]
    data = [
        obs(0, output={"text": "fine", "confidence": 0.9}),
        obs(1, output={"text": "fine", "confidence": 0.3}),
        obs(2, output={"text": "Sorry, I can't help", "confidence": 0.9}),
        obs(3, output={"text": "fine", "confidence": 0.9}, feedback={"thumbs_up": False}),
        obs(4, output={"text": "fine", "confidence": 0.9}),
        obs(5, output={"text": "x" * 50, "confidence": 0.9}),
        obs(6, output={"text": "Sorry", "confidence": 0.2}, feedback={"score": 0.1}),
    ]
    matches = evaluate(rules, data, system="bot", contract_violations=frozenset({"o4"}))
    assert [(m.observation_id, m.rule) for m in matches] == [
        ("o1", "low-confidence"),
        ("o2", "refusal"),
        ("o3", "thumbs-down"),
        ("o4", "contract"),
        ("o5", "long"),
        ("o6", "thumbs-down"),
    ]
    assert matches[0].reason == "output.confidence = 0.3 below 0.5"
    assert "'Sorry'" in matches[1].reason


def test_a_catastrophic_match_rule_on_long_outputs_is_correct() -> None:
    rules = [rule(name="as", match="(a+)+$", field="output.text")]
    texts = ["a" * 100_000 + "b", "a" * 100_000, "b" * 99_999 + "a", ""]
    data = [obs(i, output={"text": text}) for i, text in enumerate(texts)]
    matches = evaluate(rules, data, system="bot")
    assert [m.observation_id for m in matches] == ["o1", "o2"]
    assert matches[0].reason.endswith("a" * 10 + "')") and matches[1].reason.endswith(" ('a')")


def test_random_sample_rate_holds_and_is_stable() -> None:
    ids = [f"obs-{i}" for i in range(20000)]
    picked = [i for i in ids if in_sample(i, 0.05, "bot")]
    share = len(picked) / len(ids)
    # 5% of 20,000: standard error ~0.0015; 4 standard errors of tolerance.
    assert abs(share - 0.05) < 0.006
    assert picked == [i for i in ids if in_sample(i, 0.05, "bot")]
    assert set(picked) != {i for i in ids if in_sample(i, 0.05, "other-system")}


def test_rules_are_validated() -> None:
    with pytest.raises(ValueError, match="exactly one condition"):
        rule(name="x")
    with pytest.raises(ValueError, match="exactly one condition"):
        rule(name="x", match="a", sample="5%")
    with pytest.raises(ValueError, match="needs the `field`"):
        rule(name="x", below=0.5)


def test_reviewed_error_rate_with_wilson_interval() -> None:
    verdicts = ["ok"] * 45 + ["wrong"] * 4 + ["harmful"] + ["unclear"] * 3
    rate = reviewed_error_rate(verdicts)
    assert (rate.errors, rate.reviewed) == (5, 50)
    assert rate.rate == pytest.approx(0.1)
    # Wilson 95% interval for 5/50, computed independently: (0.0435, 0.2136).
    assert rate.low == pytest.approx(0.04348, abs=1e-4)
    assert rate.high == pytest.approx(0.21360, abs=1e-4)
    assert reviewed_error_rate(["unclear"]).rate is None
    assert wilson(0, 10)[0] == 0.0
