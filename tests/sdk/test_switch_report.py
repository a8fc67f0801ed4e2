"""Each poll of the switch says who polls and what it holds: the SDK's side of the roll call
that confirms flips."""

from __future__ import annotations

import os
import socket

import pytest

from tests.sdk._wait import until
from tests.sdk.conftest import MakeClient
from tests.server._world import ROLES, SYSTEM, World
from watchkeeper import Client
from watchkeeper.store import ProcessRecord


def roll(world: World) -> list[ProcessRecord]:
    world.app.switch.drain(timeout=5)
    with world.app.store.read() as unit:
        return unit.switch_processes.processes(SYSTEM)


def test_a_client_reports_who_it_is_and_the_version_it_holds(
    world: World, make_client: MakeClient
) -> None:
    client = make_client(service="checkout-api", heartbeat=0.5)
    # the first poll holds nothing yet; the next says what the first answered
    until(lambda: [p.version for p in roll(world)] == [0])
    [process] = roll(world)
    assert (process.host, process.pid, process.service) == (
        socket.gethostname(), os.getpid(), "checkout-api"
    )  # fmt: skip
    assert (process.version, process.fail_mode, process.heartbeat) == (0, "closed", 0.5)
    assert process.sdk and len(process.process) == 32

    app = world.app
    app.switch.set(SYSTEM, "disabled", "harm", ROLES["kill_authority"], app.clock.now())
    until(lambda: not client.enabled())
    until(lambda: roll(world)[0].version == 1)
    assert roll(world)[0].process == process.process, "one process, one row"


def test_two_clients_of_one_process_are_one_process(world: World, make_client: MakeClient) -> None:
    make_client(heartbeat=0.5)
    make_client(heartbeat=0.5)
    until(lambda: len(roll(world)) == 1 and roll(world)[0].version == 0)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"heartbeat": 0}, "heartbeat must be"),
        ({"heartbeat": 301}, "heartbeat must be"),
        ({"service": ""}, "service must be"),
        ({"service": "caf\u00e9"}, "service must be"),
        ({"service": "x" * 101}, "service must be"),
    ],
)
def test_bad_options_are_named(option: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Client(url="http://127.0.0.1:1", token="t", system="s", **option)  # type: ignore[arg-type]
