"""The portfolio page with one system whose stored manifest the running code no longer reads: the
page still answers, shows the others as before, and shows that system's critical gap."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import make_unreadable
from tests.dashboard._world import OTHER, SYSTEM, World
from tests.dashboard.conftest import Browser


def test_the_portfolio_shows_an_unreadable_manifest_as_that_systems_gap(
    browser: Callable[[], Browser], world: World
) -> None:
    make_unreadable(world.app, OTHER, world.app.clock.now())

    ana = browser()
    assert ana.sign_in(world.token("ana@corp.example")).status_code == 303
    page = ana.get("/")
    assert page.status_code == 200, page.text
    assert "Support assistant" in page.text and "Ana Alvarez" in page.text
    assert f'href="/systems/{SYSTEM}"' in page.text and f'href="/systems/{OTHER}"' in page.text
    assert "no longer validates" in page.text
