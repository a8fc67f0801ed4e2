"""Schema-contract breaks: what an upstream promised (its contract) against what arrived.

Pure: takes the inputs of a window's observations (plain dicts, in arrival order with their
timestamps) and the upstream's contract; returns each break with a count, the share of rows, the
first time it was seen and an example value, so the upstream contact can act on the report alone.
Against the baseline it also finds fields that vanished, required or not, and names the new field
that may be the same one renamed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from watchkeeper.manifest import ContractField

BreakKind = Literal[
    "missing_field",
    "new_field",
    "vanished",
    "type_change",
    "null_rate",
    "unseen_category",
    "out_of_range",
]
NULL_RATE_JUMP = 0.10  # absolute rise in the share of nulls that counts as a break
# A field has vanished when the baseline makes its absence this unlikely...
VANISHED_SURPRISE = 1e-4
# ...while it still shows in at most this share of the window's rows: stragglers of a rollout
# must not hide a rename, yet a field that merely thinned out is a null-rate matter.
VANISHED_SHARE = 0.01
# A baseline is a sample: a field seen in every baseline row is taken as present in at most this
# share of rows, so one or two rows without it never make it "vanished".
PRESENCE_CAP = 0.99
# A new field's share of rows may differ this much from the old field's and still look like it.
RENAME_TOLERANCE = 0.05


@dataclass(frozen=True)
class Break:
    """`count` of the window's `rows` broke the contract; `baseline_presence` (vanished fields
    only) is the share of baseline rows that had the field, what the window is measured against."""

    kind: BreakKind
    field: str
    count: int
    rows: int
    share: float
    first_seen: datetime
    example: Any
    detail: str
    baseline_presence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field,
            "count": self.count,
            "rows": self.rows,
            "share": round(self.share, 4),
            "first_seen": self.first_seen.isoformat(),
            "example": self.example,
            "detail": self.detail,
            "baseline_presence": self.baseline_presence,
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
    so they are not reported as new here. `baseline_null_rates` holds, per field the baseline
    profiled, the share of baseline rows where it was absent or null; only those fields can be
    found to have vanished."""
    if not rows:
        return []
    declared = set(contract)
    known = declared | set(known_fields)
    tallies: dict[tuple[BreakKind, str], _Tally] = {}

    def tally(kind: BreakKind, name: str, at: datetime, example: Any) -> None:
        tallies.setdefault((kind, name), _Tally()).add(at, example)

    nulls: dict[str, int] = dict.fromkeys(declared, 0)
    present: dict[str, int] = dict.fromkeys(declared, 0)
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
            present[name] += 1
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
    baseline = baseline_null_rates or {}
    _null_jumps(contract, nulls, total, baseline, rows, tallies)
    presence = _vanished(present, total, baseline)
    for name in presence:
        # One break per field: having vanished says more than each row it is missing from.
        tallies.pop(("missing_field", name), None)
        tallies.pop(("null_rate", name), None)
        gone = tallies.setdefault(("vanished", name), _Tally())
        for at, inputs in rows:
            if inputs.get(name) is None:
                gone.add(at, None)
    breaks = [
        _break(kind, name, t, total, contract.get(name), presence.get(name))
        for (kind, name), t in sorted(tallies.items(), key=_first_seen)
    ]
    return [_suggest_renames(b, breaks) if b.kind == "vanished" else b for b in breaks]


def _first_seen(item: tuple[tuple[BreakKind, str], _Tally]) -> tuple[datetime, bool]:
    """Breaks in the order they began; at one moment, the contract's own fields before fields
    nobody declared, so a vanished field reads before the new one that may replace it."""
    (kind, _), tally = item
    assert tally.first is not None, "a tally exists only once something was added to it"
    return tally.first[0], kind == "new_field"


def _vanished(
    present: Mapping[str, int], total: int, baseline: Mapping[str, float]
) -> dict[str, float]:
    """Baseline presence of each field that the window has (nearly) lost: at most VANISHED_SHARE
    of its `total` rows carry a value, and a field as present as in the baseline would so rarely
    show that little that it is not chance. A field rare in the baseline thus needs a large
    window before its absence means anything."""
    found = {}
    for name, seen in present.items():
        presence = 1.0 - baseline.get(name, 1.0)
        if presence <= 0.0 or seen > total * VANISHED_SHARE:
            continue
        if _at_most(seen, total, min(presence, PRESENCE_CAP)) < VANISHED_SURPRISE:
            found[name] = presence
    return found


def _at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), 0 < p < 1, summed in logs so large windows do not
    underflow term by term."""
    log_p, log_q = math.log(p), math.log1p(-p)
    return sum(
        math.exp(
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * log_p + (n - i) * log_q
        )
        for i in range(k + 1)
    )  # fmt: skip


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
    kind: BreakKind,
    name: str,
    tally: _Tally,
    total: int,
    spec: ContractField | None,
    presence: float | None,
) -> Break:
    assert tally.first is not None
    at, example = tally.first
    share = tally.count / total
    if kind == "vanished":
        assert presence is not None
        required = "required " if spec and spec.required else ""
        detail = (
            f"{required}field {name!r} vanished: in {_pct(presence)} of baseline rows, "
            f"{total - tally.count} of {total} rows in this window"
        )
        return Break(kind, name, tally.count, total, share, at, example, detail, presence)
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
    return Break(kind, name, tally.count, total, share, at, example, detail)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _pct(share: float) -> str:
    """Three significant digits, so 99.6% does not read as an unconditional 100%."""
    return f"{share * 100:.3g}%"


def _suggest_renames(gone: Break, breaks: Sequence[Break]) -> Break:
    """A vanished field's break names the new fields that could be it under another name, so
    the upstream contact sees the likely cause in the report itself."""
    heirs = [b for b in breaks if b.kind == "new_field" and _resembles(gone, b)]
    appeared = "".join(f"; {b.field!r} appeared in {b.count} of {b.rows} rows" for b in heirs)
    return replace(gone, detail=gone.detail + appeared) if heirs else gone


def _resembles(old: Break, new: Break) -> bool:
    """Whether `new` is present as often as `old` was: a missing field against the share of
    rows it is missing from; a vanished one against its baseline presence, allowing for the
    window being a sample (three standard errors)."""
    if old.kind == "missing_field":
        return abs(old.share - new.share) < RENAME_TOLERANCE
    if old.kind != "vanished" or old.baseline_presence is None:
        return False
    presence = old.baseline_presence
    spread = 3 * math.sqrt(presence * (1 - presence) / new.rows)
    return abs(new.share - presence) < max(RENAME_TOLERANCE, spread)


def renames(breaks: Sequence[Break]) -> list[tuple[str, str]]:
    """(old, new) pairs that look like a renamed field: one missing or vanished, one new, in the
    same window and present about as often."""
    old = [b for b in breaks if b.kind in ("missing_field", "vanished")]
    new = [b for b in breaks if b.kind == "new_field"]
    return [(o.field, n.field) for o in old for n in new if _resembles(o, n)]
