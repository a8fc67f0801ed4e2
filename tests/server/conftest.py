from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server._world import World
from watchkeeper.server import LiveServer


class RemoteCli:
    """Runs `wk` in client mode against a live server, as one person (their token)."""

    def __init__(
        self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch

    def __call__(self, *args: str, token: str | None) -> tuple[int, str, str]:
        from watchkeeper.cli import run

        # a database nobody can reach: client mode must never open one
        self.monkeypatch.setenv("WATCHKEEPER_DB", "postgresql+psycopg://nobody@127.0.0.1:9/x")
        self.monkeypatch.setenv("WATCHKEEPER_URL", self.url)
        if token:
            self.monkeypatch.setenv("WATCHKEEPER_TOKEN", token)
        else:
            self.monkeypatch.delenv("WATCHKEEPER_TOKEN", raising=False)
        self.monkeypatch.delenv("WATCHKEEPER_USER", raising=False)
        self.capsys.readouterr()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def live(world: World) -> Iterator[LiveServer]:
    with LiveServer(world.app) as server:
        yield server


@pytest.fixture
def remote(
    live: LiveServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> RemoteCli:
    return RemoteCli(live.url, capsys, monkeypatch)
