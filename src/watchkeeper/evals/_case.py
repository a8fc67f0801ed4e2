"""One golden-set case: its own module because the scorers (which score a case) and the runner
(which reads and runs them) both need it, and the runner needs the scorers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    id: str
    input: Any
    expected: Any
    tags: tuple[str, ...] = ()
