"""The system page's "Runbook rehearsal" panel: never rehearsed, it says how to start; after a
rehearsal, the last one — passed or failed, scenario, when, by whom, time to first page, the
verdict — with its timeline and what did not happen."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.dashboard._world import CHEN, SYSTEM, World, system_doc
from tests.dashboard.conftest import Browser
from watchkeeper.app import Operations

ANA = "ana@corp.example"
Open = Callable[[], Browser]


def panel(browser: Open, world: World) -> str:
    """The panel's text as it reads, and the page's markup for the rest."""
    ana = browser()
    assert ana.sign_in(world.token(ANA)).status_code == 303
    page = ana.get(f"/systems/{SYSTEM}")
    assert page.status_code == 200
    assert 'href="#rehearsal"' in page.text
    section = page.text.split('id="rehearsal"')[1].split("</section>")[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def words(text: str) -> str:
    return " ".join(text.split())


def test_never_rehearsed_says_how_to_start(browser: Open, world: World) -> None:
    shown = panel(browser, world)
    assert f"Never rehearsed — run wk rehearse {SYSTEM}" in shown
    assert "No schedule is set (spec.runbook.rehearse_every)" in shown
    assert "Last rehearsal" not in shown


def test_the_schedule_the_manifest_asks_for_is_shown(
    browser: Open, world: World, tmp_path: Path
) -> None:
    doc = system_doc(SYSTEM, "Support assistant", ANA, "ben@corp.example", CHEN)
    doc["spec"]["runbook"]["rehearse_every"] = "30d"  # type: ignore[index]
    path = tmp_path / "rehearsed.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    Operations(world.app, "ops@corp.example", world.clock.now(), enforce=False).apply([str(path)])
    assert f"{SYSTEM} is rehearsed every 30 days (spec.runbook.rehearse_every)" in panel(
        browser, world
    )


def test_a_failed_rehearsal_shows_its_timeline_and_what_did_not_happen(
    browser: Open, world: World
) -> None:
    """The upstream breaks, the contract rule fires and an incident opens, but nobody in the
    world has a channel this server can use: nobody is paged."""
    ana = Operations(world.app, ANA, world.clock.now(), enforce=True)
    record = ana.rehearse(SYSTEM, "upstream-break", budget=60)
    assert record["passed"] is False and record["report"]["timeline"]
    shown = panel(browser, world)
    assert "Last rehearsal: ✗ failed scenario upstream-break" in shown
    assert f"by {ANA}" in shown and "version 1" in shown and "first page never" in shown
    assert f"Verdict: {words(record['report']['verdict'])}" in shown
    for entry in record["report"]["timeline"]:
        assert f"{entry['kind']} {words(entry['text'])}" in shown, entry
    missed = shown.split("Did not happen")[1]
    assert record["report"]["missed"]
    for item in record["report"]["missed"]:
        assert f"! {item['check']} {words(item['text'])}" in missed, item
    assert "Never rehearsed" not in shown


def test_the_newest_rehearsal_is_the_one_shown(browser: Open, world: World) -> None:
    """A later passing rehearsal (as the store keeps it) replaces the failed one on the page."""
    ana = Operations(world.app, ANA, world.clock.now(), enforce=True)
    ana.rehearse(SYSTEM, budget=60)
    later = world.clock.now() + timedelta(hours=1)
    report = passing_report(later.isoformat())
    with world.app.store.write() as unit:
        unit.rehearsals.add(
            system=SYSTEM, scenario="quality-drop", digest="d" * 64, runbook_digest="r" * 64,
            version=None, passed=True, time_to_page_s=1500.0, report=report,
            actor="ben@corp.example", now=later,
        )  # fmt: skip
    shown = panel(browser, world)
    assert "Last rehearsal: ✓ passed scenario quality-drop" in shown
    assert "by ben@corp.example" in shown and "from files before they were applied" in shown
    assert "rule low-quality → signal quality, baseline from history" in shown
    assert "first page after 25 min" in shown
    assert "page ana@corp.example paged by email (page)" in shown
    assert "Nothing: every step happened." in shown and "failed" not in shown


def passing_report(at: str) -> dict[str, Any]:
    return {
        "system": SYSTEM,
        "scenario": "quality-drop",
        "passed": True,
        "verdict": "rule low-quality paged 25 min after the drop",
        "rule": "low-quality",
        "signal": "quality",
        "source": "history",
        "simulated": {"from": at, "began": at, "to": at},
        "time_to_page_s": 1500.0,
        "timeline": [
            {"at": at, "after_s": 0.0, "kind": "scenario", "text": "quality drops 20%"},
            {
                "at": at,
                "after_s": 1500.0,
                "kind": "page",
                "text": "ana@corp.example paged by email (page)",
            },
        ],
        "missed": [],
        "elapsed_s": 1.0,
    }
