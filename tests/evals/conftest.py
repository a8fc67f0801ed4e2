"""Modules written to a temporary repository, standing in for a system's own code."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from .samples import WriteModule


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """Whatever was imported from it is forgotten afterwards, so tests may reuse module names."""
    folder = tmp_path / "repo"
    folder.mkdir()
    yield folder
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def write_module(repo: Path) -> WriteModule:
    def write(relative: str, source: str) -> Path:
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return path

    return write
