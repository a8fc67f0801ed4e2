"""Schema-contract breaks: what an upstream promised (its contract) against what arrived.

Pure, and in two halves so a window can be checked from partial tallies made at ingest:
`tally_contract` counts what a batch of observations' inputs (plain dicts with their timestamps)
contribute, `merge_tallies` joins tallies of any batches exactly, and `contract_breaks` turns a
window's tally into each break with a count, the share of rows, the first time it was seen and
an example value, so the upstream contact can act on the report alone. Against the baseline it
also finds fields that vanished, required or not, and names the new field that may be the same
one renamed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import count
from typing import Any, Literal, cast, get_args

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


@dataclass(frozen=True)
class BreakTally:
    """`count` rows broke the contract this way; the first of them (earliest timestamp, then
    earliest arrival) gave `example`."""

    kind: BreakKind
    field: str
    count: int
    first_seen: datetime
    example: Any


@dataclass(frozen=True)
class FieldTally:
    """What rows say of one declared field beyond its breaks, kept because a null-rate jump or a
    vanished field can only be judged once the whole window is counted. Rows without a value
    (field missing or null) number the tally's rows less `present`."""

    present: int = 0
    nulls: int = 0
    first_null: datetime | None = None
    first_absent: datetime | None = None


@dataclass(frozen=True)
class ContractTally:
    """Everything a batch of rows contributes to its window's contract check. `breaks` are in
    the order they began (ties in arrival order), which `contract_breaks` relies on to report
    breaks in today's order after any merging."""

    rows: int
    fields: Mapping[str, FieldTally]
    breaks: tuple[BreakTally, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "fields": {
                name: {
                    "present": f.present,
                    "nulls": f.nulls,
                    "first_null": _iso(f.first_null),
                    "first_absent": _iso(f.first_absent),
                }
                for name, f in self.fields.items()
            },
            "breaks": [
                {
                    "kind": b.kind,
                    "field": b.field,
                    "count": b.count,
                    "first_seen": b.first_seen.isoformat(),
                    "example": b.example,
                }
                for b in self.breaks
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContractTally:
        """Inverse of `to_dict`, for tallies read back from storage."""
        return cls(
            int(data["rows"]),
            {
                str(name): FieldTally(
                    int(f["present"]),
                    int(f["nulls"]),
                    _from_iso(f["first_null"]),
                    _from_iso(f["first_absent"]),
                )
                for name, f in data["fields"].items()
            },
            tuple(
                BreakTally(
                    _kind(b["kind"]),
                    str(b["field"]),
                    int(b["count"]),
                    datetime.fromisoformat(b["first_seen"]),
                    b["example"],
                )
                for b in data["breaks"]
            ),
        )


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _kind(text: str) -> BreakKind:
    if text not in get_args(BreakKind):
        raise ValueError(f"unknown contract break kind {text!r}")
    return cast(BreakKind, text)


def json_type(value: Any) -> str:
    found = _JSON_TYPES.get(type(value))
    if found is not None:
        return found
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


# The exact types JSON decodes to, looked up at once: every input of every row passes here.
_JSON_TYPES = {
    type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string",
    list: "array", dict: "object",
}  # fmt: skip


_ACCEPTS = {
    "string": {"string"},
    "category": {"string", "integer", "boolean"},
    "number": {"number", "integer"},
    "integer": {"integer"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
}


def check_contract(
    contract: Mapping[str, ContractField],
    rows: Sequence[tuple[datetime, Mapping[str, Any]]],
    *,
    known_fields: Iterable[str] = (),
    baseline_null_rates: Mapping[str, float] | None = None,
) -> list[Break]:
    """Breaks in `rows` (timestamp, inputs); see `tally_contract` and `contract_breaks`."""
    tally = tally_contract(contract, rows, known_fields=known_fields)
    return contract_breaks(contract, tally, baseline_null_rates)


def tally_contract(
    contract: Mapping[str, ContractField],
    rows: Iterable[tuple[datetime, Mapping[str, Any]]],
    *,
    known_fields: Iterable[str] = (),
) -> ContractTally:
    """What `rows` (timestamp, inputs) contribute to their window's check. `known_fields` are
    fields other contracts declare, so they are not counted as new here. The first of a kind is
    the earliest by timestamp, not by arrival, so that tallies of batches ingested out of order
    still merge into the tally of the whole window."""
    known = set(contract) | set(known_fields)
    total = 0
    present = dict.fromkeys(contract, 0)
    nulls = dict.fromkeys(contract, 0)
    first_null: dict[str, datetime] = {}
    first_absent: dict[str, datetime] = {}
    counts: dict[tuple[BreakKind, str], int] = {}
    # Per break: (time, arrival, example) of its first row, arrival breaking ties of time.
    firsts: dict[tuple[BreakKind, str], tuple[datetime, int, Any]] = {}
    arrival = count()

    def tally(kind: BreakKind, name: str, at: datetime, example: Any) -> None:
        key = (kind, name)
        counts[key] = counts.get(key, 0) + 1
        if key not in firsts or at < firsts[key][0]:
            firsts[key] = (at, next(arrival), example)

    for at, inputs in rows:
        total += 1
        for name, spec in contract.items():
            if inputs.get(name) is None and (name not in first_absent or at < first_absent[name]):
                first_absent[name] = at
            if name not in inputs:
                if spec.required:
                    tally("missing_field", name, at, None)
                continue
            value = inputs[name]
            kind = json_type(value)
            if kind == "null":
                nulls[name] += 1
                if name not in first_null or at < first_null[name]:
                    first_null[name] = at
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
    fields = {
        name: FieldTally(present[name], nulls[name], first_null.get(name), first_absent.get(name))
        for name in contract
    }
    ordered = sorted(firsts.items(), key=lambda item: item[1][:2])
    breaks = tuple(
        BreakTally(kind, name, counts[kind, name], at, example)
        for (kind, name), (at, _, example) in ordered
    )
    return ContractTally(total, fields, breaks)


def merge_tallies(first: ContractTally, second: ContractTally) -> ContractTally:
    """Tally of both batches' rows together, exactly: counts add and each first occurrence is
    the earlier one, `first`'s on a tie, as if `first`'s rows had arrived before `second`'s."""
    if first.fields.keys() != second.fields.keys():
        raise ValueError(
            f"cannot merge tallies of different contracts: fields {sorted(first.fields)} "
            f"and {sorted(second.fields)}"
        )
    fields = {
        name: FieldTally(
            a.present + b.present,
            a.nulls + b.nulls,
            _earlier(a.first_null, b.first_null),
            _earlier(a.first_absent, b.first_absent),
        )
        for name, a, b in ((n, first.fields[n], second.fields[n]) for n in first.fields)
    }
    ours = {(t.kind, t.field): t for t in first.breaks}
    theirs = {(t.kind, t.field): t for t in second.breaks}
    # Ours before theirs, each in its own order, then by time: among breaks that began at one
    # moment, that is arrival order, as in the tally of all rows.
    kept = [
        _plus(t, theirs.get(key))
        for key, t in ours.items()
        if key not in theirs or t.first_seen <= theirs[key].first_seen
    ] + [
        _plus(t, ours.get(key))
        for key, t in theirs.items()
        if key not in ours or t.first_seen < ours[key].first_seen
    ]
    breaks = tuple(sorted(kept, key=lambda t: t.first_seen))
    return ContractTally(first.rows + second.rows, fields, breaks)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None or a <= b else b


def _plus(kept: BreakTally, other: BreakTally | None) -> BreakTally:
    return kept if other is None else replace(kept, count=kept.count + other.count)


def contract_breaks(
    contract: Mapping[str, ContractField],
    tally: ContractTally,
    baseline_null_rates: Mapping[str, float] | None = None,
) -> list[Break]:
    """Breaks in a window from its tally. `baseline_null_rates` holds, per field the baseline
    profiled, the share of baseline rows where it was absent or null; only those fields can be
    found to have vanished."""
    if not tally.rows:
        return []
    if set(contract) != set(tally.fields):
        raise ValueError(
            f"the tally counted fields {sorted(tally.fields)}, the contract declares "
            f"{sorted(contract)}"
        )
    total = tally.rows
    baseline = baseline_null_rates or {}
    found = {(t.kind, t.field): t for t in tally.breaks}
    for jump in _null_jumps(contract, tally, baseline):
        found[jump.kind, jump.field] = jump
    presence = _vanished({name: tally.fields[name].present for name in contract}, total, baseline)
    for name in presence:
        # One break per field: having vanished says more than each row it is missing from.
        found.pop(("missing_field", name), None)
        found.pop(("null_rate", name), None)
        since = tally.fields[name].first_absent
        assert since is not None, "a vanished field is absent from some row"
        found["vanished", name] = BreakTally(
            "vanished", name, total - tally.fields[name].present, since, None
        )
    breaks = [
        _break(t, total, contract.get(t.field), presence.get(t.field))
        for t in sorted(found.values(), key=_first_seen)
    ]
    return breaks


def _first_seen(tally: BreakTally) -> tuple[datetime, bool]:
    """Breaks in the order they began; at one moment, the contract's own fields before fields
    nobody declared, so a vanished field reads before the new one that may replace it."""
    return tally.first_seen, tally.kind == "new_field"


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
    contract: Mapping[str, ContractField], tally: ContractTally, baseline: Mapping[str, float]
) -> list[BreakTally]:
    """Nullable fields break when their null share rises well above the baseline's."""
    jumps = []
    for name, spec in contract.items():
        field = tally.fields[name]
        if not spec.nullable or spec.required or not field.nulls:
            continue
        if field.nulls / tally.rows - baseline.get(name, 0.0) >= NULL_RATE_JUMP:
            assert field.first_null is not None, "a field with nulls has a first one"
            jumps.append(BreakTally("null_rate", name, field.nulls, field.first_null, None))
    return jumps


def _break(
    tally: BreakTally, total: int, spec: ContractField | None, presence: float | None
) -> Break:
    kind, name, at, example = tally.kind, tally.field, tally.first_seen, tally.example
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


def _heir(old: Break, new: Sequence[Break]) -> Break | None:
    """The new field present most nearly as often as `old` was, if any is near enough: when
    two fields appear with a rename, the closer share is the better guess."""
    near = [(distance, n) for n in new if (distance := _distance(old, n)) is not None]
    return min(near, key=lambda pair: pair[0])[1] if near else None


def _distance(old: Break, new: Break) -> float | None:
    """How far `new`'s presence is from what `old`'s was, when near enough to be a rename: a
    missing field against the share of rows it is missing from; a vanished one against its
    baseline presence, allowing for the window being a sample (three standard errors)."""
    if old.kind == "missing_field":
        gap = abs(old.share - new.share)
        return gap if gap < RENAME_TOLERANCE else None
    if old.kind != "vanished" or old.baseline_presence is None:
        return None
    presence = old.baseline_presence
    spread = 3 * math.sqrt(presence * (1 - presence) / new.rows)
    gap = abs(new.share - presence)
    return gap if gap < max(RENAME_TOLERANCE, spread) else None


def renames(breaks: Sequence[Break]) -> list[tuple[str, str]]:
    """(old, new) pairs that look like a renamed field: one missing or vanished, one new, in the
    same window and present about as often — at most one guess for each old field."""
    new = [b for b in breaks if b.kind == "new_field"]
    pairs = [(o, _heir(o, new)) for o in breaks if o.kind in ("missing_field", "vanished")]
    return [(o.field, heir.field) for o, heir in pairs if heir is not None]
