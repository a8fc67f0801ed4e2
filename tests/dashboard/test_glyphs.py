"""No character the dashboard or the period report shows may be missing from a stock Debian
browser, whose default sans-serif is DejaVu Sans (fonts-dejavu-core): a missing glyph is drawn
as an empty box. Every non-ASCII character the templates, stylesheet and report code hold, and
every one the rendered pages of a real organisation emit, must be in `DEJAVU_SANS`; and each of
those is checked against the font's own `cmap` wherever the font is installed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.dashboard._fonts import covered
from tests.dashboard._world import SYSTEM, World
from tests.dashboard.conftest import Browser
from watchkeeper.app import Operations
from watchkeeper.care import report as reports
from watchkeeper.server import dashboard

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ANA = "ana@corp.example"
# What the pages and the report use today, each in DejaVu Sans 2.37 (checked against its cmap by
# `test_dejavu_sans_has_every_allowed_character`). Adding a character here is a decision: look
# it up in the font first. Not here, because DejaVu lacks them: 🔒 ⏻ ⛔ 🚫 and emoji in general.
DEJAVU_SANS = frozenset("·×–—“”…←→■▲●◐⊘✓✗")
SOURCES = [
    *sorted((Path(dashboard.__file__).parent).rglob("*.html")),
    *sorted((Path(dashboard.__file__).parent).rglob("*.css")),
    *sorted((Path(dashboard.__file__).parent).rglob("*.py")),
    Path(reports.__file__),
]


def non_ascii(text: str) -> set[str]:
    return {ch for ch in text if ord(ch) > 0x7E}


def rendered(browser: Callable[[], Browser], world: World) -> dict[str, str]:
    """Every kind of page, as a kill authority sees it, and the period report."""
    ana = browser()
    ana.sign_in(world.token(ANA))
    pages = {
        path: ana.get(path).text
        for path in (
            "/",
            f"/systems/{SYSTEM}",
            f"/incidents/{world.incident}",
            f"/systems/{SYSTEM}/observations",
            f"/systems/{SYSTEM}/observations?where=nonsense%20%3D%3D",
            "/systems/nope",
        )
    }
    pages["confirm"] = ana.post(f"/systems/{SYSTEM}/switch", state="disabled", reason="x").text
    pages["signin"] = browser().get("/signin").text
    ops = Operations(world.app, ANA, world.clock.now(), enforce=True)
    pages["report"] = reports.html_page(ops.report(SYSTEM, 30))
    return pages


def test_every_character_shown_is_one_dejavu_sans_has(
    browser: Callable[[], Browser], world: World
) -> None:
    for source in SOURCES:
        missing = non_ascii(source.read_text(encoding="utf-8")) - DEJAVU_SANS
        assert not missing, f"{source.name} uses {sorted(missing)}, not in DejaVu Sans"
    for page, text in rendered(browser, world).items():
        missing = non_ascii(text) - DEJAVU_SANS
        assert not missing, f"{page} shows {sorted(missing)}, not in DejaVu Sans"


def test_dejavu_sans_has_every_allowed_character() -> None:
    if not FONT.exists():
        reason = f"{FONT} is missing (apt-get install fonts-dejavu-core)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI checks the glyphs against the font)", pytrace=False)
        pytest.skip(reason)
    have = covered(FONT)
    assert not {ch for ch in DEJAVU_SANS if ord(ch) not in have}
    assert ord("✓") in have and ord("🔒") not in have, "the cmap reader tells the two apart"
