"""A new user's first hour, end to end, as the README tells it (issue 18): `wk init` with a team,
the offline gate in a fresh clone, an admin applying the people and the system through a server,
each holder acknowledging, the gate passing through the server, a CSV with its own time and output
columns backfilled, an eval run where the code lives, and a kill that tells the owner. Every `wk`
runs in-process with only WATCHKEEPER_URL/WATCHKEEPER_TOKEN set, as on a CI runner or a laptop;
no database is ever created in the repo."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.sdk._wait import until
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.manifest import load_text
from watchkeeper.server import LiveServer
from watchkeeper.testing import T0, HttpReceiver, http_receiver

SYSTEM = "ticket-router"
OWNER, LIAISON, BEN, DEV, ADMIN = (
    "ana@corp.example",
    "chen@corp.example",
    "ben@corp.example",
    "dev@corp.example",
    "root@corp.example",
)
EXAMPLE_KEYS = ("upstream:", "signals:", "healthy:", "alerts:", "playbooks:", "evals:")


def uncomment_examples(text: str) -> str:
    """What a new user does with the manifest init wrote: take each example block as it is."""
    out: list[str] = []
    block: str | None = None
    for line in text.splitlines():
        commented = re.match(r"^(\s*)# (.*)$", line)
        if commented and commented.group(2).startswith(EXAMPLE_KEYS):
            block = commented.group(1)
            out.append(block + commented.group(2))
        elif (
            block is not None
            and commented
            and commented.group(1) == block
            and commented.group(2).startswith(("  ", "- "))
        ):
            out.append(block + commented.group(2))
        else:
            block = None
            out.append(line)
    return "\n".join(out) + "\n"


@dataclass
class Repo:
    """The system's checkout, where `wk` runs as `who` against the server."""

    folder: Path
    url: str
    tokens: dict[str, str]
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def wk(self, *args: str, who: str | None = None) -> tuple[int, str, str]:
        from watchkeeper.cli import run

        self.monkeypatch.chdir(self.folder)
        for name in ("WATCHKEEPER_DB", "WATCHKEEPER_USER", "WATCHKEEPER_TOKEN", "WATCHKEEPER_URL"):
            self.monkeypatch.delenv(name, raising=False)
        if who is not None:
            self.monkeypatch.setenv("WATCHKEEPER_URL", self.url)
            self.monkeypatch.setenv("WATCHKEEPER_TOKEN", self.tokens[who])
        self.capsys.readouterr()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@pytest.fixture
def server(app: Watchkeeper) -> Iterator[tuple[Watchkeeper, str, HttpReceiver]]:
    """A server whose only person is its admin, as bootstrapped by hand on its database."""
    admin = {"apiVersion": "watchkeeper/v1", "kind": "People",
             "people": [{"email": ADMIN, "admin": True}]}  # fmt: skip
    app.charter.apply(load_text(json.dumps(admin)), "bootstrap", T0)
    with http_receiver() as receiver, LiveServer(app) as live:
        yield app, live.url, receiver


def test_the_first_hour(
    server: tuple[Watchkeeper, str, HttpReceiver],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, url, receiver = server
    setup = Operations(app, "bootstrap", T0, enforce=False)
    tokens = {ADMIN: setup.create_token(ADMIN)["token"]}
    repo = Repo(tmp_path / "ticket-router", url, tokens, capsys, monkeypatch)
    repo.folder.mkdir()

    # 1. init, with a team holding a role, never prompting
    code, _, err = repo.wk(
        *("init", "--no-input", "--name", SYSTEM, "--owner", OWNER),
        *("--retraining-decider", "ml-platform", "--data-liaison", LIAISON),
        *("--team", f"ml-platform={BEN},{DEV}"),
    )
    assert code == 0, err
    manifest = repo.folder / "watchkeeper.yaml"
    people = repo.folder / "people" / "people.proposed.yaml"
    # the system's own package, named apart per test: the eval imports it in this process
    package = f"router_{tmp_path.name.replace('-', '_')}"
    text = uncomment_examples(manifest.read_text()).replace("dana@corp.example", LIAISON)
    text = text.replace('"my_app.model:predict"', f'"{package}.model:predict"')
    manifest.write_text(text)
    people.write_text(
        people.read_text().replace(
            "    # channels: [{type: email}",
            f'    channels: [{{type: webhook, url: "{receiver.url}/ana"}}]\n    # [{{type: email}}',
        )
    )
    (repo.folder / package).mkdir()
    (repo.folder / package / "__init__.py").write_text("")
    (repo.folder / package / "model.py").write_text(
        "def predict(case):\n    return 'refund' if 'refund' in case['ticket_text'] else 'bug'\n"
    )
    (repo.folder / "evals").mkdir()
    (repo.folder / "evals" / "golden.jsonl").write_text(
        '{"id": "r1", "input": {"ticket_text": "my refund?"}, "expected": "refund"}\n'
        '{"id": "b1", "input": {"ticket_text": "it crashes"}, "expected": "bug"}\n'
    )

    # 2. the gate on the files alone, as in a fresh clone before anything is applied
    code, out, err = repo.wk("gate", "--offline", "watchkeeper.yaml", str(people))
    assert code == 0, out + err
    assert "READY" in out and "not checked" in out

    # 3. the admin applies the people, then the new system; its owner re-applies the folder
    assert repo.wk("apply", str(people), who=ADMIN)[0] == 0
    assert repo.wk("apply", "watchkeeper.yaml", who=ADMIN)[0] == 0
    for email in (OWNER, LIAISON, BEN, DEV):
        code, out, err = repo.wk("token", "create", email, "--json", who=ADMIN)
        assert code == 0, err
        tokens[email] = json.loads(out)["token"]
    code, out, err = repo.wk("apply", ".", who=OWNER)
    assert code == 0, err
    assert "unchanged" in out

    # 4. not ready through the server until every holder acknowledges there
    code, out, _ = repo.wk("gate", "watchkeeper.yaml", str(people), who=OWNER)
    assert code == 1 and "charter.acknowledged" in out
    for holder in (OWNER, LIAISON, BEN):
        code, _, err = repo.wk("ack", SYSTEM, "all", who=holder)
        assert code == 0, err
    code, out, _ = repo.wk("gate", "watchkeeper.yaml", str(people), who=OWNER)
    assert code == 1 and "runbook.rehearsed" in out and "never rehearsed" in out
    # ... and until the owner has rehearsed what happens if quality drops 20%: the rehearsal
    # pages ana, and finds that level 2 (ml-platform: ben and dev) reaches nobody (no channel,
    # and this server sends no email) ...
    code, out, err = repo.wk("rehearse", SYSTEM, who=OWNER)
    assert code == 1, out + err
    assert "ana@corp.example paged by webhook" in out
    assert "level.unreachable: level 2" in out and "ben@corp.example has no channel" in out
    # ... so the admin gives ben and dev a channel, and the rehearsal passes
    for name in ("ben", "dev"):
        replace_in(
            people,
            f'{{email: {name}@corp.example, name: "{name}"}}',
            f'{{email: {name}@corp.example, name: "{name}", '
            f'channels: [{{type: webhook, url: "{receiver.url}/{name}"}}]}}',
        )
    assert repo.wk("apply", str(people), who=ADMIN)[0] == 0
    code, out, err = repo.wk("rehearse", SYSTEM, who=OWNER)
    assert code == 0, out + err
    assert "PASSED" in out and "ben@corp.example paged by webhook" in out
    code, out, err = repo.wk("gate", "watchkeeper.yaml", str(people), who=OWNER)
    assert code == 0, out + err
    assert "READY" in out

    # 5. a CSV backfill with its own time and output columns
    rows = [
        f"{(T0 - timedelta(hours=1, minutes=i)).strftime('%Y-%m-%dT%H:%M:%S')},"
        f"Ticket {i},{'email' if i % 2 else 'chat'},{'refund' if i % 2 else 'bug'}"
        for i in range(4)
    ]
    (repo.folder / "tickets.csv").write_text(
        "timestamp,ticket_text,channel,label\n" + "\n".join(rows)
    )
    code, out, err = repo.wk(
        *("ingest", "tickets.csv", "--system", SYSTEM, "--ts", "timestamp", "--output", "label"),
        who=OWNER,
    )
    assert code == 0, err
    assert "4 stored" in out
    code, out, _ = repo.wk(
        "observations", SYSTEM, "--where", "output == 'refund'", "--json", who=LIAISON
    )
    assert [o["inputs"]["ticket_text"] for o in json.loads(out)["observations"]] == [
        "Ticket 1",
        "Ticket 3",
    ]

    # 6. an eval where the code lives, its result uploaded to the server
    code, out, err = repo.wk("eval", "run", SYSTEM, "--json", who=OWNER)
    assert code == 0, out + err
    [run] = json.loads(out)
    assert (run["suite"], run["count"], run["pass_rate"]) == ("golden", 2, 1.0)

    # 7. a kill tells the owner, with the command that undoes it
    code, _, err = repo.wk("kill", SYSTEM, "--reason", "wrong routing", who=OWNER)
    assert code == 0, err
    until(lambda: receiver.on("/ana"), timeout=10)  # the server tells once the flip is made
    [notice] = [json.loads(r.body) for r in receiver.on("/ana")]
    assert notice["title"] == f"{SYSTEM} was taken offline by {OWNER}"
    assert f"wk restore {SYSTEM}" in notice["body"]

    assert sorted(p.name for p in repo.folder.iterdir()) == sorted(
        ["evals", package, "people", "tickets.csv", "watchkeeper.yaml"]
    ), "no database, nothing else, left in the repo"
