"""The SDK against a real server: `enabled()` follows every flip, `monitored` serves or falls
back, and the last state heard is written to the cache file."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.sdk._wait import until
from tests.sdk.conftest import MakeClient
from tests.server._world import ROLES, SYSTEM, World
from watchkeeper import Client, SystemDisabled


def flip(world: World, state: str, reason: str = "test") -> None:
    world.app.switch.set(SYSTEM, state, reason, ROLES["kill_authority"], world.app.clock.now())


def test_enabled_follows_every_flip(world: World, make_client: MakeClient) -> None:
    clients = [make_client() for _ in range(3)]
    assert all(c.enabled() for c in clients)
    for state in ("disabled", "enabled", "disabled"):
        flip(world, state)
        until(lambda s=state: all(c.enabled() is (s == "enabled") for c in clients))
    switch = clients[0].switch
    assert switch is not None
    assert (switch["version"], switch["changed_by"], switch["fail_mode"]) == (
        3,
        ROLES["kill_authority"],
        "closed",
    )
    assert not clients[0].stale


def test_monitored_serves_then_falls_back(world: World, make_client: MakeClient) -> None:
    client = make_client()

    @client.monitored(fallback=lambda ticket: f"human queue: {ticket}")
    def triage(ticket: str) -> str:
        return f"model: {ticket}"

    @client.monitored()
    def answer(ticket: str) -> str:
        return f"model: {ticket}"

    @client.monitored(fallback=lambda ticket: f"async fallback: {ticket}")
    async def triage_async(ticket: str) -> str:
        return f"async model: {ticket}"

    assert triage("t1") == "model: t1" and answer("t1") == "model: t1"
    assert asyncio.run(triage_async("t1")) == "async model: t1"
    flip(world, "disabled", "harmful answers")
    until(lambda: not client.enabled())
    assert triage("t2") == "human queue: t2"
    assert asyncio.run(triage_async("t2")) == "async fallback: t2"
    with pytest.raises(SystemDisabled) as disabled:
        answer("t2")
    assert (disabled.value.system, disabled.value.reason) == (SYSTEM, "harmful answers")
    assert str(disabled.value) == (
        "triage-bot is disabled by its kill switch: harmful answers "
        "(fallback: Send every ticket to a person)"
    )
    assert triage.__name__ == "triage"


def test_the_last_state_heard_is_cached(
    world: World, make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client()
    flip(world, "disabled", "cache me")
    until(lambda: not client.enabled())
    (cached,) = (tmp_path / "cache").glob("switch-triage-bot-*.json")
    until(lambda: json.loads(cached.read_text())["reason"] == "cache me")
    assert json.loads(cached.read_text())["state"] == "disabled"


def test_on_switch_is_told_each_change_and_what_it_raises_is_logged(
    world: World, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[bool] = []

    def on_switch(enabled: bool) -> None:
        told.append(enabled)
        if len(told) == 2:
            raise RuntimeError("the consumer would not stop")

    client = make_client(on_switch=on_switch)
    assert told == [], "the first answer (enabled, as the fail mode assumed) changes nothing"
    for state in ("disabled", "enabled", "disabled"):
        flip(world, state)
        until(lambda s=state: client.enabled() is (s == "enabled"))
    until(lambda: len(told) == 3)
    assert told == [False, True, False]
    assert any("on_switch of triage-bot raised" in r.getMessage() for r in caplog.records)


def test_a_refused_token_keeps_the_default_and_is_logged_once(
    world: World, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="watchkeeper.sdk")
    client = make_client(token=world.token("inactive"), fail_mode="closed", grace=30)
    assert not client.enabled() and client.switch is None
    until(lambda: any("HTTP 403" in r.getMessage() for r in caplog.records))
    assert sum("HTTP 403" in r.getMessage() for r in caplog.records) == 1


def test_settings_come_from_the_environment(
    world: World, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, live: Any
) -> None:
    monkeypatch.setenv("WATCHKEEPER_URL", live.url)
    monkeypatch.setenv("WATCHKEEPER_TOKEN", world.token("unrelated"))
    client = make_client(url=None, token=None)
    assert client.url == live.url and client.switch is not None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": None}, "WATCHKEEPER_URL"),
        ({"token": None}, "WATCHKEEPER_TOKEN"),
        ({"system": None}, "name the AI system"),
        ({"fail_mode": "sideways"}, "fail_mode must be open or closed"),
        ({"grace": 0}, "grace must be a positive"),
    ],
)
def test_bad_arguments_are_named(
    options: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WATCHKEEPER_URL", "WATCHKEEPER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    arguments = {"url": "http://127.0.0.1:9", "token": "wk_x", "system": "s", **options}
    with pytest.raises(ValueError, match=message):
        Client(**arguments)
