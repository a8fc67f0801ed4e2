"""The safe expression language: useful arithmetic and logic, nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from watchkeeper.expr import ExprError, compile_expr, compile_regex
from watchkeeper.manifest._models import Signal
from watchkeeper.monitor.signals import Observation, SignalValue, compute
from watchkeeper.testing import T0

FIELDS = {"inputs": {"channel": "chat", "age": 40}, "output": {"confidence": 0.3}, "n": 2}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("output.confidence < 0.5", True),
        ("inputs.channel in ['chat', 'email'] and inputs.age >= 18", True),
        ("n * 3 + 1", 7),
        ("len(inputs.channel)", 4),
        ("lower('ABC') == 'abc'", True),
        ("inputs.missing > 3", False),
        ("inputs.missing == None", True),
        ("1 / 0", None),
        ("'yes' if n > 1 else 'no'", "yes"),
    ],
)
def test_evaluates(text: str, expected: object) -> None:
    assert compile_expr(text)(FIELDS) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "inputs.__class__",
        "open('x')",
        "[x for x in inputs]",
        "lambda: 1",
        "(1).real",
        "len(x=1)",
        "inputs[0]",
        "1 +",
    ],
)
def test_refuses(text: str) -> None:
    with pytest.raises(ExprError):
        compile_expr(text)


# Written by users, run on every observation: worst-case inputs must stay linear.
PATHOLOGICAL = ["a" * 100_000 + "b", "a" * 100_000, "b" * 99_999 + "a", ""]


def test_user_regexes_run_on_re2_compiled_once() -> None:
    pattern = compile_regex("(?i)sorry|can.t help")
    assert type(pattern).__module__ == "re2"
    assert compile_regex("(?i)sorry|can.t help") is pattern
    hit = pattern.search("Well, SORRY.")
    assert hit is not None and hit.group(0) == "SORRY"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (r"(a)\1", r"invalid escape sequence: \1"),
        ("(?<=a)b", "invalid perl operator: (?<"),
        ("(", "missing ): ("),
        (r"\pL{1000}" * 30, "pattern too large - compile failed"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ExprError) as caught:
        compile_regex(text)
    assert f"not a regular expression RE2 can run ({why}" in str(caught.value)


def test_a_rate_signal_with_a_catastrophic_pattern_on_long_outputs_is_correct() -> None:
    signal = Signal.model_validate({"from": "output", "kind": "rate", "match": "(a+)+$"})
    observations = [
        Observation(id=f"o{i}", ts=T0 + timedelta(seconds=i), output=text)
        for i, text in enumerate(PATHOLOGICAL)
    ]
    assert compute(signal, observations) == SignalValue(0.5, 4)


@pytest.mark.parametrize(
    "text", ["len('x' * 999999999 * 9) > 0", "len([0] * 999999999) > 0", "len('%999999999d' % 1)"]
)
def test_a_short_expression_cannot_build_a_huge_value(text: str) -> None:
    """Anyone who may read writes expressions (the explorer's `where`): repetition and string
    formatting are refused at once, not attempted."""
    assert compile_expr(text)({}) is None


def test_numbers_still_multiply_and_take_remainders() -> None:
    assert compile_expr("latency_ms * 2 % 7")({"latency_ms": 5}) == 3
