"""Without the server: the last known state holds through the grace period, then the manifest's
fail mode applies (warned once); a restart while the server is down starts from the cache."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.sdk._wait import until
from tests.sdk.conftest import MakeClient
from tests.server._world import ROLES, SYSTEM, SYSTEM_YAML, World
from watchkeeper.access import Operations
from watchkeeper.server import LiveServer

GRACE = 1.5


def flip(world: World, state: str) -> None:
    world.app.switch.set(SYSTEM, state, "test", ROLES["kill_authority"], world.app.clock.now())


def fail_open(world: World) -> None:
    manifest = world.folder / "open.yaml"
    manifest.write_text(SYSTEM_YAML.replace("fail_mode: closed", "fail_mode: open"))
    Operations(world.app, ROLES["owner"], world.app.clock.now(), enforce=False).apply(
        [str(manifest)]
    )


def fail_mode_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum("following fail_mode" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("fail_mode", "last_state"), [("closed", "enabled"), ("open", "disabled")])
def test_last_state_through_the_grace_period_then_the_fail_mode(
    world: World,
    live: LiveServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    fail_mode: str,
    last_state: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="watchkeeper.sdk")
    if fail_mode == "open":
        fail_open(world)
    if last_state == "disabled":
        flip(world, "disabled")
    client = make_client(grace=GRACE)
    assert client.enabled() is (last_state == "enabled")
    assert client.switch is not None and client.switch["fail_mode"] == fail_mode

    live.stop()
    time.sleep(0.2)
    assert client.enabled() is (last_state == "enabled"), "kept through the grace period"
    assert not client.stale
    until(lambda: client.stale)
    assert client.enabled() is (fail_mode == "open")
    for _ in range(1000):
        client.enabled()
    time.sleep(0.5)
    assert fail_mode_warnings(caplog) == 1, "warned once, not per call or per retry"

    live.start()
    until(lambda: not client.stale)
    assert client.enabled() is (last_state == "enabled"), "the server's word again"


def test_started_while_the_server_is_down_the_cache_file_answers(
    world: World, live: LiveServer, make_client: MakeClient, tmp_path: Path
) -> None:
    flip(world, "disabled")
    before = make_client()
    assert not before.enabled()
    version = before.switch["version"] if before.switch else None
    before.close()
    live.stop()

    restarted = make_client(grace=GRACE, start_timeout=0.5)
    assert not restarted.enabled(), "disabled, from the cache, although fail_mode is open here"
    assert restarted.switch is not None
    assert (restarted.switch["version"], restarted.switch["reason"]) == (version, "test")
    until(lambda: restarted.stale)
    assert not restarted.enabled(), "then the manifest's fail mode: closed"


def test_started_while_the_server_is_down_without_a_cache_the_argument_decides(
    world: World, live: LiveServer, make_client: MakeClient, tmp_path: Path
) -> None:
    live.stop()
    opened = make_client(fail_mode="open", cache_dir=tmp_path / "none", start_timeout=0.5)
    closed = make_client(fail_mode="closed", cache_dir=tmp_path / "none", start_timeout=0.5)
    assert opened.enabled() and not closed.enabled()
    assert opened.switch is None
