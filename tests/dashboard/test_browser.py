"""The dashboard in a real headless Chromium against a real uvicorn on loopback: sign in, read
the portfolio, open a system, acknowledge an incident, record a triage verdict, flip the kill
switch as a kill authority, and be refused as someone else. Screenshots of each step go to
`test-artifacts/dashboard/`.

Chromium is Debian's package at /usr/bin/chromium (never a downloaded browser). Without it these
tests skip locally and FAIL under CI=true, so a green CI run always means a browser ran them.
They run on SQLite only: the in-process tests cover both stores, this covers the browser.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard._world import SYSTEM, World, build_world
from watchkeeper.app import build
from watchkeeper.clock import FixedClock
from watchkeeper.server import LiveServer
from watchkeeper.settings import Settings
from watchkeeper.testing import T0, http_receiver

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts" / "dashboard"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ANA, UMA = "ana@corp.example", "uma@corp.example"
TALLEST = 8000  # px: the system page with a full page of triage items, on a laptop


def _unavailable() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install)"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI requires the browser tests)", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    """The organisation on SQLite, notifying a loopback receiver, served by uvicorn."""
    folder = tmp_path_factory.mktemp("dashboard-browser")
    app = build(Settings(db=f"sqlite:///{folder / 'wk.db'}"), clock=FixedClock(T0))
    try:
        with http_receiver() as receiver:
            world = build_world(app, folder / "org", receiver.url)
            with LiveServer(app) as live:
                yield world, live.url
    finally:
        app.close()


def _page(chromium: Any, url: str, token: str, viewport: dict[str, int] = LAPTOP) -> Any:
    """A fresh browser context (its own cookies) signed in through the form, by keyboard."""
    page = chromium.new_context(viewport=viewport).new_page()
    page.goto(f"{url}/")
    assert page.url.startswith(f"{url}/signin")
    page.get_by_label("API token").fill(token)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")
    return page


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_sign_in_and_read_the_portfolio_and_a_system(chromium: Any, site: tuple) -> None:
    world, url = site
    page = _page(chromium, url, world.token(ANA))
    assert page.get_by_role("heading", name="Portfolio").is_visible()
    assert page.get_by_role("link", name="Support assistant").is_visible()
    assert page.get_by_text("1 open incidents").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    _shot(page, "01-portfolio")
    page.get_by_role("link", name="Support assistant").click()
    page.wait_for_url(f"{url}/systems/{SYSTEM}")
    assert page.locator("#switch form").is_visible()
    assert page.locator("#signals svg").count() == 2
    _shot(page, "02-system")
    phone = _page(chromium, url, world.token(ANA), PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(phone, "03-portfolio-phone")


def test_acknowledge_an_incident(chromium: Any, site: tuple) -> None:
    world, url = site
    page = _page(chromium, url, world.token(ANA))
    page.locator(f'a[href="/incidents/{world.incident}"]').first.click()
    page.wait_for_url(f"{url}/incidents/{world.incident}")
    assert page.get_by_text("Escalated to level 1: notified ana@corp.example").is_visible()
    page.get_by_role("button", name=f"Acknowledge incident #{world.incident}").click()
    page.wait_for_url(f"{url}/incidents/{world.incident}?done=incident-ack")
    assert page.get_by_role("status").inner_text().endswith("escalation has stopped.")
    assert world.app.alerting.incident_detail(world.incident)["acknowledged_by"] == ANA
    _shot(page, "04-incident-acknowledged")


def test_record_a_triage_verdict(chromium: Any, site: tuple) -> None:
    world, url = site
    page = _page(chromium, url, world.token(ANA))
    page.goto(f"{url}/systems/{SYSTEM}#triage")
    item = world.triage_items[0]
    form = page.locator(f'form[action="/triage/{item}/verdict"]')
    form.get_by_label("Wrong").check()
    form.get_by_text("Add a corrected label, tags or a note").click()
    form.get_by_label("Tags, comma-separated (optional)").fill("over-apology")
    form.get_by_role("button", name=f"Record verdict on #{item}").click()
    page.wait_for_url(f"{url}/systems/{SYSTEM}?done=verdict#triage")
    assert page.get_by_role("status").inner_text().endswith("Verdict recorded.")
    queue = world.app.triage.queue(SYSTEM, world.clock.now(), status=None)
    assert next(i for i in queue if i["id"] == item)["verdict"] == "wrong"
    _shot(page, "05-triage-verdict")


def test_kill_authority_flips_the_switch_and_anyone_else_is_refused(
    chromium: Any, site: tuple
) -> None:
    world, url = site
    uma = _page(chromium, url, world.token(UMA))
    uma.goto(f"{url}/systems/{SYSTEM}#switch")
    assert uma.locator("#switch form").count() == 0
    assert uma.locator("#switch").get_by_text("is not a kill authority").is_visible()
    # she posts the form anyway, as a hand-made request with her own session would
    csrf = uma.locator('input[name="csrf"]').first.input_value()
    with uma.expect_navigation():
        uma.evaluate(
            """([csrf, system]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = `/systems/${system}/switch`;
                for (const [name, value] of Object.entries(
                    {csrf, state: "disabled", reason: "curious", confirm: "yes"})) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [csrf, SYSTEM],
        )
    assert uma.get_by_role("heading", name="Refused").is_visible()
    assert uma.get_by_text("uma@corp.example is not a kill authority").is_visible()
    _shot(uma, "06-switch-refused")
    assert world.app.switch.state(SYSTEM).state == "enabled"

    ana = _page(chromium, url, world.token(ANA))
    ana.goto(f"{url}/systems/{SYSTEM}#switch")
    ana.get_by_label(f"Why disable {SYSTEM}?").fill("Harmful advice found in triage")
    ana.get_by_role("button", name=f"Disable {SYSTEM}…").click()
    assert ana.get_by_role("heading", name=f"Disable {SYSTEM}?").is_visible()
    _shot(ana, "07-switch-confirm")
    ana.get_by_role("button", name=f"Yes, disable {SYSTEM}").click()
    ana.wait_for_url(f"{url}/systems/{SYSTEM}?done=disabled#switch")
    assert ana.locator("#switch").get_by_text("disabled").first.is_visible()
    _shot(ana, "08-switch-disabled")
    state = world.app.switch.state(SYSTEM)
    assert (state.state, state.reason) == ("disabled", "Harmful advice found in triage")
    with world.app.store.read() as unit:
        denied = [e for e in unit.audit_entries() if e.action == "access.denied"]
    assert [(e.actor, e.target) for e in denied] == [(UMA, f"{SYSTEM}/switch")]


def test_pages_work_without_javascript(chromium: Any, site: tuple) -> None:
    world, url = site
    context = chromium.new_context(java_script_enabled=False, viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{url}/signin")
    page.get_by_label("API token").fill(world.token(ANA))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")
    page.get_by_role("link", name="Claims triage").click()
    page.wait_for_url(f"{url}/systems/claims-triage")
    assert page.get_by_role("heading", name="Charter").is_visible()
    context.close()


def _overlap(boxes: list[dict[str, float]]) -> bool:
    """Whether any two of the boxes (left to right) touch: tick labels drawn over each other."""
    ordered = sorted(boxes, key=lambda b: b["x"])
    return any(a["x"] + a["width"] > b["x"] for a, b in itertools.pairwise(ordered))


def test_the_period_report_has_charts_with_axes_and_readable_details(
    chromium: Any, site: tuple
) -> None:
    """The HTML report as the API serves it: dated and numbered axes that do not collide, the
    Markdown details as headings and lists, and not one request beyond the page itself."""
    world, url = site
    context = chromium.new_context(
        viewport=LAPTOP, extra_http_headers={"Authorization": f"Bearer {world.token(ANA)}"}
    )
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    report = f"{url}/api/v1/systems/{SYSTEM}/report?format=html&days=30"
    assert page.goto(report).status == 200
    charts = page.locator("svg.chart")
    assert charts.count() == 2
    for i in range(2):
        ticks = charts.nth(i).locator("text.tick")
        labels = ticks.all_text_contents()
        dates = [t for t in labels if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t)]
        values = [float(t) for t in labels if re.fullmatch(r"-?[\d.]+", t)]
        assert len(dates) == 5 and len(values) >= 3, labels
        boxes = [ticks.nth(j).bounding_box() for j in range(ticks.count())]
        bottom = [b for b, t in zip(boxes, labels, strict=True) if t in dates]
        assert not _overlap(bottom), "the dates under the chart do not run into each other"
        assert charts.nth(i).locator("text.axis").first.is_visible()
    assert page.get_by_text("healthy min 0.7").is_visible()
    assert page.get_by_role("heading", name="Charter", level=3).is_visible()
    assert page.get_by_role("heading", name="Incidents", level=3).is_visible()
    assert page.locator("li").count() >= 6 and page.locator("table").count() == 1
    assert page.locator("pre").count() == 0
    assert requested == [report], "one offline file: nothing else is fetched"
    _shot(page, "09-report")
    context.close()


def test_the_triage_queue_is_paginated(chromium: Any, site: tuple) -> None:
    """A long queue (25 flagged at once) shows a page of it: the system page stays a
    reasonable height, and Next brings the following items."""
    world, url = site
    now = world.clock.now()
    for i in range(25):
        world.app.triage.flag(SYSTEM, f"d{i % 21}-{i // 21 + 6}", f"check {i}", ANA, now)
    total = len(world.app.triage.queue(SYSTEM, now))  # 28, or 27 after another test's verdict
    page = _page(chromium, url, world.token(ANA))
    page.goto(f"{url}/systems/{SYSTEM}#triage")
    items = page.locator("#triage article.triage")
    assert items.count() == 10
    first = [items.nth(i).locator("h3").inner_text() for i in range(10)]
    pager = f"Items 1–10 of {total} (page 1 of 3)"
    assert page.locator("#triage").get_by_text(pager).first.is_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < TALLEST, f"the system page is {height} px tall"
    _shot(page, "10-triage-page-1")
    page.locator("#triage").get_by_role("link", name="Next →").first.click()
    page.wait_for_url(f"{url}/systems/{SYSTEM}?triage_page=2#triage")
    second = [items.nth(i).locator("h3").inner_text() for i in range(items.count())]
    assert len(second) == 10 and not set(first) & set(second)
    assert page.locator("#triage").get_by_role("link", name="← Previous").first.is_visible()


def test_the_observations_page_filters_and_pages(chromium: Any, site: tuple) -> None:
    world, url = site
    page = _page(chromium, url, world.token(ANA))
    page.goto(f"{url}/systems/{SYSTEM}")
    page.get_by_role("link", name=f"Observations: what {SYSTEM} saw, newest first").click()
    page.wait_for_url(f"{url}/systems/{SYSTEM}/observations")
    rows = page.locator("table.observations tbody tr")
    assert rows.count() == 25
    newest = rows.first.locator("time").inner_text()
    page.get_by_role("link", name="Older →").click()
    page.wait_for_url(re.compile(r".*/observations\?after=.+"))
    assert rows.count() == 25 and rows.first.locator("time").inner_text() < newest
    _shot(page, "11-observations-older")

    where = page.get_by_label("Where (the runbook's expression language)")
    where.fill("metadata.score < 0.5")
    where.press("Enter")
    page.wait_for_url(re.compile(r".*/observations\?where=metadata.score.*"))
    assert rows.count() == 12 and page.get_by_text("No older observations.").is_visible()
    _shot(page, "12-observations-filtered")

    where.fill("metadata.score <")
    with page.expect_navigation() as answer:
        where.press("Enter")
    assert answer.value.status == 400
    assert page.get_by_role("alert").inner_text().strip().startswith("✗ where:")
    assert where.input_value() == "metadata.score <", "the filter stays to be corrected"
