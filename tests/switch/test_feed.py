"""The feed hears every flip — made through this Store, or through another one on the same
database, as another server process would (PostgreSQL: NOTIFY; SQLite: the rescan)."""

from __future__ import annotations

import queue
import time

import pytest

from tests.server._world import ROLES, SYSTEM, World
from watchkeeper.app import build
from watchkeeper.store import Store
from watchkeeper.switch import SwitchFeed, SwitchState


@pytest.mark.parametrize("elsewhere", [False, True], ids=["same-store", "other-store"])
def test_every_flip_is_published_once(world: World, elsewhere: bool) -> None:
    heard: queue.Queue[SwitchState] = queue.Queue()
    app = world.app
    other = Store.open(app.settings.db) if elsewhere else app.store
    flipper = build(app.settings, store=other, clock=app.clock)
    feed = SwitchFeed(app.switch, app.store, heard.put)
    feed.start()
    try:
        now = app.clock.now()
        for version, state in enumerate(["disabled", "enabled", "disabled"], start=1):
            flipper.switch.set(SYSTEM, state, f"flip {version}", ROLES["kill_authority"], now)
            got = heard.get(timeout=5)
            assert (got.system, got.state, got.version) == (SYSTEM, state, version)
        time.sleep(0.3)
        assert heard.empty()
    finally:
        feed.stop()
        if elsewhere:
            other.close()
