"""Evidence over HTTP: exported through the server (as any reader), audited, refused with a 4xx
naming the field for a bad period or an unknown system, and `verify --here` through a server."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import SQLITE_ONLY, RemoteCli
from tests.server._world import SYSTEM, Api, World
from watchkeeper.app import Operations

OLGA = "olga@corp.example"


def _period(world: World) -> dict[str, str]:
    now = world.app.clock.now()
    return {
        "from": (now - timedelta(days=30)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }


def test_a_bundle_is_exported_and_the_export_audited(world: World, api: Api) -> None:
    response = api("POST", f"/api/v1/systems/{SYSTEM}/evidence", world.tokens[OLGA],
                   json=_period(world))  # fmt: skip
    assert response.status_code == 201, response.text
    bundle = response.json()
    head = bundle["chain"]["entries"][-1]
    assert head["action"] == "evidence.exported" and head["actor"] == OLGA
    assert head["after"]["root"] == bundle["root"] and head["system"] == SYSTEM
    ops = Operations(world.app, OLGA, world.app.clock.now(), enforce=False)
    assert ops.audit(SYSTEM, limit=1)[0]["seq"] == head["seq"]


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        ({"from": "2026-02-01", "to": "2026-01-01"}, 400, "out of order"),
        ({"from": "2026-01-01"}, 400, "to"),
        ({"from": "yesterday", "to": "2026-01-01"}, 400, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01", "format": "pdf"}, 400, "format"),
    ],
)
@SQLITE_ONLY
def test_bad_periods_are_4xx_naming_the_field(
    world: World, api: Api, body: dict[str, str], status: int, said: str
) -> None:
    response = api("POST", f"/api/v1/systems/{SYSTEM}/evidence", world.tokens[OLGA], json=body)
    assert response.status_code == status and said in response.text


@SQLITE_ONLY
def test_an_unknown_system_is_404(world: World, api: Api) -> None:
    response = api("POST", "/api/v1/systems/nope/evidence", world.tokens[OLGA],
                   json=_period(world))  # fmt: skip
    assert response.status_code == 404 and "no system 'nope'" in response.text


@SQLITE_ONLY
def test_through_a_server_the_cli_exports_and_verifies_here(
    world: World, remote: RemoteCli, tmp_path: Path
) -> None:
    now = world.app.clock.now()
    target = tmp_path / "b.zip"
    code, _, err = remote("evidence", SYSTEM, "--from", f"{now - timedelta(days=30):%Y-%m-%d}",
                          "--to", f"{now:%Y-%m-%d}", "--format", "zip", "-o", str(target),
                          token=world.tokens[OLGA])  # fmt: skip
    assert code == 0, err
    code, out, err = remote("evidence", "verify", str(target), "--here", "--json",
                            token=world.tokens[OLGA])  # fmt: skip
    result = json.loads(out)
    assert code == 0 and result["ok"] and result["here"]["foreign"] is False, out + err
