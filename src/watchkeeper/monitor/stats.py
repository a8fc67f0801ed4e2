"""The reviewed error rate: what people found wrong in the random sample, with its uncertainty.

Only items queued by the sample rule count (other rules pick suspicious outputs on purpose and
would inflate the rate). `unclear` verdicts are left out of both sides. The interval is Wilson's
score interval, which behaves at small n and near 0 or 1 where the normal approximation lies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

ERROR_VERDICTS = frozenset({"wrong", "harmful"})
Z95 = 1.959963984540054


@dataclass(frozen=True)
class ErrorRate:
    rate: float | None
    low: float | None
    high: float | None
    errors: int
    reviewed: int

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "rate": self.rate,
            "low": self.low,
            "high": self.high,
            "errors": self.errors,
            "reviewed": self.reviewed,
        }


def wilson(errors: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = errors / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def reviewed_error_rate(verdicts: Iterable[str]) -> ErrorRate:
    judged = [v for v in verdicts if v != "unclear"]
    errors = sum(1 for v in judged if v in ERROR_VERDICTS)
    if not judged:
        return ErrorRate(None, None, None, 0, 0)
    low, high = wilson(errors, len(judged))
    return ErrorRate(errors / len(judged), low, high, errors, len(judged))
