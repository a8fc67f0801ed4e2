from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server._world import World
from watchkeeper import Client
from watchkeeper.server import LiveServer

MakeClient = Callable[..., Client]


@pytest.fixture
def live(world: World) -> Iterator[LiveServer]:
    server = LiveServer(world.app).start()
    yield server
    server.stop()


@pytest.fixture
def make_client(world: World, live: LiveServer, tmp_path: Path) -> Iterator[MakeClient]:
    """SDK clients on the live server, as the quality monitor (whose token may write the
    system's data), caching under tmp_path; all closed at the end."""
    made: list[Client] = []

    def make(**options: Any) -> Client:
        options = {
            "url": live.url,
            "token": world.token("other_role_holder"),
            "system": "triage-bot",
            "cache_dir": tmp_path / "cache",
            **options,
        }
        client = Client(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
