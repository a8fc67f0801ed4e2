"""The kill-switch long-poll over a real socket: it answers the moment the version moves, on
every replica sharing the database, and at once when the server shuts down."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tests.server._world import ROLES, SYSTEM, World
from watchkeeper.app import build
from watchkeeper.server import LiveServer
from watchkeeper.store import Store

PATH = f"/api/v1/systems/{SYSTEM}/switch"


class Poll(threading.Thread):
    """One long-poll in the background: its answer and how long it took."""

    def __init__(self, url: str, token: str, after: int, wait: float = 20.0) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.params = url, token, {"wait": wait, "after_version": after}
        self.answer: dict[str, Any] | None = None
        self.took = 0.0

    def run(self) -> None:
        started = time.monotonic()
        response = httpx.get(
            self.url + PATH,
            params=self.params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        self.took = time.monotonic() - started
        self.answer = response.json()

    def parked(self) -> Poll:
        self.start()
        time.sleep(0.3)
        assert self.answer is None, "answered before anything moved"
        return self


def flip(world: World, state: str) -> None:
    world.app.switch.set(SYSTEM, state, "test", ROLES["kill_authority"], world.app.clock.now())


def test_a_poll_answers_when_the_version_moves(world: World, live: LiveServer) -> None:
    polls = [Poll(live.url, world.token("unrelated"), after=0).parked() for _ in range(5)]
    flip(world, "disabled")
    for poll in polls:
        poll.join(timeout=10)
        assert poll.answer is not None and poll.answer["version"] == 1
        assert poll.took < 10, "answered by the flip, not by the 20 s wait"


def test_a_poll_behind_the_current_version_answers_at_once(world: World, live: LiveServer) -> None:
    flip(world, "disabled")
    poll = Poll(live.url, world.token("unrelated"), after=0)
    poll.start()
    poll.join(timeout=10)
    assert poll.answer is not None and poll.answer["version"] == 1


def test_a_quiet_poll_returns_the_unchanged_state_when_its_wait_ends(
    world: World, live: LiveServer
) -> None:
    poll = Poll(live.url, world.token("unrelated"), after=0, wait=0.2)
    poll.start()
    poll.join(timeout=10)
    assert poll.answer is not None and poll.answer["version"] == 0


def test_a_flip_on_one_replica_reaches_polls_on_another(world: World) -> None:
    """Two server replicas, each with its own connection pool and listener, as two processes
    would have (PostgreSQL: NOTIFY; SQLite: the feed's rescan)."""
    other = build(world.app.settings, store=Store.open(world.app.settings.db))
    with LiveServer(world.app) as first, LiveServer(other) as second:
        poll = Poll(second.url, world.token("unrelated"), after=0).parked()
        response = httpx.post(
            first.url + PATH,
            json={"state": "disabled", "reason": "seen everywhere"},
            headers={"Authorization": f"Bearer {world.token('kill_authority')}"},
        )
        assert response.status_code == 200
        poll.join(timeout=10)
        assert poll.answer is not None and poll.answer["reason"] == "seen everywhere"
    other.close()


def test_shutting_down_answers_parked_polls_at_once(world: World) -> None:
    server = LiveServer(world.app).start()
    poll = Poll(server.url, world.token("unrelated"), after=0).parked()
    started = time.monotonic()
    server.stop()
    poll.join(timeout=10)
    assert poll.answer is not None and poll.answer["version"] == 0
    assert time.monotonic() - started < 10, "did not wait for the 20 s poll to run out"
