"""The system page's kill-switch panel tells a kill authority whether the switch works: who
obeyed the current version ("confirmed by k of n live processes", the stragglers by host, pid
and service), and the last drill — its outcome, when, by whom — with the vacuum's verdict on
the drill schedule."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from tests.dashboard._world import CHEN, DAY, SYSTEM, World, system_doc
from tests.dashboard.conftest import Browser
from watchkeeper.app import Operations
from watchkeeper.store import ProcessRecord

ANA = "ana@corp.example"
Open = Callable[[], Browser]


def serving(world: World, process: str, pid: int, holds: int) -> None:
    """An SDK process of SYSTEM reporting, as its poll would, the version it holds (now)."""
    now = world.clock.now()
    report = ProcessRecord(
        SYSTEM, process, "web-1", pid, "0.1.0", "checkout", holds, "open", 30.0, now, now, now
    )
    world.app.switch.heard(report)
    world.app.switch.drain(timeout=5)


def panel(browser: Open, world: World) -> str:
    ana = browser()
    assert ana.sign_in(world.token(ANA)).status_code == 303
    page = ana.get(f"/systems/{SYSTEM}")
    assert page.status_code == 200
    section = page.text.split('id="switch"')[1].split("</section>")[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", section)).split())  # as it reads


def test_the_panel_shows_who_obeyed_and_the_last_drill(browser: Open, world: World) -> None:
    before = panel(browser, world)
    assert "Version 0" in before and "no live SDK process" in before
    assert "Never drilled." in before

    serving(world, "a" * 32, 101, holds=0)
    serving(world, "b" * 32, 102, holds=0)
    ana = Operations(world.app, ANA, world.clock.now(), enforce=True)
    drilled = ana.drill(SYSTEM, "quarterly drill", wait=1)
    assert (drilled["live"], drilled["confirmed"], drilled["passed"]) == (2, 0, False)

    failed = panel(browser, world)
    assert "Version 1 (a drill by ana@corp.example: the state stayed enabled)" in failed
    assert "confirmed by 0 of 2 live processes" in failed
    assert "straggler web-1/101/checkout: holds version 0" in failed
    assert "Last drill:" in failed and "failed" in failed and "by ana@corp.example" in failed
    assert "“quarterly drill”" in failed

    world.clock.advance(timedelta(seconds=1))
    serving(world, "a" * 32, 101, holds=1)
    serving(world, "b" * 32, 102, holds=1)
    confirmed = panel(browser, world)
    assert "confirmed by 2 of 2 live processes in 1000 ms" in confirmed
    assert "straggler web-1/101" not in confirmed.split("Last drill:")[0]
    # the drill's record is what it was when its wait ended
    assert "straggler web-1/101/checkout" in confirmed.split("Last drill:")[1]


def test_the_drill_schedule_is_judged_on_the_page(
    browser: Open, world: World, tmp_path: Path
) -> None:
    doc = system_doc(SYSTEM, "Support assistant", ANA, "ben@corp.example", CHEN)
    doc["spec"]["kill_switch"]["drill_every"] = "30d"  # type: ignore[index]
    path = tmp_path / "drilled.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    Operations(world.app, "ops@corp.example", world.clock.now(), enforce=False).apply([str(path)])

    young = panel(browser, world)  # live for 22 days, never drilled: not overdue yet
    assert "drilled every 30 days" in young
    assert "✓ ok" in young and "never drilled since going live" in young and "next due" in young

    world.clock.advance(9 * DAY)
    overdue = panel(browser, world)
    assert "! gap" in overdue and "overdue by 1d" in overdue
