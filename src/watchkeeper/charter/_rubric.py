"""The shape both rubrics share: checks with a stable id, a weight, why it matters and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from watchkeeper.manifest import Severity


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
    # False when what the check needs was not at hand (acknowledgements, to a gate that reads
    # no store): such a check neither passes nor fails, and counts towards no score.
    checked: bool = True

    @property
    def failed(self) -> bool:
        return self.checked and not self.passed

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "passed": self.passed if self.checked else None,
            "severity": self.severity,
            "weight": self.weight,
            "detail": self.detail,
            "why": self.why,
            "fix": self.fix if self.failed else "",
        }


def score(checks: Sequence[Check]) -> int:
    """Weighted share of passing checks among those checked, 0–100; a rubric with nothing to
    check scores 100 (nothing to miss)."""
    total = sum(c.weight for c in checks if c.checked)
    if not total:
        return 100
    return round(100 * sum(c.weight for c in checks if c.checked and c.passed) / total)
