"""Golden sets for the eval runner's tests: the shipped example, and small ones in memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchkeeper.evals import Case, Dataset

WriteModule = Callable[[str, str], Path]
"""write_module(relative path, source) -> the file written."""

EXAMPLES = Path(__file__).parent.parent.parent / "src" / "watchkeeper" / "cli" / "demo" / "evals"


def dataset(*cases: tuple[str, Any, Any] | tuple[str, Any, Any, tuple[str, ...]]) -> Dataset:
    """A golden set in memory: (id, input, expected[, tags]) per case."""
    return Dataset("memory.jsonl", "0" * 64, tuple(Case(*case) for case in cases))
