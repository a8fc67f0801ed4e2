"""Schema-contract breaks: what an upstream promised (its contract) against what arrived.

Pure: takes the inputs of a window's observations (plain dicts, in arrival order with their
timestamps) and the upstream's contract; returns each break with a count, the share of rows, the
first time it was seen and an example value, so the upstream contact can act on the report alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from watchkeeper.manifest import ContractField

BreakKind = Literal[
    "missing_field", "new_field", "type_change", "null_rate", "unseen_category", "out_of_range"
]
NULL_RATE_JUMP = 0.10  # absolute rise in the share of nulls that counts as a break


@dataclass(frozen=True)
class Break:
    kind: BreakKind
    field: str
    count: int
    share: float
    first_seen: datetime
    example: Any
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field,
            "count": self.count,
            "share": round(self.share, 4),
            "first_seen": self.first_seen.isoformat(),
            "example": self.example,
            "detail": self.detail,
        }


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_ACCEPTS = {
    "string": {"string"},
    "category": {"string", "integer", "boolean"},
    "number": {"number", "integer"},
    "integer": {"integer"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
}


class _Tally:
    """Counts one kind of break on one field, remembering the first occurrence."""

    def __init__(self) -> None:
        self.count = 0
        self.first: tuple[datetime, Any] | None = None

    def add(self, at: datetime, example: Any) -> None:
        self.count += 1
        if self.first is None:
            self.first = (at, example)


def check_contract(
    contract: Mapping[str, ContractField],
    rows: Sequence[tuple[datetime, Mapping[str, Any]]],
    *,
    known_fields: Iterable[str] = (),
    baseline_null_rates: Mapping[str, float] | None = None,
) -> list[Break]:
    """Breaks in `rows` (timestamp, inputs). `known_fields` are fields other contracts declare,
    so they are not reported as new here."""
    if not rows:
        return []
    declared = set(contract)
    known = declared | set(known_fields)
    tallies: dict[tuple[BreakKind, str], _Tally] = {}

    def tally(kind: BreakKind, name: str, at: datetime, example: Any) -> None:
        tallies.setdefault((kind, name), _Tally()).add(at, example)

    nulls: dict[str, int] = dict.fromkeys(declared, 0)
    for at, inputs in rows:
        for name, spec in contract.items():
            if name not in inputs:
                if spec.required:
                    tally("missing_field", name, at, None)
                continue
            value = inputs[name]
            kind = json_type(value)
            if kind == "null":
                nulls[name] += 1
                if not spec.nullable or spec.required:
                    tally("null_rate", name, at, None)
                continue
            if kind not in _ACCEPTS[spec.type]:
                tally("type_change", name, at, value)
                continue
            if spec.values is not None and value not in spec.values:
                tally("unseen_category", name, at, value)
            if kind in ("integer", "number") and (
                (spec.min is not None and value < spec.min)
                or (spec.max is not None and value > spec.max)
            ):
                tally("out_of_range", name, at, value)
        for name in inputs:
            if name not in known:
                tally("new_field", name, at, inputs[name])
    total = len(rows)
    _null_jumps(contract, nulls, total, baseline_null_rates or {}, rows, tallies)
    return [
        _break(kind, name, t, total, contract.get(name))
        for (kind, name), t in sorted(tallies.items(), key=lambda kv: (kv[1].first or (0,))[0])
        if t.first is not None
    ]


def _null_jumps(
    contract: Mapping[str, ContractField],
    nulls: Mapping[str, int],
    total: int,
    baseline: Mapping[str, float],
    rows: Sequence[tuple[datetime, Mapping[str, Any]]],
    tallies: dict[tuple[BreakKind, str], _Tally],
) -> None:
    """Nullable fields break when their null share rises well above the baseline's."""
    for name, spec in contract.items():
        if not spec.nullable or spec.required or not nulls[name]:
            continue
        rate = nulls[name] / total
        if rate - baseline.get(name, 0.0) >= NULL_RATE_JUMP:
            tally = tallies.setdefault(("null_rate", name), _Tally())
            for at, inputs in rows:
                if name in inputs and inputs[name] is None:
                    tally.add(at, None)


def _break(
    kind: BreakKind, name: str, tally: _Tally, total: int, spec: ContractField | None
) -> Break:
    assert tally.first is not None
    at, example = tally.first
    share = tally.count / total
    detail = {
        "missing_field": f"required field {name!r} missing from {tally.count} of {total} rows",
        "new_field": f"field {name!r} is not in any contract ({tally.count} of {total} rows)",
        "type_change": f"{name!r} should be {spec.type if spec else '?'} but arrived as "
        f"{json_type(example)} (e.g. {example!r})",
        "null_rate": f"{name!r} was null in {tally.count} of {total} rows ({share:.0%})",
        "unseen_category": f"{name!r} took a value outside its categories (e.g. {example!r})",
        "out_of_range": f"{name!r} outside [{_fmt(spec.min if spec else None)}, "
        f"{_fmt(spec.max if spec else None)}] (e.g. {example!r})",
    }[kind]
    return Break(kind, name, tally.count, share, at, example, detail)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def renames(breaks: Sequence[Break]) -> list[tuple[str, str]]:
    """(old, new) pairs that look like a renamed field: one missing, one new, same window."""
    missing = [b for b in breaks if b.kind == "missing_field"]
    new = [b for b in breaks if b.kind == "new_field"]
    return [(m.field, n.field) for m in missing for n in new if abs(m.share - n.share) < 0.05]
