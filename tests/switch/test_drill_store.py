"""What the store keeps of drills, on both databases: each drill by the switch version it made,
its outcome written when its wait ends; the newest finished and the newest passed per system
for the vacuum report (a drill that never finished counts as neither); the version a drill moved
to, which the switch's state and the feed of moves made elsewhere both see."""

from __future__ import annotations

import queue
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from tests.server._world import ROLES, SYSTEM, World
from watchkeeper.app import Operations, build
from watchkeeper.store import DrillRecord, Store
from watchkeeper.switch import SwitchFeed, SwitchState

AUTHORITY = ROLES["kill_authority"]
STRAGGLER = {"name": "web-2/7/checkout", "host": "web-2", "pid": 7, "version": 1, "live": True}


def test_drills_are_kept_by_version_with_their_outcomes(world: World) -> None:
    now = world.app.clock.now()
    started = [
        DrillRecord(SYSTEM, v, "enabled", f"drill {v}", AUTHORITY, now + timedelta(days=v))
        for v in (1, 2, 3)
    ]
    outcomes = {
        1: {"passed": True, "live": 2, "confirmed": 2, "confirmed_in_ms": 40.0, "stragglers": []},
        2: {"passed": False, "live": 2, "confirmed": 1, "stragglers": [STRAGGLER]},
    }
    with world.app.store.write() as unit:
        for drill in started:
            unit.switch_processes.start_drill(drill)
        for drill in started[:2]:
            finished = replace(drill, finished_at=drill.started_at + timedelta(seconds=5),
                               summary="said", **outcomes[drill.version])  # fmt: skip
            unit.switch_processes.finish_drill(finished)
    with world.app.store.read() as unit:
        kept = unit.switch_processes.drills(SYSTEM)
        finished_last = unit.switch_processes.last_finished_drills([SYSTEM, "ghost"])
        passed = unit.switch_processes.last_passed_drills([SYSTEM, "ghost"])
        versions = unit.switch_processes.drill_versions()
    assert [d.version for d in kept] == [3, 2, 1]
    assert kept[2].confirmed_in_ms == 40.0 and kept[2].started_at == started[0].started_at
    assert kept[1].stragglers == [STRAGGLER] and kept[1].passed is False
    assert (kept[0].finished_at, kept[0].passed, kept[0].stragglers) == (None, None, [])
    assert {k: d.version for k, d in finished_last.items()} == {SYSTEM: 2}
    assert passed == {SYSTEM: started[0].started_at}
    assert versions == {SYSTEM: 3}

    state = world.app.switch.state(SYSTEM)
    assert (state.version, state.state, state.reason) == (3, "enabled", None)
    assert state.drill is not None and (state.drill.by, state.drill.reason) == (
        AUTHORITY,
        "drill 3",
    )
    assert state.version_at == started[2].started_at
    assert world.app.switch.versions() == {SYSTEM: 3}

    with pytest.raises(IntegrityError), world.app.store.write() as unit:  # one drill a version
        unit.switch_processes.start_drill(started[0])


def test_the_vacuum_judges_the_newest_finished_drill(world: World) -> None:
    now = world.app.clock.now()
    yaml = world.system_file.read_text(encoding="utf-8")
    world.system_file.write_text(
        yaml.replace("fallback: Send every ticket to a person}", "fallback: x, drill_every: 30d}"),
        encoding="utf-8",
    )
    owner = Operations(world.app, ROLES["owner"], now, enforce=False)
    owner.apply([str(world.system_file)])
    failed = DrillRecord(SYSTEM, 1, "enabled", "drill", AUTHORITY, now, now, 2, 1, None,
                         [STRAGGLER], False, "confirmed by 1 of 2 live processes")  # fmt: skip
    interrupted = DrillRecord(SYSTEM, 2, "enabled", "drill", AUTHORITY, now + timedelta(hours=1))
    with world.app.store.write() as unit:
        unit.switch_processes.start_drill(failed)
        unit.switch_processes.start_drill(interrupted)

    later = Operations(world.app, ROLES["owner"], now + timedelta(hours=2), enforce=True)
    [system] = [s for s in later.vacuum()["systems"] if s["system"] == SYSTEM]
    [check] = [c for c in system["checks"] if c["id"] == "switch.drilled"]
    assert check["passed"] is False
    assert (
        "FAILED: confirmed by 1 of 2 live processes; stragglers: web-2/7/checkout"
        in (check["detail"])
    )


@pytest.mark.parametrize("elsewhere", [False, True], ids=["same-store", "other-store"])
def test_the_feed_publishes_a_drill_as_a_move(world: World, elsewhere: bool) -> None:
    heard: queue.Queue[SwitchState] = queue.Queue()
    app = world.app
    other = Store.open(app.settings.db) if elsewhere else app.store
    driller = build(app.settings, store=other, clock=app.clock)
    feed = SwitchFeed(app.switch, app.store, heard.put)
    feed.start()
    try:
        ops = Operations(driller, AUTHORITY, app.clock.now(), enforce=True)
        ops.set_switch(SYSTEM, "disabled", "harm")
        assert heard.get(timeout=5).version == 1
        ops.drill(SYSTEM, "drill while off", wait=1)
        got = heard.get(timeout=5)
        assert (got.version, got.state, got.reason) == (2, "disabled", "harm")
        assert got.drill is not None and got.drill.reason == "drill while off"
        time.sleep(0.3)
        assert heard.empty()
    finally:
        feed.stop()
        if elsewhere:
            other.close()
