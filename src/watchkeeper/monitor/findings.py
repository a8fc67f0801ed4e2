"""What a check concluded, with its evidence. Monitoring stops here: it knows nothing of alerts,
incidents or who gets paged; alerting matches findings to the runbook's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from watchkeeper.manifest import Severity

CheckKind = Literal[
    "bounds",
    "drop",
    "rise",
    "threshold",
    "trend",
    "drift",
    "undecided",
    "contract",
    "silence",
    "eval_overdue",
    "baseline",
    "estimate",
    "failure",
]


@dataclass(frozen=True)
class Finding:
    system: str
    check: CheckKind
    subject: str
    severity: Severity
    summary: str
    window_start: datetime
    window_end: datetime
    rule: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Stable across windows, so the same ongoing problem deduplicates into one alert."""
        return f"{self.system}/{self.rule or self.check}/{self.subject}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "check": self.check,
            "subject": self.subject,
            "severity": self.severity,
            "summary": self.summary,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "rule": self.rule,
            "fingerprint": self.fingerprint,
            "evidence": self.evidence,
        }
