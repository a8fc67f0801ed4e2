"""`wk gate` in CI: a fresh checkout with WATCHKEEPER_URL/WATCHKEEPER_TOKEN set and no database
asks a real server (on loopback) for the acknowledgements; `--offline` contacts nothing. Neither
leaves a database in the working directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.server._world import SYSTEM, SYSTEM_YAML, World, rehearsed
from watchkeeper.server import LiveServer

# The repo's manifest once Ivy (who left) is no longer named a kill authority, and who holds a
# role in it: one person each, Tess for her team oncall.
CURRENT = SYSTEM_YAML.replace(", ivy@corp.example]", "]")
HOLDERS = (
    *("olga@corp.example", "quinn@corp.example", "rita@corp.example", "dan@corp.example"),
    *("kim@corp.example", "tess@corp.example"),
)
NOWHERE = "http://127.0.0.1:9"  # nothing listens there


@dataclass
class Checkout:
    """A CI runner's working directory: the repo's manifest and nothing else, `wk` run in it
    with the server's URL and a token, and no WATCHKEEPER_DB (so the default database, in this
    directory, is what a command that opened one would create)."""

    folder: Path
    url: str
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def __call__(self, *args: str, token: str | None) -> tuple[int, str, str]:
        from watchkeeper.cli import run

        self.monkeypatch.chdir(self.folder)
        self.monkeypatch.setenv("WATCHKEEPER_URL", self.url)
        for name in ("WATCHKEEPER_DB", "WATCHKEEPER_USER", "WATCHKEEPER_TOKEN"):
            self.monkeypatch.delenv(name, raising=False)
        if token:
            self.monkeypatch.setenv("WATCHKEEPER_TOKEN", token)
        self.capsys.readouterr()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def files(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir())


@pytest.fixture
def checkout(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Checkout]:
    folder = tmp_path / "checkout"
    folder.mkdir()
    (folder / "watchkeeper.yaml").write_text(CURRENT, encoding="utf-8")
    with LiveServer(world.app) as server:
        yield Checkout(folder, server.url, capsys, monkeypatch)


def test_the_gate_passes_once_the_holders_acknowledge_through_the_server(
    world: World, checkout: Checkout
) -> None:
    token = world.token("owner")  # the owner's token, as CI holds it
    code, out, _ = checkout("gate", ".", token=token)
    assert code == 1 and f"{SYSTEM}  NOT READY" in out
    assert "charter.acknowledged: Named is not the same as knowing" in out
    assert "olga@corp.example runs `wk ack triage-bot all`" in out

    for holder in HOLDERS:
        code, out, err = checkout("ack", SYSTEM, "all", token=world.tokens[holder])
        assert code == 0 and "acknowledged" in out, (holder, err)
    code, out, _ = checkout("gate", ".", token=token)
    assert code == 1 and "runbook.rehearsed" in out and "never rehearsed" in out

    rehearsed(world.app, CURRENT)
    code, out, _ = checkout("gate", ".", token=token)
    assert code == 0 and f"{SYSTEM}  READY  score 100/100" in out
    assert "FAIL" not in out and "not checked" not in out
    assert checkout.files() == ["watchkeeper.yaml"]


def test_through_the_server_it_prints_what_local_mode_prints(
    world: World, checkout: Checkout, wk: Cli
) -> None:
    """The same table and JSON as `wk gate` on the server's database, at the server's time."""
    manifest = str(checkout.folder / "watchkeeper.yaml")
    same_time = ("--now", world.app.clock.now().isoformat())
    assert checkout("ack", SYSTEM, "all", token=world.tokens["olga@corp.example"])[0] == 0
    for extra in ((), ("--json",)):
        remote = checkout("gate", manifest, *extra, token=world.token("owner"))
        local = wk("gate", manifest, *extra, *same_time)
        assert remote == local and remote[0] == 1, extra
    [report] = json.loads(remote[1])
    [acknowledged] = [c for c in report["checks"] if c["id"] == "charter.acknowledged"]
    assert acknowledged["detail"].startswith("5 of 6 not acknowledged")
    assert "olga@corp.example" not in acknowledged["detail"]


def test_a_bad_manifest_is_located_in_the_local_file(world: World, checkout: Checkout) -> None:
    """Located as the runner names it (the path under the checkout), though the server read it."""
    manifest = CURRENT.replace("tier: high", "tier: extreme")
    (checkout.folder / "watchkeeper.yaml").write_text(manifest, encoding="utf-8")
    code, out, err = checkout("gate", ".", token=world.token("owner"))
    line = next(n for n, text in enumerate(manifest.splitlines(), 1) if "extreme" in text)
    assert code == 2 and out == ""
    assert err.startswith(f"watchkeeper.yaml:{line}:") and "metadata.tier" in err
    assert checkout.files() == ["watchkeeper.yaml"]


def test_offline_contacts_nothing_and_creates_nothing(world: World, checkout: Checkout) -> None:
    (checkout.folder / "people.yaml").write_text(world.people_file.read_text(), encoding="utf-8")
    checkout.url = NOWHERE
    code, out, err = checkout("gate", "--offline", ".", token=world.token("owner"))
    assert code == 0 and err == ""
    assert f"{SYSTEM}  READY  score 100/100, 2 check(s) not checked" in out
    assert checkout.files() == ["people.yaml", "watchkeeper.yaml"]


def test_a_server_out_of_reach_or_a_missing_token_is_said_plainly(
    world: World, checkout: Checkout
) -> None:
    code, _, err = checkout("gate", ".", token=None)
    assert code == 2 and "WATCHKEEPER_TOKEN is not" in err
    code, _, err = checkout("gate", ".", token="wk_not-a-real-token")
    assert code == 2 and "unknown API token" in err
    code, _, err = checkout("gate", ".", "--now", "2026-01-01", token=world.token("owner"))
    assert code == 2 and "only on a local database" in err
    checkout.url = NOWHERE
    code, out, err = checkout("gate", ".", token=world.token("owner"))
    assert code == 1 and out == ""
    assert f"cannot reach the Watchkeeper server at {NOWHERE}" in err
    assert checkout.files() == ["watchkeeper.yaml"]
