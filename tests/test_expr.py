"""The safe expression language: useful arithmetic and logic, nothing else."""

from __future__ import annotations

import pytest

from watchkeeper.expr import ExprError, compile_expr

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
