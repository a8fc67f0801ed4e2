"""Validating a batch of observations or feedback items: each item accepted as a typed record or
rejected with `items[i].field: what is wrong` — never silently dropped, never failing the batch.

Pure: the service stores the accepted ones and keeps each rejected item verbatim in the
dead-letter table with its reason.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from watchkeeper.clock import as_utc

OBSERVATION_KEYS = frozenset(
    {"id", "ts", "inputs", "output", "latency_ms", "model_version", "metadata"}
)
FEEDBACK_KEYS = frozenset({"observation_id", "label", "score", "thumbs_up", "ts", "metadata"})
MAX_ID = 200


@dataclass(frozen=True)
class ObservationItem:
    id: str
    ts: datetime
    inputs: dict[str, Any]
    output: Any
    latency_ms: float | None
    model_version: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackItem:
    observation_id: str
    ts: datetime
    label: str | None
    score: float | None
    thumbs_up: bool | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    index: int
    error: str
    raw: Any

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "error": self.error}


class _Invalid(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        self.field_name = field_name
        super().__init__(message)


def parse_ts(value: Any, default: datetime) -> datetime:
    """ISO 8601 text or seconds since the epoch; absent means 'when it arrived'."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise _Invalid("ts", "must be an ISO 8601 time or seconds since the epoch")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise _Invalid("ts", "must be a finite number")
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise _Invalid("ts", f"{value} is out of range") from None
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            raise _Invalid("ts", f"{value!r} is not an ISO 8601 time") from None
    raise _Invalid("ts", "must be an ISO 8601 time or seconds since the epoch")


def _id(value: Any, name: str, *, required: bool) -> str:
    if value is None:
        if required:
            raise _Invalid(name, "is required")
        return uuid.uuid4().hex
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid(name, "must be a string")
    text = str(value)
    if not text or len(text) > MAX_ID:
        raise _Invalid(name, f"must be 1 to {MAX_ID} characters")
    return text


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(name, "must be a JSON object")
    return value


def _number(value: Any, name: str, *, minimum: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Invalid(name, "must be a finite number")
    if minimum is not None and value < minimum:
        raise _Invalid(name, f"must be at least {minimum:g}")
    return float(value)


def _unknown(item: Mapping[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(str(k) for k in item if k not in allowed)
    if extra:
        raise _Invalid(extra[0], f"unknown field; allowed: {', '.join(sorted(allowed))}")


def observation(item: Any, now: datetime) -> ObservationItem:
    if not isinstance(item, dict):
        raise _Invalid("", "must be a JSON object")
    _unknown(item, OBSERVATION_KEYS)
    version = item.get("model_version")
    if version is not None and not isinstance(version, str):
        raise _Invalid("model_version", "must be a string")
    return ObservationItem(
        id=_id(item.get("id"), "id", required=False),
        ts=parse_ts(item.get("ts"), now),
        inputs=_object(item.get("inputs"), "inputs"),
        output=item.get("output"),
        latency_ms=_number(item.get("latency_ms"), "latency_ms", minimum=0),
        model_version=version,
        metadata=_object(item.get("metadata"), "metadata"),
    )


def feedback(item: Any, now: datetime) -> FeedbackItem:
    if not isinstance(item, dict):
        raise _Invalid("", "must be a JSON object")
    _unknown(item, FEEDBACK_KEYS)
    label = item.get("label")
    if label is not None and not isinstance(label, str):
        raise _Invalid("label", "must be a string")
    thumbs = item.get("thumbs_up")
    if thumbs is not None and not isinstance(thumbs, bool):
        raise _Invalid("thumbs_up", "must be true or false")
    score = _number(item.get("score"), "score")
    if label is None and score is None and thumbs is None:
        raise _Invalid("label", "give at least one of label, score or thumbs_up")
    return FeedbackItem(
        observation_id=_id(item.get("observation_id"), "observation_id", required=True),
        ts=parse_ts(item.get("ts"), now),
        label=label,
        score=score,
        thumbs_up=thumbs,
        metadata=_object(item.get("metadata"), "metadata"),
    )


def validate_batch(
    items: Sequence[Any], now: datetime, *, kind: str = "observation"
) -> tuple[list[Any], list[Rejected]]:
    """Accepted records in order and every rejected item with `items[i].field: reason`."""
    parse = observation if kind == "observation" else feedback
    accepted: list[Any] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        try:
            accepted.append(parse(item, now))
        except _Invalid as exc:
            where = f"items[{index}]" + (f".{exc.field_name}" if exc.field_name else "")
            rejected.append(Rejected(index, f"{where}: {exc}", item))
    return accepted, rejected
