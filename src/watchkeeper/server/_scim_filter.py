"""SCIM filters (RFC 7644 §3.4.2.2) and attribute paths (§3.5.2): parsed into plain data, and
evaluated over a resource as its JSON shows it. Pure: no store, no HTTP.

What Okta and Entra ID send is `userName eq "…"`, `externalId eq "…"`, `displayName eq "…"`,
`emails[type eq "work"].value eq "…"` or `emails.value eq "…"`, and, in PATCH paths,
`members[value eq "…"]`; the whole grammar (and/or/not, grouping, pr, the comparison
operators, value paths) costs little more, so all of it is here. Directories are small, so a
filter is evaluated over every resource rather than translated to SQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Scalar = str | int | float | bool | None
"""A comparison value in a filter: a JSON string, number, true, false or null."""
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<lparen>\() | (?P<rparen>\)) | (?P<lbracket>\[) | (?P<rbracket>\])
    | (?P<word>[A-Za-z0-9_$:.\-+]+)
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"}
URN = re.compile(r"^(urn:[A-Za-z0-9:._-]+):(?=[A-Za-z$][\w$.-]*$)")


class FilterError(ValueError):
    """A filter or path that cannot be parsed, with what and where (`invalidFilter`)."""


@dataclass(frozen=True)
class AttrPath:
    """`name` or `name.sub`, case-insensitive (kept lower-case), any schema URN dropped."""

    name: str
    sub: str | None = None

    def __str__(self) -> str:
        return f"{self.name}.{self.sub}" if self.sub else self.name


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Scalar


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class Logical:
    op: str  # and | or
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """`emails[type eq "work"]`: the elements of a multi-valued attribute that match."""

    name: str
    where: Filter


Filter = Compare | Present | Logical | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH operation's `path`: an attribute, a sub-attribute, or the elements of a
    multi-valued attribute matching a filter and, optionally, one sub-attribute of them."""

    name: str
    sub: str | None = None
    where: Filter | None = None


def attr_path(text: str) -> AttrPath:
    """`urn:…:User:name.formatted` -> AttrPath("name", "formatted")."""
    bare = URN.sub("", text)
    if not re.fullmatch(r"[A-Za-z$][\w$-]*(\.[A-Za-z$][\w$-]*)?", bare):
        raise FilterError(f"{text!r} is not an attribute path (name or name.sub)")
    name, _, sub = bare.lower().partition(".")
    return AttrPath(name, sub or None)


def parse_filter(text: str) -> Filter:
    """A filter as plain data; FilterError naming what is wrong and where."""
    tokens = _tokens(text)
    if not tokens:
        raise FilterError("the filter is empty")
    parser = _Parser(tokens, text)
    found = parser.expression()
    if parser.at < len(tokens):
        raise FilterError(f"unexpected {tokens[parser.at][1]!r} after a complete filter")
    return found


def parse_patch_path(text: str) -> PatchPath:
    """`active`, `name.formatted`, `members[value eq "…"]`, `emails[type eq "work"].value`."""
    match = re.fullmatch(r"\s*([^\[\]]+?)\s*(?:\[(.*)\](?:\.([A-Za-z$][\w$-]*))?)?\s*", text)
    if match is None:
        raise FilterError(f"{text!r} is not a PATCH path")
    head, where, after = match.group(1), match.group(2), match.group(3)
    path = attr_path(head)
    if where is None:
        return PatchPath(path.name, path.sub)
    if path.sub is not None:
        raise FilterError(f"{text!r}: a filter in brackets follows an attribute, not a sub")
    return PatchPath(path.name, after.lower() if after else None, parse_filter(where))


def matches(resource: Mapping[str, Any], found: Filter, exact: Callable[[str], bool]) -> bool:
    """Whether a resource (its SCIM JSON, keys in any case) satisfies a filter. `exact` says
    which attribute paths compare case-sensitively (RFC 7643 `caseExact`)."""
    if isinstance(found, Logical):
        left = matches(resource, found.left, exact)
        if found.op == "and":
            return left and matches(resource, found.right, exact)
        return left or matches(resource, found.right, exact)
    if isinstance(found, Not):
        return not matches(resource, found.inner, exact)
    if isinstance(found, ValuePath):
        return bool(elements(resource, found.name, found.where, exact))
    values = _values(resource, found.path)
    if isinstance(found, Present):
        return any(v not in (None, "", [], {}) for v in values)
    case = exact(str(found.path))
    if found.op == "ne":
        return not any(_compare(v, "eq", found.value, case) for v in values)
    return any(_compare(v, found.op, found.value, case) for v in values)


def elements(
    resource: Mapping[str, Any], name: str, where: Filter, exact: Callable[[str], bool]
) -> list[int]:
    """Indexes of a multi-valued attribute's elements that satisfy `where` (a sub-attribute
    filter; each element is matched as if it were the resource)."""
    items = get(resource, name)
    if not isinstance(items, list):
        return []
    scoped: Callable[[str], bool] = lambda sub: exact(f"{name}.{sub}")  # noqa: E731
    return [
        i
        for i, item in enumerate(items)
        if isinstance(item, Mapping) and matches(item, where, scoped)
    ]


def get(resource: Mapping[str, Any], name: str) -> Any:
    """An attribute by name, whatever case the resource's keys have."""
    for key, value in resource.items():
        if key.lower() == name:
            return value
    return None


def _values(resource: Mapping[str, Any], path: AttrPath) -> list[Any]:
    value = get(resource, path.name)
    items: Sequence[Any] = value if isinstance(value, list) else [value]
    if path.sub is None:
        # a multi-valued attribute of complex values compares its `value`s
        return [get(i, "value") if isinstance(i, Mapping) else i for i in items]
    sub = path.sub
    return [get(i, sub) for i in items if isinstance(i, Mapping)]


def _compare(actual: Any, op: str, expected: Scalar, case_exact: bool) -> bool:
    if actual is None or expected is None:
        return op == "eq" and actual is expected
    if isinstance(actual, bool) or isinstance(expected, bool):  # true is no 1
        return op == "eq" and type(actual) is type(expected) and actual == expected
    if isinstance(actual, str) and isinstance(expected, str):
        a, e = (actual, expected) if case_exact else (actual.lower(), expected.lower())
        if op in ("gt", "lt", "ge", "le"):
            a_time, e_time = _instant(a), _instant(e)
            if a_time is not None and e_time is not None:
                return _order(a_time, op, e_time)
            return _order(a, op, e)
        return {
            "eq": a == e,
            "co": e in a,
            "sw": a.startswith(e),
            "ew": a.endswith(e),
        }[op]
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        if op in ("co", "sw", "ew"):
            return False
        return actual == expected if op == "eq" else _order(actual, op, expected)
    return False


def _order(a: Any, op: str, e: Any) -> bool:
    return bool({"gt": a > e, "lt": a < e, "ge": a >= e, "le": a <= e}[op])


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("z", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        return None


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise FilterError(
                f"cannot read the filter at character {at + 1}: {text[at : at + 20]!r}"
            )
        kind = match.lastgroup
        assert kind is not None
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


class _Parser:
    """Recursive descent: or < and < not / grouping / comparison (RFC 7644 §3.4.2.2)."""

    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens, self.text, self.at = tokens, text, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, what: str) -> str:
        token = self.peek()
        if token is None:
            raise FilterError(f"the filter ends where {what} was expected")
        self.at += 1
        return token[1]

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() in words:
            self.at += 1
            return token[1].lower()
        return None

    def expression(self) -> Filter:
        left = self.conjunction()
        while self.keyword("or"):
            left = Logical("or", left, self.conjunction())
        return left

    def conjunction(self) -> Filter:
        left = self.unary()
        while self.keyword("and"):
            left = Logical("and", left, self.unary())
        return left

    def unary(self) -> Filter:
        if self.keyword("not"):
            token = self.peek()
            if token is None or token[0] != "lparen":
                raise FilterError("`not` is followed by a filter in parentheses")
            return Not(self.unary())
        token = self.peek()
        if token is not None and token[0] == "lparen":
            self.at += 1
            inner = self.expression()
            self.closing("rparen", ")")
            return inner
        return self.comparison()

    def closing(self, kind: str, text: str) -> None:
        token = self.peek()
        if token is None or token[0] != kind:
            raise FilterError(f"missing {text!r} in the filter")
        self.at += 1

    def comparison(self) -> Filter:
        token = self.peek()
        if token is None or token[0] != "word":
            got = "the end" if token is None else repr(token[1])
            raise FilterError(f"expected an attribute name, got {got}")
        self.at += 1
        name = token[1]
        following = self.peek()
        if following is not None and following[0] == "lbracket":
            self.at += 1
            where = self.expression()
            self.closing("rbracket", "]")
            after = self.peek()
            if after is not None and after[0] == "word" and after[1].startswith("."):
                # `emails[type eq "work"].value eq "…"`: the sub-attribute of the same elements
                self.at += 1
                where = Logical("and", where, self.compared(after[1][1:]))
            return ValuePath(attr_path(name).name, where)
        return self.compared(name)

    def compared(self, name: str) -> Filter:
        path = attr_path(name)
        op = self.take(f"an operator after {name}").lower()
        if op == "pr":
            return Present(path)
        if op not in _COMPARE:
            raise FilterError(
                f"{op!r} is not a SCIM operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr)"
            )
        return Compare(path, op, _literal(self.take(f"a value after {name} {op}")))


def _literal(text: str) -> Scalar:
    """A comparison value: a JSON string, number, true, false or null."""
    if text.startswith('"'):
        try:
            value: str = json.loads(text)
        except ValueError:
            raise FilterError(f"{text} is not a valid string") from None
        return value
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return float(text) if re.search(r"[.eE]", text) else int(text)
    except ValueError:
        raise FilterError(
            f'{text!r} is not a value: quote strings ("…"), or give a number, true, false or null'
        ) from None
