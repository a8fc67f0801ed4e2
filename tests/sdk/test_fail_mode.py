"""Without the server: the last known state holds through the grace period; then a known
`disabled` stays disabled, a known `enabled` follows the manifest's fail mode, and a state never
known follows the fail mode from the start (warned once). A restart while the server is down
starts from the cache, a forked worker from what its parent knew."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from tests.conftest import SQLITE_ONLY
from tests.sdk._wait import until
from tests.sdk.conftest import MakeClient
from tests.server._world import ROLES, SYSTEM, SYSTEM_YAML, World
from watchkeeper.app import Operations
from watchkeeper.sdk._client import _cache_file
from watchkeeper.sdk._switch import decide
from watchkeeper.server import LiveServer

# The tests with a server run once, on SQLite (SQLITE_ONLY): what they test is the SDK on its
# own once the server is gone, not the server's database.
pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

GRACE = 1.5


def flip(world: World, state: str) -> None:
    world.app.switch.set(SYSTEM, state, "test", ROLES["kill_authority"], world.app.clock.now())


def fail_open(world: World) -> None:
    manifest = world.folder / "open.yaml"
    manifest.write_text(SYSTEM_YAML.replace("fail_mode: closed", "fail_mode: open"))
    Operations(world.app, ROLES["owner"], world.app.clock.now(), enforce=False).apply(
        [str(manifest)]
    )


# Past the grace period without the server: a known `enabled` follows the fail mode, a known
# `disabled` stays disabled (only the server re-enables a system).
AFTER_GRACE = [
    ("closed", "enabled", False),
    ("open", "enabled", True),
    ("closed", "disabled", False),
    ("open", "disabled", False),
]


@pytest.mark.parametrize(
    ("known", "fail_mode", "stale", "enabled"),
    [
        (None, "open", False, True),
        (None, "closed", False, False),
        (None, "open", True, True),
        (None, "closed", True, False),
        ("enabled", "closed", False, True),
        ("enabled", "open", True, True),
        ("enabled", "closed", True, False),
        ("disabled", "open", False, False),
        ("disabled", "open", True, False),
        ("disabled", "closed", True, False),
    ],
)
def test_the_rule(known: str | None, fail_mode: str, stale: bool, enabled: bool) -> None:
    assert decide(known, fail_mode, stale=stale) is enabled


def no_answer_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum("no answer about" in r.getMessage() for r in caplog.records)


@SQLITE_ONLY
@pytest.mark.parametrize(("fail_mode", "last_state", "after_grace"), AFTER_GRACE)
def test_last_state_through_the_grace_period_then_the_rule(
    world: World,
    live: LiveServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    fail_mode: str,
    last_state: str,
    after_grace: bool,
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
    assert client.enabled() is after_grace
    for _ in range(1000):
        client.enabled()
    time.sleep(0.5)
    assert client.enabled() is after_grace, "and it stays so while the server is away"
    assert no_answer_warnings(caplog) == 1, "warned once, not per call or per retry"

    live.start()
    until(lambda: not client.stale)
    assert client.enabled() is (last_state == "enabled"), "the server's word again"


@SQLITE_ONLY
def test_a_killed_system_stays_off_when_its_token_is_refused(
    world: World, live: LiveServer, make_client: MakeClient
) -> None:
    """The token's owner leaves: 403 from then on confirms nothing, so it is like no answer."""
    fail_open(world)
    flip(world, "disabled")
    client = make_client(grace=GRACE)
    assert not client.enabled()
    Operations(world.app, "setup@corp.example", world.app.clock.now(), enforce=False).deactivate(
        ROLES["other_role_holder"]
    )
    until(lambda: client.stale)
    time.sleep(0.2)
    assert not client.enabled(), "a refused token never re-enables a killed system"


@SQLITE_ONLY
def test_only_the_server_re_enables_a_killed_system(
    world: World, live: LiveServer, make_client: MakeClient
) -> None:
    fail_open(world)
    flip(world, "disabled")
    client = make_client(grace=GRACE)
    live.stop()
    until(lambda: client.stale)
    assert not client.enabled()
    flip(world, "enabled")
    live.start()
    until(lambda: client.enabled())
    assert not client.stale


@SQLITE_ONLY
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
    assert not restarted.enabled(), "still disabled: the cache knew it"


@SQLITE_ONLY
def test_a_cached_disabled_outlives_the_grace_period_even_failing_open(
    world: World, live: LiveServer, make_client: MakeClient
) -> None:
    fail_open(world)
    flip(world, "disabled")
    make_client().close()
    live.stop()

    restarted = make_client(grace=GRACE, start_timeout=0.5)
    assert restarted.switch is not None and restarted.switch["fail_mode"] == "open"
    assert not restarted.enabled()
    until(lambda: restarted.stale)
    time.sleep(0.2)
    assert not restarted.enabled(), "fail_mode open does not re-enable a known kill"


@SQLITE_ONLY
def test_started_while_the_server_is_down_without_a_cache_the_argument_decides(
    world: World, live: LiveServer, make_client: MakeClient, tmp_path: Path
) -> None:
    live.stop()
    opened = make_client(
        fail_mode="open", cache_dir=tmp_path / "none", grace=GRACE, start_timeout=0.5
    )
    closed = make_client(
        fail_mode="closed", cache_dir=tmp_path / "none", grace=GRACE, start_timeout=0.5
    )
    assert opened.enabled() and not closed.enabled()
    assert opened.switch is None
    until(lambda: opened.stale and closed.stale)
    assert opened.enabled() and not closed.enabled(), "never known: the fail mode, throughout"


@SQLITE_ONLY
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_keeps_what_its_parent_knew(
    world: World, live: LiveServer, make_client: MakeClient, tmp_path: Path
) -> None:
    """No cache file to fall back on (a folder stands where it would be): the child still
    knows."""
    _cache_file(tmp_path / "cache", live.url, SYSTEM).mkdir(parents=True)
    fail_open(world)
    flip(world, "disabled")
    client = make_client(grace=GRACE)
    assert not client.enabled()
    live.stop()
    pid = os.fork()
    if pid == 0:  # the child: a worker forked after the client learnt of the kill
        os._exit(1 if client.enabled() else 0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked worker served a killed system"
