"""Signal values per window: the runbook's named quality measures computed over observations.

Pure: given a signal definition and the observations of one window, return the value and how
many observations it rests on. Windows are aligned to the epoch so every process computes the
same ones; eval- and triage-based signals are computed where those records live.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from watchkeeper.expr import compile_expr, compile_regex, resolve
from watchkeeper.manifest import Signal
from watchkeeper.store import ObservationRecord

# What signals are computed over, under the name the monitor and triage rules use for it.
Observation = ObservationRecord
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fields_of(observation: Observation) -> dict[str, Any]:
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


def _values(signal: Signal, observations: Sequence[Observation]) -> list[Any]:
    if signal.kind == "expr" and signal.expr:
        run = compile_expr(signal.expr)
        return [run(fields_of(o)) for o in observations]
    if signal.source == "feedback":
        path = f"feedback.{signal.field or 'score'}"
        return [resolve(fields_of(o), path) for o in observations if o.feedback]
    if signal.source == "output":
        if signal.field == "length":
            return [resolve(fields_of(o), "output_length") for o in observations]
        if not signal.field:
            return [o.output for o in observations]
        return [resolve(fields_of(o), f"output.{signal.field}") for o in observations]
    return [resolve(fields_of(o), signal.field or "latency_ms") for o in observations]


def compute(signal: Signal, observations: Sequence[Observation]) -> SignalValue:
    """The signal's value over one window's observations; None when nothing was measured."""
    if signal.kind == "count":
        return SignalValue(float(len(observations)), len(observations))
    raw = _values(signal, observations)
    if signal.kind == "rate" or (signal.kind == "expr" and _all_bool(raw)):
        return _rate(signal, raw)
    numbers = np.array(
        [float(v) for v in raw if isinstance(v, int | float) and not isinstance(v, bool)]
        + [float(v) for v in raw if isinstance(v, bool)],
        dtype=float,
    )
    numbers = numbers[np.isfinite(numbers)]
    if not numbers.size:
        return SignalValue(None, 0)
    if signal.kind == "quantile":
        return SignalValue(float(np.quantile(numbers, signal.q or 0.5)), int(numbers.size))
    return SignalValue(float(numbers.mean()), int(numbers.size))


def _all_bool(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, bool) for v in present)


def _rate(signal: Signal, values: list[Any]) -> SignalValue:
    present = [v for v in values if v is not None]
    if not present:
        return SignalValue(None, 0)
    if signal.match:
        pattern = compile_regex(signal.match)
        hits = sum(1 for v in present if pattern.search(v if isinstance(v, str) else str(v)))
    else:
        hits = sum(1 for v in present if v is True or (isinstance(v, int | float) and v > 0))
    return SignalValue(hits / len(present), len(present))
