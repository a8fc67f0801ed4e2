"""Validating a batch of observations or feedback items: each item accepted as a typed record or
rejected with `items[i].field: what is wrong` — never silently dropped, never failing the batch.

"Valid" includes "storable on both back ends": PostgreSQL refuses NUL characters, unpaired
surrogates, NaN and infinities in text and JSON columns, so an item carrying them is rejected here
with its field named rather than failing the whole batch in the store. The JSON columns are
encoded once, here, and stored as that text.

Pure: the service stores the accepted ones and keeps each rejected item in the dead-letter table
with its reason (verbatim where the store can hold it, else as its `repr`).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from watchkeeper.clock import as_utc

OBSERVATION_KEYS = frozenset(
    {"id", "ts", "inputs", "output", "latency_ms", "model_version", "metadata"}
)
FEEDBACK_KEYS = frozenset({"observation_id", "label", "score", "thumbs_up", "ts", "metadata"})
MAX_ID = 200
MAX_TEXT = 200  # model_version: the width of its column
# How far after the moment it arrived an item's time may lie: clients' clocks drift a little.
FUTURE_SKEW = timedelta(minutes=5)
MAX_REPR = 10_000  # an unstorable rejected item is kept as its repr, cut to this length
# `\u0000` preceded by an even number of backslashes: an escaped NUL, not an escaped backslash
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _plain(value: Any) -> Any:
    """What JSON lacks but backfill files carry (Parquet dates, decimals), as JSON values."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal) and value.is_finite():
        return float(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _encoder() -> Callable[[Any], str]:
    """Compact, strict JSON. On CPython one C encoder is made once and reused: building it per
    call (what `JSONEncoder.encode` does) costs more than encoding a small object."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(
            ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_plain
        ).encode
    # markers, default, encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan
    chunks = make(None, _plain, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    return lambda value: "".join(chunks(value, 0))


_encode = _encoder()


class ObservationItem(NamedTuple):
    """A valid observation; `encoded` holds its inputs, output and metadata as the JSON text
    the store keeps, so nothing is encoded twice. A tuple: built once per item on the hot
    path, where a frozen dataclass costs twice as much."""

    id: str
    ts: datetime
    inputs: dict[str, Any]
    output: Any
    latency_ms: float | None
    model_version: str | None
    metadata: dict[str, Any]
    encoded: tuple[str, str, str]

    @property
    def feedback(self) -> None:
        """Feedback comes on its own later; a new observation has none."""
        return None


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
    if isinstance(value, (int, float)):  # a tuple: faster than a union, once per item
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
        except OverflowError:
            raise _Invalid("ts", f"{value!r} is out of range in UTC") from None
    raise _Invalid("ts", "must be an ISO 8601 time or seconds since the epoch")


def _storable_text(text: str, name: str) -> str:
    if "\x00" in text:
        raise _Invalid(name, "contains a NUL character, which the store cannot hold")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Invalid(name, "contains an unpaired surrogate: not valid Unicode") from None
    return text


def encode_json(value: Any, name: str) -> str:
    """`value` as compact JSON text that SQLite and PostgreSQL both accept as it is."""
    try:
        text = _encode(value)
    except ValueError:
        raise _Invalid(name, "NaN and infinities are not JSON numbers; send null") from None
    except TypeError as exc:
        raise _Invalid(name, f"must be JSON: {exc}") from None
    except RecursionError:
        raise _Invalid(name, "is nested too deeply") from None
    if "\\u0000" in text and _NUL.search(text):  # (JSON text never holds a raw NUL)
        raise _Invalid(name, "contains a NUL character, which the store cannot hold")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Invalid(name, "contains an unpaired surrogate: not valid Unicode") from None
    return text


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
    return _storable_text(text, name)


def _text(value: Any, name: str, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(name, "must be a string")
    if limit is not None and len(value) > limit:
        raise _Invalid(name, f"must be at most {limit} characters")
    return _storable_text(value, name)


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(name, "must be a JSON object")
    return value


def _number(value: Any, name: str, *, minimum: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(name, "must be a finite number")
    if minimum is not None and value < minimum:
        raise _Invalid(name, f"must be at least {minimum:g}")
    return float(value)


def _unknown(item: Mapping[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(str(k) for k in item if k not in allowed)
    if extra:
        raise _Invalid(extra[0], f"unknown field; allowed: {', '.join(sorted(allowed))}")


def clean_text(text: str) -> str:
    """Text the store can hold whatever it came from: NUL and unpaired surrogates escaped."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def keepable(raw: Any) -> Any:
    """A rejected item as the dead-letter table can hold it: as it came where the store can
    hold that, else its `repr` (which escapes NUL and surrogates), cut to MAX_REPR."""
    try:
        encode_json(raw, "")
    except _Invalid:
        return clean_text(repr(raw)[:MAX_REPR])
    return raw


def observation(item: Any, now: datetime) -> ObservationItem:
    if not isinstance(item, dict):
        raise _Invalid("", "must be a JSON object")
    if not OBSERVATION_KEYS.issuperset(item):
        _unknown(item, OBSERVATION_KEYS)
    inputs = _object(item.get("inputs"), "inputs")
    output = item.get("output")
    metadata = _object(item.get("metadata"), "metadata")
    return ObservationItem(
        id=_id(item.get("id"), "id", required=False),
        ts=parse_ts(item.get("ts"), now),
        inputs=inputs,
        output=output,
        latency_ms=_number(item.get("latency_ms"), "latency_ms", minimum=0),
        model_version=_text(item.get("model_version"), "model_version", MAX_TEXT),
        metadata=metadata,
        encoded=(
            encode_json(inputs, "inputs"),
            encode_json(output, "output"),
            encode_json(metadata, "metadata"),
        ),
    )


def feedback(item: Any, now: datetime) -> FeedbackItem:
    if not isinstance(item, dict):
        raise _Invalid("", "must be a JSON object")
    if not FEEDBACK_KEYS.issuperset(item):
        _unknown(item, FEEDBACK_KEYS)
    label = _text(item.get("label"), "label")
    metadata = _object(item.get("metadata"), "metadata")
    encode_json(metadata, "metadata")
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
        metadata=metadata,
    )


def sane_time(ts: datetime, now: datetime, retention: timedelta | None) -> None:
    """An item's time must lie where monitoring can use it: one dated 1970 would become its
    system's whole baseline, and one dated next year would hide every silence until then."""
    if retention is not None and ts < now - retention:
        raise _Invalid(
            "ts",
            f"{ts.isoformat()} is older than the system's retention ({_span(retention)}) "
            f"before {now.isoformat()}",
        )
    if ts > now + FUTURE_SKEW:
        raise _Invalid(
            "ts",
            f"{ts.isoformat()} is more than {_span(FUTURE_SKEW)} after the time it arrived "
            f"({now.isoformat()}); check the sender's clock",
        )


def _span(delta: timedelta) -> str:
    for unit, suffix in ((timedelta(days=1), "d"), (timedelta(hours=1), "h")):
        if delta >= unit and not delta % unit:
            return f"{delta // unit}{suffix}"
    return f"{delta.total_seconds() / 60:g}m"


def validate_batch(
    items: Sequence[Any],
    now: datetime,
    *,
    kind: str = "observation",
    retention: timedelta | None = None,
) -> tuple[list[Any], list[Rejected]]:
    """Accepted records in order and every rejected item with `items[i].field: reason`; times
    older than `retention` or more than FUTURE_SKEW after `now` are rejected too."""
    parse = observation if kind == "observation" else feedback
    accepted: list[Any] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        try:
            record = parse(item, now)
            sane_time(record.ts, now, retention)
            accepted.append(record)
        except _Invalid as exc:
            where = f"items[{index}]" + (f".{exc.field_name}" if exc.field_name else "")
            rejected.append(Rejected(index, clean_text(f"{where}: {exc}"), keepable(item)))
    return accepted, rejected
