"""Texts that a rate signal's pattern matches, and one it does not, for synthetic outputs.

A rehearsal without history makes outputs up; a `rate` signal with `match:` counts how many
match, so the made-up outputs must hit the pattern at the rate wanted. No maintained library
turns a regular expression into an example without pulling in a test framework (Hypothesis's
`from_regex`), and the patterns runbooks use are short: walk Python's own parse of the pattern
and check the result with the pattern itself, so a construct this walk gets wrong is refused
rather than trusted.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

_parser: Any = importlib.import_module("re._parser")

_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": " ",
}
_PLAIN = ("ok", "the answer", "rehearsal output", "", "-")


def matching(pattern: str) -> str | None:
    """A text `pattern` finds (re.search), or None when none could be made."""
    try:
        text = _walk(_parser.parse(pattern))
    except (_Unsupported, re.error, RecursionError):
        return None
    return text if re.search(pattern, text) else None


def not_matching(*patterns: str) -> str | None:
    """A text none of `patterns` finds, or None (when one finds everything)."""
    return next((t for t in _PLAIN if not any(re.search(p, t) for p in patterns)), None)


class _Unsupported(Exception):
    pass


def _walk(items: Any) -> str:
    return "".join(_item(op, av) for op, av in items)


def _item(op: Any, av: Any) -> str:
    name = str(op)
    if name == "LITERAL":
        return chr(av)
    if name in ("NOT_LITERAL", "ANY"):
        return "x" if av != ord("x") else "y"
    if name == "IN":
        return _in(av)
    if name == "BRANCH":
        return _walk(av[1][0])
    if name == "SUBPATTERN":
        return _walk(av[3])
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _, sub = av
        return _walk(sub) * max(int(low), 1)
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return ""
    if name == "CATEGORY":
        return _CATEGORY_CHARS.get(str(av), "a")
    if name == "ATOMIC_GROUP":
        return _walk(av)
    raise _Unsupported(name)


def _in(items: Any) -> str:
    if items and str(items[0][0]) == "NEGATE":
        raise _Unsupported("NEGATE")
    op, av = items[0]
    name = str(op)
    if name == "LITERAL":
        return chr(av)
    if name == "RANGE":
        return chr(av[0])
    if name == "CATEGORY":
        return _CATEGORY_CHARS.get(str(av), "a")
    raise _Unsupported(name)
