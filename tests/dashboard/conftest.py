"""The dashboard over in-process HTTP, as a browser would use it: cookies kept, forms posted
with the CSRF token the page carried."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.dashboard._world import World, build_world
from watchkeeper.app import Watchkeeper
from watchkeeper.server import create_app

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """One person's browser against the app in-process (httpx over ASGI, no socket)."""

    def __init__(self, portal: BlockingPortal, app: Any) -> None:
        self._portal = portal
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://watchkeeper"
        )
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        response = self._call("GET", path)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, **form: str) -> httpx.Response:
        return self._call("POST", path, data={"csrf": self.csrf, **form})

    def sign_in(self, token: str, next: str = "/") -> httpx.Response:
        self.get("/signin")
        return self.post("/signin", token=token, next=next)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        send = functools.partial(self._client.request, method, path, **kwargs)
        return self._portal.call(send)

    def close(self) -> None:
        self._portal.call(self._client.aclose)


@pytest.fixture
def world(app: Watchkeeper, tmp_path: Path) -> World:
    return build_world(app, tmp_path / "org")


@pytest.fixture
def browser(world: World) -> Iterator[Any]:
    """`browser()` opens a fresh browser (its own cookies) on the one app."""
    server = create_app(world.app)
    opened: list[Browser] = []
    with start_blocking_portal() as portal:

        def open_browser() -> Browser:
            opened.append(Browser(portal, server))
            return opened[-1]

        yield open_browser
        for each in opened:
            each.close()
