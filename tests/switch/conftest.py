"""A live server on the wall clock, and real serving processes against it (tests/switch/
_serving.py), for the tests that need the SDK to obey the switch for real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.server._world import World, build_world
from tests.switch._serving import HEARTBEAT, Serving
from watchkeeper.app import build
from watchkeeper.server import LiveServer
from watchkeeper.settings import Settings
from watchkeeper.store import Store


@pytest.fixture
def live_app(db_url: str, store: Store, tmp_path: Path) -> Iterator[tuple[World, LiveServer]]:
    """The organisation on the wall clock (liveness and timings need time to pass), served."""
    app = build(Settings(db=db_url), store=store)
    world = build_world(app, tmp_path / "org")
    server = LiveServer(app).start()
    yield world, server
    server.stop()


@pytest.fixture
def serving(live_app: tuple[World, LiveServer], tmp_path: Path) -> Iterator[Callable[..., Serving]]:
    """`serving(service, offset=0.0, heartbeat=HEARTBEAT)` starts a serving process; all are
    killed at the end."""
    world, server = live_app
    started: list[Serving] = []

    def start(service: str, offset: float = 0.0, heartbeat: float = HEARTBEAT) -> Serving:
        token = world.token("other_role_holder")
        process = Serving(server.url, token, tmp_path / service, service, offset, heartbeat)
        started.append(process)
        return process

    yield start
    for process in started:
        process.process.kill()
        process.process.communicate()
