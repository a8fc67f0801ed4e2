"""`wk` with WATCHKEEPER_URL: the same commands, through the server, as the token's owner —
same output as local mode, the server's authorization, and clear errors."""

from __future__ import annotations

import json
from typing import Any

from tests.server._world import ROLES, SYSTEM, World


def test_reads_print_what_local_mode_prints(world: World, remote: Any, wk: Any) -> None:
    token = world.token("unrelated")
    same_time = ["--now", world.app.clock.now().isoformat()]  # the server runs on the test clock
    for command in (["status", "--json"], ["vacuum", "--json"], ["status", SYSTEM]):
        remote_code, remote_out, _ = remote(*command, token=token)
        local_code, local_out, _ = wk(*command, *same_time)
        assert (remote_code, remote_out) == (local_code, local_out), command


def test_kill_and_restore_through_the_server(world: World, remote: Any) -> None:
    code, out, _ = remote("kill", SYSTEM, "--reason", "harm", token=world.token("kill_authority"))
    assert code == 0 and "DISABLED (version 1)" in out and ROLES["kill_authority"] in out
    code, _, err = remote("restore", SYSTEM, "--reason", "mine", token=world.token("owner"))
    assert code == 2 and "is not a kill authority" in err
    assert world.app.switch.state(SYSTEM).state == "disabled"


def test_apply_sends_the_files_and_problems_come_back_located(
    world: World, remote: Any, tmp_path: Any
) -> None:
    code, out, _ = remote("apply", str(world.system_file), token=world.token("owner"))
    assert code == 0 and "unchanged system triage-bot" in out
    broken = tmp_path / "watchkeeper.yaml"
    broken.write_text("apiVersion: watchkeeper/v1\nkind: AISystem\nmetadata: {name: B A D}\n")
    code, _, err = remote("apply", str(broken), token=world.token("owner"))
    assert code == 2
    assert f"{broken}:3:" in err and "nothing was changed" in err
    code, _, err = remote("apply", str(world.people_file), token=world.token("owner"))
    assert code == 2 and "only admins may apply people" in err


def test_ack_deactivate_token_and_audit(world: World, remote: Any) -> None:
    code, out, _ = remote("ack", SYSTEM, "quality_monitor", token=world.token("other_role_holder"))
    assert code == 0 and "quality_monitor: quinn@corp.example acknowledged" in out
    code, out, _ = remote(
        "token", "create", "zed@corp.example", "--json", token=world.token("admin")
    )
    assert code == 0 and json.loads(out)["person"] == "zed@corp.example"
    code, out, _ = remote("people", "deactivate", "zed@corp.example", token=world.token("admin"))
    assert code == 0 and "zed@corp.example: updated" in out
    code, out, _ = remote("audit", "verify", token=world.token("unrelated"))
    assert code == 0 and "UNKEYED" in out  # the test server has no WATCHKEEPER_SECRET


def test_without_a_token_or_a_server_the_cli_says_what_to_do(
    world: World, remote: Any, monkeypatch: Any
) -> None:
    code, _, err = remote("status", token=None)
    assert code == 2 and "WATCHKEEPER_TOKEN is not" in err
    code, _, err = remote("status", "--now", "2026-01-01", token=world.token("admin"))
    assert code == 2 and "only on a local database" in err
    remote.url = "http://127.0.0.1:9"
    code, _, err = remote("status", token=world.token("admin"))
    assert code == 1 and "cannot reach the Watchkeeper server at http://127.0.0.1:9" in err
