"""Signal values per window: the runbook's named quality measures computed over observations.

Pure: given a signal definition and the observations of one window, return the value and how
many observations it rests on. Windows are aligned to the epoch so every process computes the
same ones; eval- and triage-based signals are computed where those records live.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from watchkeeper.expr import compile_expr, resolve
from watchkeeper.manifest import Signal
from watchkeeper.monitor.profiles import Spread, exact_sums, merge_spreads, spread_of
from watchkeeper.store import ObservationRecord

# What signals are computed over, under the name the monitor and triage rules use for it.
Observation = ObservationRecord
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Observed(Protocol):
    """What signals and profiles read of an observation: a stored one, or an item ingest has
    just validated (profiled as it is, without building a record per row)."""

    @property
    def id(self) -> str: ...
    @property
    def ts(self) -> datetime: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def output(self) -> Any: ...
    @property
    def latency_ms(self) -> float | None: ...
    @property
    def model_version(self) -> str | None: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def feedback(self) -> dict[str, Any] | None: ...


def fields_of(observation: Observed) -> dict[str, Any]:
    """The names signal fields and expressions resolve against (`inputs.x`, `output_length`)."""
    text = observation.output if isinstance(observation.output, str) else None
    return {
        "inputs": observation.inputs,
        "output": observation.output,
        "output_length": len(text) if text is not None else None,
        "latency_ms": observation.latency_ms,
        "model_version": observation.model_version,
        "metadata": observation.metadata,
        "feedback": observation.feedback or {},
    }


@dataclass(frozen=True)
class SignalValue:
    value: float | None
    n: int


def window_start(instant: datetime, size: timedelta) -> datetime:
    """The start of the epoch-aligned window containing `instant`."""
    elapsed = (instant - EPOCH) // size
    return EPOCH + elapsed * size


def complete_windows(
    since: datetime, until: datetime, size: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Every whole window that starts at or after `since` and has ended by `until`."""
    start = window_start(since, size)
    if start < since:
        start += size
    while start + size <= until:
        yield start, start + size
        start += size


def field_getter(path: str) -> Callable[[Observed], Any]:
    """`resolve(fields_of(o), path)` for one path, without building the fields of every
    observation: ingest profiles each row of each batch, so the common shapes (a top-level
    field, one key of inputs, output, metadata or feedback) are read directly."""
    head, _, rest = path.partition(".")
    if "." in rest or head not in _DIRECT:
        return lambda o: resolve(fields_of(o), path)
    if not rest:
        return _DIRECT[head]
    base = _DIRECT[head]

    def get(o: Observed) -> Any:
        value = base(o)
        return value.get(rest) if type(value) is dict else None

    return get


_DIRECT: dict[str, Callable[[Observed], Any]] = {
    "inputs": lambda o: o.inputs,
    "output": lambda o: o.output,
    "output_length": lambda o: len(o.output) if isinstance(o.output, str) else None,
    "latency_ms": lambda o: o.latency_ms,
    "model_version": lambda o: o.model_version,
    "metadata": lambda o: o.metadata,
    "feedback": lambda o: o.feedback or {},
}


def signal_values(signal: Signal, observations: Sequence[Observed]) -> list[Any]:
    """What the signal measures on each observation (None where nothing was measured)."""
    if signal.kind == "expr" and signal.expr:
        run = compile_expr(signal.expr)
        return [run(fields_of(o)) for o in observations]
    if signal.source == "feedback":
        get = field_getter(f"feedback.{signal.field or 'score'}")
        return [get(o) for o in observations if o.feedback]
    if signal.source == "output":
        if signal.field == "length":
            path = "output_length"
        else:
            path = f"output.{signal.field}" if signal.field else "output"
    else:
        path = signal.field or "latency_ms"
    get = field_getter(path)
    return [get(o) for o in observations]


def compute(signal: Signal, observations: Sequence[Observed]) -> SignalValue:
    """The signal's value over one window's observations; None when nothing was measured."""
    return signal_value(signal, signal_state(signal, observations))


@dataclass(frozen=True)
class SignalState:
    """A signal over some observations: all it takes to give its value, whatever its kind."""

    rows: int = 0
    present: int = 0
    bools: int = 0
    hits: int = 0
    numbers: int = 0
    total: Fraction = Fraction(0)
    spread: Spread | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rows": self.rows,
            "present": self.present,
            "bools": self.bools,
            "hits": self.hits,
            "numbers": self.numbers,
            "total": str(self.total),
        }
        if self.spread is not None:
            data["spread"] = self.spread.to_dict()
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> SignalState:
        spread = data.get("spread")
        return SignalState(
            int(data["rows"]), int(data["present"]), int(data["bools"]), int(data["hits"]),
            int(data["numbers"]), Fraction(data["total"]),
            Spread.from_dict(spread) if spread is not None else None,
        )  # fmt: skip


def signal_state(signal: Signal, observations: Sequence[Observed]) -> SignalState:
    """The mergeable state of `signal` over `observations`: only what its kind needs, since
    ingest makes one for every signal of every batch."""
    rows = len(observations)
    if signal.kind == "count":
        return SignalState(rows=rows)
    present = [v for v in signal_values(signal, observations) if v is not None]
    state = SignalState(rows=rows, present=len(present))
    if signal.kind in ("rate", "expr"):
        bools = sum(type(v) is bool for v in present)
        state = replace(state, bools=bools, hits=hits_of(signal, present))
    if signal.kind != "rate":
        numbers = finite_numbers(present, with_bools=True)
        spread = spread_of(numbers) if signal.kind == "quantile" else None
        state = replace(
            state, numbers=int(numbers.size), total=exact_sums(numbers)[0], spread=spread
        )
    return state


def finite_numbers(values: Sequence[Any], *, with_bools: bool) -> np.ndarray:
    """The finite numbers among `values` (booleans as 0 and 1 when `with_bools`), in order.
    Most batches hold nothing but numbers, which numpy converts in one step."""
    if set(map(type, values)) <= {float, int}:
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:
            array = _slow_numbers(values, with_bools)
    else:
        array = _slow_numbers(values, with_bools)
    return array[np.isfinite(array)]


def _slow_numbers(values: Sequence[Any], with_bools: bool) -> np.ndarray:
    kept = []
    for v in values:
        if isinstance(v, int | float) and (with_bools or type(v) is not bool):
            try:
                kept.append(float(v))
            except OverflowError:
                kept.append(math.inf if v > 0 else -math.inf)
    return np.array(kept, dtype=np.float64)


def merge_signal_states(a: SignalState, b: SignalState) -> SignalState:
    spread = a.spread
    if a.spread is not None and b.spread is not None:
        spread = merge_spreads(a.spread, b.spread)
    elif spread is None:
        spread = b.spread
    return SignalState(
        a.rows + b.rows, a.present + b.present, a.bools + b.bools, a.hits + b.hits,
        a.numbers + b.numbers, a.total + b.total, spread,
    )  # fmt: skip


def signal_value(signal: Signal, state: SignalState) -> SignalValue:
    """The signal's value over the observations `state` summarises; None when nothing was
    measured. A rate is the share of present values that hit; an expression whose every value is
    a boolean is a rate too; otherwise the mean (or quantile) of the finite numbers."""
    if signal.kind == "count":
        return SignalValue(float(state.rows), state.rows)
    if signal.kind == "rate" or (signal.kind == "expr" and is_all_bool(state.present, state.bools)):
        if not state.present:
            return SignalValue(None, 0)
        return SignalValue(state.hits / state.present, state.present)
    if not state.numbers:
        return SignalValue(None, 0)
    if signal.kind == "quantile" and state.spread is not None:
        return SignalValue(state.spread.quantile(signal.q or 0.5), state.numbers)
    return SignalValue(float(state.total / state.numbers), state.numbers)


def hits_of(signal: Signal, present: Sequence[Any]) -> int:
    """How many present values count as a hit if the signal is a rate: a match of its RE2
    pattern when it has one (the values as text, matched in one pass by Arrow's RE2), else True
    or a positive number."""
    if signal.match:
        if not present:
            return 0
        import pyarrow as pa  # a batch's matching, not every command's start-up
        import pyarrow.compute as pc

        texts = pa.array([v if isinstance(v, str) else str(v) for v in present], pa.string())
        return int(pc.sum(pc.match_substring_regex(texts, signal.match)).as_py() or 0)
    return sum(1 for v in present if v is True or (isinstance(v, int | float) and v > 0))


def load_matching() -> None:
    """Load Arrow's RE2 now rather than on the first batch with a `rate` signal: the import
    (and the pandas Arrow looks for when it builds an array) costs about a second and a half,
    which a server should pay before it answers, not while a client waits."""
    hits_of(Signal.model_validate({"from": "output", "kind": "rate", "match": "a"}), ["a"])


def is_all_bool(present: int, bools: int) -> bool:
    return bool(present) and bools == present
