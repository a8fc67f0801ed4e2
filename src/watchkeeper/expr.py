"""A small, safe expression language for runbook signals (`expr:`) and triage rules, and the
regular expressions users write (`match:`).

Parsed with Python's `ast` but evaluated by our own walker over an allow-list of nodes: names are
dotted paths into an observation (`inputs.channel`, `output.confidence`, `latency_ms`), and only
arithmetic, comparisons, boolean logic, literals and a few pure functions are allowed. No
attribute access on objects, no calls beyond the list below, no `eval()`.

Users' regular expressions run on RE2, whose matching time is linear in the text: Python's `re`
backtracks, and `(a+)+$` over a long output would hold a monitoring tick for minutes.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

import re2

Fields = Mapping[str, Any]


def _numbers(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """`op` on numbers only: `'x' * 10**9` or `'%999999999d' % 1` would build a gigabyte from a
    short expression, and expressions come from anyone who may read (the explorer's `where`)."""

    def numeric(a: Any, b: Any) -> Any:
        if not (isinstance(a, int | float) and isinstance(b, int | float)):
            raise TypeError("only numbers multiply or take a remainder")
        return op(a, b)

    return numeric


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _numbers(operator.mul),
    ast.Div: operator.truediv,
    ast.Mod: _numbers(operator.mod),
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "abs": abs,
    "min": min,
    "max": max,
    "lower": lambda s: str(s).lower(),
    "contains": lambda s, part: str(part) in str(s),
}


class ExprError(ValueError):
    """The expression layer's one error: bad syntax or a construct that is not allowed."""


def resolve(fields: Fields, path: str) -> Any:
    """`a.b.c` looked up through nested mappings; missing parts are None (not an error)."""
    value: Any = fields
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _path(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _path(node.value)
        return f"{parent}.{node.attr}" if parent else None
    return None


def _check(node: ast.AST) -> None:
    allowed = (
        ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Not, ast.USub,
        ast.Compare, ast.Constant, ast.List, ast.Tuple, ast.Load, ast.IfExp,
        *_BINARY, *_COMPARE,
    )  # fmt: skip
    for child in ast.walk(node):
        if isinstance(child, ast.Name | ast.Attribute):
            path = _path(child)
            if path is None or any(part.startswith("_") for part in path.split(".")):
                raise ExprError("only dotted field names such as inputs.channel are allowed")
            continue
        if isinstance(child, ast.Call):
            if not (isinstance(child.func, ast.Name) and child.func.id in FUNCTIONS):
                raise ExprError(f"only these functions are allowed: {', '.join(FUNCTIONS)}")
            if child.keywords:
                raise ExprError("keyword arguments are not allowed")
            continue
        if not isinstance(child, allowed):
            raise ExprError(f"{type(child).__name__} is not allowed in an expression")


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the user's error, reported to them
    return options


_RE2_OPTIONS = _re2_options()


@functools.lru_cache(maxsize=512)
def compile_regex(text: str) -> Any:
    """A user's pattern, compiled once (at load, then reused by every evaluation), or an
    ExprError saying why RE2 cannot run it. Each compiled pattern is capped at RE2's 8 MiB."""
    try:
        return re2.compile(text, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ExprError(
            f"{text!r} is not a regular expression RE2 can run ({reason}): patterns run in "
            "linear time, so backreferences (\\1) and lookaround ((?=, (?!, (?<=, (?<!) are "
            "not available, and \\Z is written \\z"
        ) from None


def compile_expr(text: str) -> Callable[[Fields], Any]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression at column {exc.offset}: {exc.msg}") from None
    _check(tree)
    body = tree.body

    def run(fields: Fields) -> Any:
        try:
            return _eval(body, fields)
        except (TypeError, ZeroDivisionError, ValueError):
            return None

    return run


def _eval(node: ast.expr, fields: Fields) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute):
        return resolve(fields, _path(node) or "")
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, fields) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, fields) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, fields)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, fields), _eval(node.right, fields))
    if isinstance(node, ast.IfExp):
        chosen = node.body if _eval(node.test, fields) else node.orelse
        return _eval(chosen, fields)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, fields)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, fields)
            unordered = not isinstance(op, ast.Eq | ast.NotEq)
            if (left is None or right is None) and unordered:
                return False
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id](*(_eval(a, fields) for a in node.args))
    raise ExprError(f"{type(node).__name__} is not allowed")
