from __future__ import annotations

from pathlib import Path

import pytest

from tests.server._world import World, build_world
from watchkeeper.app import Watchkeeper


@pytest.fixture
def world(app: Watchkeeper, tmp_path: Path) -> World:
    return build_world(app, tmp_path / "org")
