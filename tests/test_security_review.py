"""The reviewer's second pass over the hardening of issue 13: each test here is a bypass of a fix
that held for the attack as first reported, found by attacking the running code again. Each
failed on the code it was written against; the fix belongs in the product, not here."""

from __future__ import annotations

import gzip
import zlib
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import retention_systems
from tests.server._world import ROLES, Api, World, failing_run
from watchkeeper.app import Watchkeeper
from watchkeeper.manifest import ManifestError, load_text
from watchkeeper.server._ingest_routes import BadBody, _inflate
from watchkeeper.store import Store
from watchkeeper.testing import T0

DAY = timedelta(days=1)


# --- finding 14 (gzip): many members cost work in proportion to the body -------------------


class _CountingInflater:
    """zlib's decompressor, counting every compressed byte handed to it."""

    fed = 0

    def __init__(self, wbits: int) -> None:
        self._inner = _REAL_DECOMPRESSOBJ(wbits)

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        _CountingInflater.fed += len(data)
        return self._inner.decompress(data, max_length)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


_REAL_DECOMPRESSOBJ = zlib.decompressobj


def test_a_body_of_many_gzip_members_is_inflated_in_linear_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RFC 1952 allows several members, and the fix reads them all — but each member hands the
    whole rest of the body to a new decompressor (and copies it back as `unused_data`), so the
    work grows with the square of the number of members. 10 MiB of empty 20-byte members is
    about 524,000 of them: minutes of CPU on the event loop (`read_body` is async), during
    which no request — the kill switch's included — is answered. Measured through what zlib is
    fed, not by the clock."""
    body = gzip.compress(b"") * 20_000  # 400 kB; the ingest limit allows 25 times more
    monkeypatch.setattr(zlib, "decompressobj", _CountingInflater)
    _CountingInflater.fed = 0
    with suppress(BadBody):  # refusing so many members is a fine answer too
        _inflate(body, "gzip")
    assert _CountingInflater.fed <= 4 * len(body), (
        f"{_CountingInflater.fed:,} bytes fed to zlib to inflate a {len(body):,}-byte body"
    )


# --- finding 15 (retention) and 2 (isolation): one system's retention stops everyone's ------


def _observe(app: Watchkeeper, system: str, start: datetime, *days: int) -> None:
    for day in days:
        item = {"id": f"{system}-{day}", "ts": (start + day * DAY).isoformat(), "inputs": {}}
        result = app.ingest.observations(system, [item], start + day * DAY + timedelta(minutes=1))
        assert result.accepted == 1, result.rejected


def test_one_systems_retention_cannot_stop_retention_for_every_system(
    app: Watchkeeper, store: Store
) -> None:
    """`retention: 999999w` is a valid duration, but `now - retention` overflows a datetime:
    the retention job plans every system in one go, so one owner's manifest makes it fail on
    every tick, for every system (the issue's finding 2, moved from the monitor to retention).
    Refusing such a manifest at apply, or isolating each system's plan, both pass."""
    start = T0.replace(hour=0)
    app.charter.apply(load_text(retention_systems({"bot": "30d"})), "ops", start - DAY)
    with suppress(ManifestError):
        app.charter.apply(load_text(retention_systems({"forever": "999999w"})), "ops", start - DAY)
    _observe(app, "bot", start, 0, 40)

    app.clock.set(start + 75 * DAY)  # type: ignore[attr-defined]
    report = app.scheduler.tick(start + 75 * DAY)

    with store.read() as unit:
        kept = {o.id for o in unit.ingest.observations("bot", start - DAY, start + 100 * DAY)}
    failed = [(f.system, f.step, f.error) for f in report.failures]
    assert kept == {"bot-0"}, f"bot's day-40 observation outlived its 30d retention: {failed}"


def test_an_observation_for_a_system_with_a_huge_retention_is_not_a_server_error(
    world: World, api: Api
) -> None:
    """The same overflow on ingest: every observation of that system is a 500."""
    owner = world.token("owner")
    manifest = world.system_file.read_text(encoding="utf-8").replace(
        "  care: {hours_per_month: 8}", "  care: {hours_per_month: 8}\n  retention: 999999w"
    )
    applied = api("POST", "/api/v1/apply", owner, json={"files": [{"name": "w", "text": manifest}]})
    if applied.status_code != 200:  # refused at apply: located, not a 500
        assert applied.status_code == 400, applied.text
        return
    now = world.app.clock.now()
    item = {"id": "o-1", "ts": now.isoformat(), "inputs": {"q": "hi"}}
    answer = api("POST", "/api/v1/systems/triage-bot/observations", owner, json=[item])
    assert answer.status_code < 500, answer.text


# --- finding 3 (YAML): the parse still runs before any permission check -------------------


def test_someone_who_may_apply_nothing_is_refused_before_their_yaml_is_parsed(
    world: World, api: Api
) -> None:
    """Aliases are refused and files capped at 1 MiB, yet ruamel's round-trip parser needs about
    150 µs per byte of nested flow sequences (16 kB: 2.2 s, 64 kB: 9.5 s here), so one apply of
    ten 1 MiB files is tens of minutes of CPU, in the thread pool the kill switch's POST also
    waits for — still before any permission check, for anyone with a token. A person who owns
    no system, is no admin and no registrar can apply nothing: say so before parsing (and keep
    what is parsed small). Shown with a file the parser gives up on, so the test is quick."""
    nested = "a: [" + ",".join(["[" * 1000 + "]" * 1000] * 2) + "]"
    answer = api(
        "POST",
        "/api/v1/apply",
        world.token("unrelated"),
        json={"files": [{"name": "bomb.yaml", "text": nested}]},
    )
    assert answer.status_code == 403, (answer.status_code, answer.json())
    assert ROLES["unrelated"] in answer.json()["detail"]


# --- finding 1's new door: an uploaded eval run is believed whoever sends it -----------------


def test_someone_unrelated_cannot_kill_a_system_by_uploading_a_failing_eval_run(
    world: World, api: Api
) -> None:
    """Evals now run where the code lives and their result is uploaded — by any active person,
    for any system. The example charter's `accuracy` signal comes from the `golden` suite and its
    `harm` alert's playbook has `auto_disable: true`: one upload of an all-failing run by
    someone with no role on the system, then the scheduler's own tick, and the system is off.
    Only those who answer for the system (or a CI token they hold) should be believed."""
    uploaded = api(
        "POST",
        "/api/v1/systems/triage-bot/evals/runs",
        world.token("unrelated"),
        json={"suite": "golden", "run": failing_run()},
    )
    assert uploaded.status_code in (201, 403), uploaded.text
    world.app.scheduler.tick(world.app.clock.now())
    state = world.app.switch.state("triage-bot")
    assert uploaded.status_code == 403 or state.state == "enabled", (
        f"upload {uploaded.status_code}; switch {state.state} by {state.changed_by}: {state.reason}"
    )
