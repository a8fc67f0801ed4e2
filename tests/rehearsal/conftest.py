"""A rehearsal runs on its own throwaway SQLite store whatever the real one is; what it reads
and records in the real store (the system, its people, the rehearsal's record) is tested on both
databases in tests/store/test_rehearsal_store.py, tests/charter and the CLI and route tests. So
the engine's tests run once, on SQLite, to keep the suite inside its time."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wk.db'}"
