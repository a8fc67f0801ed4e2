"""The one rule for turning a computed value into JSON that every reader accepts.

Evidence, findings and run records are written to JSON columns (PostgreSQL refuses NaN and
Infinity) and served over the API (where `NaN` is not JSON), so a value that has no JSON form
becomes null rather than failing a write or a response: a non-finite number is "no number".
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any


def plain(value: Any) -> Any:
    """`value` with JSON's types only: mappings get string keys, lists and tuples stay lists,
    non-finite floats null, instants ISO 8601, numpy scalars Python numbers, anything else
    (a set, an object) its string, which says what it was."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return plain(item())
    return str(value)
