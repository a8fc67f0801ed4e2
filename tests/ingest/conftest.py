"""The ingest tests talk to the real app: the same small organisation as the server tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server._world import Api, World, api_for, build_world
from watchkeeper.app import Watchkeeper
from watchkeeper.server import create_app


@pytest.fixture
def world(app: Watchkeeper, tmp_path: Path) -> World:
    return build_world(app, tmp_path / "org")


@pytest.fixture
def api(world: World) -> Iterator[Api]:
    yield from api_for(create_app(world.app))
