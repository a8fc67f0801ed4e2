"""The shape both rubrics share: checks with a stable id, a weight, why it matters and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "warning"]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    passed: bool
    why: str
    fix: str = ""
    detail: str = ""
    weight: int = 1
    severity: Severity = "warning"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "severity": self.severity,
            "weight": self.weight,
            "detail": self.detail,
            "why": self.why,
            "fix": "" if self.passed else self.fix,
        }


def score(checks: Sequence[Check]) -> int:
    """Weighted share of passing checks, 0–100; an empty rubric scores 100 (nothing to miss)."""
    total = sum(c.weight for c in checks)
    if not total:
        return 100
    return round(100 * sum(c.weight for c in checks if c.passed) / total)
