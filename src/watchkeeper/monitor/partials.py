"""What one batch of observations adds to each window the checks read, merged when read.

The live monitor must not grow with traffic, so it never reads a window's raw rows: each ingested
batch leaves a partial per (key, window) — a signal's counts and exact sums on the signal's
window, a watched column's profile per day, an upstream's contract tally per day, a stable sample
of text outputs per day — and a window is the merge of its partials. Merging is exact and order
free (counts add, sums are exact rationals, first occurrences keep the earlier), so server
replicas ingest at once with no lock and no lost update, and the monitor reads the same values
as the rows themselves would give. Quantiles are exact up to `profiles.EXACT_VALUES` values a
window, a KLL sketch (Apache DataSketches) beyond.

Keys carry a digest of what they measure, so a changed definition never mixes with partials
made under the old one. Pure: plain data in, plain data out; the store keeps partials as JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import reduce
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa

from watchkeeper.manifest import Signal, SystemManifest
from watchkeeper.monitor.contract import ContractTally, merge_tallies, tally_contract
from watchkeeper.monitor.profiles import (
    CategoricalProfile,
    NumericProfile,
    Spread,
    from_dict,
    merge,
    merge_spreads,
    profile,
    reference_edges,
    reference_probabilities,
    spread_of,
)
from watchkeeper.monitor.signals import (
    Observed,
    SignalState,
    field_getter,
    merge_signal_states,
    signal_state,
    window_start,
)

DAY = timedelta(days=1)
# Text outputs kept per day for embedding drift: the ones whose id hashes lowest, so any number of
# partials merge to the same sample the day's rows would give.
TEXTS_PER_DAY = 500
EMBEDDED_OUTPUT = "output_embedding"
_NUMERIC_TYPES = {"number", "integer"}


@dataclass(frozen=True)
class NumericColumn:
    """A numeric column over some observations: its profile on the edges known when the values
    came (none before the baseline is profiled), and its values for any other edges."""

    profile: NumericProfile
    spread: Spread
    kind: Literal["numeric"] = field(default="numeric", init=False)

    def on(self, edges: Sequence[float]) -> NumericProfile:
        """The profile on `edges`: the one kept when built on them, else binned from the values."""
        chosen = tuple(edges)
        if self.profile.edges == chosen:
            return self.profile
        return replace(self.profile, edges=chosen, bins=self.spread.bins(chosen))

    def reference(self) -> NumericProfile:
        """The profile of a reference window, on edges from its own quantiles."""
        if not self.spread.n:
            return self.on(())
        if self.spread.sketch is None:
            return self.on(reference_edges(np.asarray(self.spread.values)))
        quantiles = self.spread.quantiles(reference_probabilities())
        return self.on(tuple(np.unique(quantiles).tolist()))

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile.to_dict(), "spread": self.spread.to_dict()}


@dataclass(frozen=True)
class Presence:
    """How often a column a contract names (and no drift rule watches) had a value: all the
    contract check asks of the baseline, whatever the column's cardinality."""

    count: int
    null_count: int
    kind: Literal["presence"] = field(default="presence", init=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "presence", "count": self.count, "null_count": self.null_count}


Column: TypeAlias = NumericColumn | CategoricalProfile | Presence
ColumnKind = Literal["numeric", "categorical", "presence"]


def column_state(values: list[Any], kind: ColumnKind, edges: Sequence[float] | None) -> Column:
    if kind == "presence":
        nulls = sum(v is None for v in values)
        return Presence(len(values) - nulls, nulls)
    if kind == "categorical":
        made = profile(as_column(values, False), kind="categorical")
        assert isinstance(made, CategoricalProfile)
        return made
    array = as_column(values, True)
    made = profile(array, kind="numeric", edges=tuple(edges or ()))
    assert isinstance(made, NumericProfile)
    return NumericColumn(made, spread_of(array[np.isfinite(array)]))


def merge_columns(a: Column, b: Column) -> Column:
    if isinstance(a, NumericColumn) and isinstance(b, NumericColumn):
        if a.profile.edges == b.profile.edges:
            merged = merge(a.profile, b.profile)
        else:
            merged = merge(a.on(()), b.on(()))
        assert isinstance(merged, NumericProfile)
        return NumericColumn(merged, merge_spreads(a.spread, b.spread))
    if isinstance(a, CategoricalProfile) and isinstance(b, CategoricalProfile):
        joined = merge(a, b)
        assert isinstance(joined, CategoricalProfile)
        return joined
    if isinstance(a, Presence) and isinstance(b, Presence):
        return Presence(a.count + b.count, a.null_count + b.null_count)
    raise ValueError(f"cannot merge a column's {a.kind} partial with a {b.kind} one")


def column_from_dict(data: Mapping[str, Any]) -> Column:
    if data.get("kind") == "presence":
        return Presence(int(data["count"]), int(data["null_count"]))
    if "spread" in data:
        made = from_dict(data["profile"])
        assert isinstance(made, NumericProfile)
        return NumericColumn(made, Spread.from_dict(data["spread"]))
    restored = from_dict(data)
    assert isinstance(restored, CategoricalProfile)
    return restored


@dataclass(frozen=True)
class Texts:
    """A day's text outputs sampled by the hash of their observation's id (lowest first), and how
    many outputs were not text."""

    sample: tuple[tuple[str, str], ...] = ()
    nulls: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"sample": [list(pair) for pair in self.sample], "nulls": self.nulls}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Texts:
        return Texts(tuple((str(h), str(t)) for h, t in data["sample"]), int(data["nulls"]))

    def texts(self, limit: int) -> list[str]:
        return [text for _, text in self.sample[:limit]]


def texts_of(observations: Sequence[Observed], keep: int = TEXTS_PER_DAY) -> Texts:
    chosen = sorted((_id_hash(o.id), o.output) for o in observations if isinstance(o.output, str))
    nulls = sum(not isinstance(o.output, str) for o in observations)
    return Texts(tuple(chosen[:keep]), nulls)


def merge_texts(a: Texts, b: Texts, keep: int = TEXTS_PER_DAY) -> Texts:
    return Texts(tuple(sorted(a.sample + b.sample)[:keep]), a.nulls + b.nulls)


def _id_hash(observation_id: str) -> str:
    return hashlib.blake2b(observation_id.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Day:
    """How many observations a day had and when the last one was."""

    rows: int = 0
    last: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "last": self.last.isoformat() if self.last else None}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Day:
        last = data.get("last")
        return Day(int(data["rows"]), datetime.fromisoformat(last) if last else None)


def merge_days(a: Day, b: Day) -> Day:
    lasts = [t for t in (a.last, b.last) if t is not None]
    return Day(a.rows + b.rows, max(lasts) if lasts else None)


State: TypeAlias = SignalState | Column | ContractTally | Texts | Day


@dataclass(frozen=True)
class Profiling:
    """Which partials a system's observations make: from its manifest alone, so every replica
    and every engine (ingest, Spark, the raw fallback) makes the same keys."""

    signals: dict[str, Signal] = field(default_factory=dict)
    columns: dict[str, ColumnKind] = field(default_factory=dict)
    contracts: dict[str, tuple[Any, frozenset[str]]] = field(default_factory=dict)
    texts: bool = False
    keys: dict[str, str] = field(default_factory=dict)

    def key(self, kind: str, name: str) -> str:
        return self.keys[f"{kind}:{name}"]

    def window_of(self, key: str) -> timedelta | None:
        """The window a key's partials cover; None for a key this profiling does not make."""
        for ref, made in self.keys.items():
            if made == key:
                kind, _, name = ref.partition(":")
                return self.signals[name].window if kind == "signal" else DAY
        return None


def profiling_for(manifest: SystemManifest) -> Profiling:
    runbook = manifest.spec.runbook
    signals = {
        name: s
        for name, s in runbook.signals.items()
        # an estimated metric needs the baseline's calibration, which a partial cannot hold
        if s.source in ("observation", "output") and s.kind != "estimated"
    }
    columns = watched_columns(manifest)
    contracts = {}
    for upstream in manifest.spec.upstream:
        others = frozenset(
            c for u in manifest.spec.upstream if u is not upstream for c in u.contract
        )
        contracts[upstream.name] = (upstream.contract, others)
    texts = any(EMBEDDED_OUTPUT in (r.drift or []) for r in runbook.alerts)
    keys = {"day:": "day"}
    for name, signal in signals.items():
        keys[f"signal:{name}"] = _keyed("signal", name, signal.model_dump(mode="json"))
    for name, kind in columns.items():
        keys[f"column:{name}"] = _keyed("column", name, kind)
    for name, (contract, others) in contracts.items():
        definition = {c: f.model_dump(mode="json") for c, f in contract.items()}
        keys[f"contract:{name}"] = _keyed("contract", name, [definition, sorted(others)])
    if texts:
        keys["texts:"] = "texts"
    return Profiling(signals, columns, contracts, texts, keys)


def baseline_edges(stored: Mapping[str, Any]) -> dict[str, tuple[float, ...]]:
    """The bin edges of each numeric column among stored baseline profiles: partials made
    with them bin on the baseline's edges from the start."""
    return {
        column: tuple(profile["edges"])
        for column, profile in stored.items()
        if isinstance(profile, dict) and profile.get("kind") == "numeric"
    }


def watched_columns(manifest: SystemManifest) -> dict[str, ColumnKind]:
    """Every column drift or contracts look at, and how it is profiled: a drift column by its
    values (numeric when its contract or its nature says so), a contract's other columns by
    presence alone — a free-text field would otherwise cost a count per distinct value."""
    types = {c: spec.type for u in manifest.spec.upstream for c, spec in u.contract.items()}
    kinds: dict[str, ColumnKind] = dict.fromkeys(types, "presence")
    for rule in manifest.spec.runbook.alerts:
        for column in rule.drift or []:
            if column == EMBEDDED_OUTPUT:
                continue
            numeric = types.get(column) in _NUMERIC_TYPES or (
                column not in types and column in ("latency_ms", "output_length")
            )
            kinds[column] = "numeric" if numeric else "categorical"
    return kinds


def _keyed(kind: str, name: str, definition: Any) -> str:
    digest = hashlib.blake2b(
        json.dumps(definition, sort_keys=True, default=str).encode(), digest_size=4
    ).hexdigest()
    return f"{kind}:{name}:{digest}"


@dataclass(frozen=True)
class Partial:
    key: str
    window_start: datetime
    window_end: datetime
    rows: int
    state: dict[str, Any]
    origin: str | None = None


def build(
    profiling: Profiling,
    observations: Sequence[Observed],
    edges: Mapping[str, Sequence[float]] | None = None,
) -> list[Partial]:
    """The partials `observations` make, numeric columns binned on `edges` where known."""
    made: list[Partial] = []
    groups: dict[timedelta, dict[tuple[datetime, datetime], list[Observed]]] = {}
    for name, signal in profiling.signals.items():
        if signal.window not in groups:
            groups[signal.window] = _grouped(observations, signal.window)
        for (start, end), group in groups[signal.window].items():
            state = signal_state(signal, group)
            made.append(
                Partial(profiling.key("signal", name), start, end, len(group), state.to_dict())
            )
    for (start, end), group in groups.get(DAY, _grouped(observations, DAY)).items():
        made.extend(_daily(profiling, start, end, group, edges or {}))
    return made


def _daily(
    profiling: Profiling,
    start: datetime,
    end: datetime,
    group: Sequence[Observed],
    edges: Mapping[str, Sequence[float]],
) -> Iterable[Partial]:
    rows = len(group)
    day = Day(rows, max(o.ts for o in group))
    yield Partial("day", start, end, rows, day.to_dict())
    for name, kind in profiling.columns.items():
        state = column_state(column_values(group, name), kind, edges.get(name))
        yield Partial(profiling.key("column", name), start, end, rows, state.to_dict())
    for name, (contract, others) in profiling.contracts.items():
        tally = tally_contract(contract, [(o.ts, o.inputs) for o in group], known_fields=others)
        yield Partial(profiling.key("contract", name), start, end, rows, tally.to_dict())
    if profiling.texts:
        yield Partial("texts", start, end, rows, texts_of(group).to_dict())


def _grouped(
    observations: Sequence[Observed], size: timedelta
) -> dict[tuple[datetime, datetime], list[Observed]]:
    """Observations by window; a batch inside one window (the usual case) in one step."""
    if not observations:
        return {}
    first = window_start(min(o.ts for o in observations), size)
    if max(o.ts for o in observations) < first + size:
        return {(first, first + size): list(observations)}
    groups: dict[tuple[datetime, datetime], list[Observed]] = {}
    for o in observations:
        start = window_start(o.ts, size)
        groups.setdefault((start, start + size), []).append(o)
    return groups


def merged(key: str, states: Iterable[Mapping[str, Any]]) -> State:
    """One window's partials of `key`, merged."""
    kind = key.split(":", 1)[0]
    if kind == "signal":
        return reduce(merge_signal_states, (SignalState.from_dict(s) for s in states))
    if kind == "column":
        return reduce(merge_columns, (column_from_dict(s) for s in states))
    if kind == "contract":
        return reduce(merge_tallies, (ContractTally.from_dict(s) for s in states))
    if kind == "texts":
        return reduce(merge_texts, (Texts.from_dict(s) for s in states))
    return reduce(merge_days, (Day.from_dict(s) for s in states))


def column_values(observations: Sequence[Observed], column: str) -> list[Any]:
    """A watched column's values: an input by its name, else a field path (`latency_ms`,
    `output_length`, `output.label`, `metadata.region`)."""
    if column.startswith(("output", "latency_ms", "metadata.")):
        get = field_getter(column)
        return [get(o) for o in observations]
    return [o.inputs.get(column) for o in observations]


def as_column(values: list[Any], numeric: bool) -> Any:
    """A column as the profiles take it: numbers as float64 with NaN for anything else (so
    nulls are counted), or text as an Arrow string array with nulls."""
    if not numeric:
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if set(map(type, values)) <= {float, int}:
        try:
            return np.array(values, dtype=np.float64)
        except OverflowError:
            pass
    return np.array([_number_or_nan(v) for v in values], dtype=np.float64)


def _number_or_nan(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf
