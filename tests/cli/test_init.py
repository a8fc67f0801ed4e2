"""`wk init` for a new user's first hour (issue 18 item 2): each answer checked as it is given,
`--no-input` with the prompts' defaults and every problem at once, and a repo whose commented
examples are valid and whose owner can apply it without being an admin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli
from watchkeeper.access import Refused
from watchkeeper.app import Operations, build
from watchkeeper.manifest import expand_paths, load_paths
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import T0, FixedClock

PEOPLE = Path("people") / "people.proposed.yaml"
# A commented example: `# ` before a YAML key or list item, at the indentation it would have.
EXAMPLE = re.compile(r"^(\s*)# (\s*(?:- )?[a-z_][a-z0-9_-]*:(?:\s.*)?|\s*- .*)$")
ROLE_FLAGS = {
    "--name": "svc",
    "--owner": "ana@corp.example",
    "--retraining-decider": "ben@corp.example",
    "--data-liaison": "chen@corp.example",
}


def _flags(**extra: str) -> list[str]:
    merged = ROLE_FLAGS | {f"--{k.replace('_', '-')}": v for k, v in extra.items()}
    return [part for flag, value in merged.items() for part in (flag, value)]


def _interactive(cwd: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watchkeeper.cli", "init", "--out", "watchkeeper.yaml"],
        input="\n".join(answers) + "\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def _uncommented(text: str) -> tuple[str, int]:
    lines, found = [], 0
    for line in text.splitlines():
        match = EXAMPLE.match(line)
        found += match is not None
        lines.append(match.group(1) + match.group(2) if match else line)
    return "\n".join(lines) + "\n", found


def test_no_input_names_every_missing_or_bad_flag_in_one_message(wk: Cli, tmp_path: Path) -> None:
    target = tmp_path / "watchkeeper.yaml"
    code, _, err = wk(
        "init", "--no-input", "--out", str(target), "--owner", "not-an-email", "--tier", "hi"
    )
    assert code == 2 and "Traceback" not in err
    for flag in ("--name", "--retraining-decider", "--data-liaison"):
        assert f"{flag}: missing" in err
    assert "--tier hi: Input should be" in err
    assert "'not-an-email' is not an email address" in err and "unknown team" not in err
    assert "--team not-an-email=EMAIL" in err
    assert "watchkeeper.yaml:" not in err, "no location in a file that was never written"
    assert not target.exists() and not (tmp_path / PEOPLE).exists()
    code, _, err = wk("init", "--no-input", "--out", str(target), *_flags(team="ml"))
    assert code == 2 and "--team ml: write it as NAME=EMAIL" in err


def test_no_input_takes_the_defaults_the_prompts_offer(wk: Cli, tmp_path: Path) -> None:
    flagged = tmp_path / "flags" / "watchkeeper.yaml"
    code, _, err = wk("init", "--no-input", "--out", str(flagged), *_flags())
    assert code == 0, err
    asked = tmp_path / "asked"
    asked.mkdir()
    given = ("svc", "", "ana@corp.example", "", "ben@corp.example", "chen@corp.example")
    result = _interactive(asked, *given, "", "", "")  # every default taken
    assert result.returncode == 0, result.stderr
    assert _interactive(asked, *given).returncode == 2, "an existing manifest is kept"
    assert flagged.read_text() == (asked / "watchkeeper.yaml").read_text()
    assert (flagged.parent / PEOPLE).read_text() == (asked / PEOPLE).read_text()


def test_each_answer_is_checked_as_given_and_asked_again(tmp_path: Path) -> None:
    result = _interactive(
        tmp_path,
        *("Support Bot", "svc"),  # a name must be a slug
        *("hi", "high"),
        *("ana", "", "ana@corp.example"),  # "ana" is no email; no members: asked again
        *("ml-team", "ben@", "ben@corp.example, dev@corp.example"),  # a team, with members
        *("x@", "ml-team"),  # a bad email; then the team just declared
        "chen@corp.example",
        "ana@corp.example, ops",  # kill authorities: a person and a new team
        "fay@corp.example",
        *("sideways", "closed"),
        "Humans answer",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "watchkeeper.yaml:" not in result.stderr
    assert "(email)" not in result.stdout and "(emails or teams, comma-separated)" in result.stdout
    for question in ("Owner of the system", "1. Who", "2. Who", "3. Who"):
        assert re.search(re.escape(question) + r"[^:]*\(email or team\)", result.stdout)
    for reason in (
        "'Support Bot' is not a valid name",
        "Input should be 'low', 'medium', 'high' or 'critical'",
        "'ana' is neither an email address nor a declared team",
        "'ben@' is not an email address",
        "'x@' is not an email address",
        "Input should be 'open' or 'closed'",
    ):
        assert reason in result.stderr
    assert expand_paths([tmp_path]) == [tmp_path / "watchkeeper.yaml"], "people are apart"
    loaded = load_paths([tmp_path / "watchkeeper.yaml", tmp_path / PEOPLE])
    [system] = loaded.systems
    charter = system.spec.charter
    assert (charter.quality_monitor, charter.retraining_decider) == ("ml-team", "ml-team")
    assert charter.kill_authority == ["ana@corp.example", "ops"]
    assert {t.name: t.members for t in loaded.teams} == {
        "ml-team": ["ben@corp.example", "dev@corp.example"],
        "ops": ["fay@corp.example"],
    }


@pytest.mark.parametrize("team", [[], ["--team", "ml-team=ben@corp.example"]])
def test_every_commented_example_is_valid_once_uncommented(
    wk: Cli, tmp_path: Path, team: list[str]
) -> None:
    target = tmp_path / "watchkeeper.yaml"
    args = _flags(quality_monitor="ml-team") if team else _flags()
    code, _, err = wk("init", "--no-input", "--out", str(target), *args, *team)
    assert code == 0, err
    system_text, system_examples = _uncommented(target.read_text())
    people_text, people_examples = _uncommented((tmp_path / PEOPLE).read_text())
    assert system_examples >= 20 and people_examples == (1 if team else 4)
    target.write_text(system_text)
    (tmp_path / PEOPLE).write_text(people_text)
    loaded = load_paths([target, tmp_path / PEOPLE])
    [system] = loaded.systems
    assert system.spec.upstream and system.spec.evals
    runbook = system.spec.runbook
    assert runbook.signals and runbook.healthy and runbook.alerts and runbook.playbooks
    assert loaded.teams and loaded.people[0].channels


def test_a_declared_team_needs_no_flag_and_a_kept_people_file_is_told_what_it_lacks(
    wk: Cli, tmp_path: Path
) -> None:
    org = tmp_path / "org" / "people.yaml"
    org.parent.mkdir()
    org.write_text(
        "apiVersion: watchkeeper/v1\nkind: People\npeople: [{email: ben@corp.example}]\n"
        "teams: [{name: ml-team, members: [ben@corp.example]}]\n"
    )
    before = org.read_text()
    target = tmp_path / "svc" / "watchkeeper.yaml"
    code, out, err = wk(
        "init", "--no-input", "--out", str(target), "--people", str(org),
        *_flags(retraining_decider="ml-team"),
    )  # fmt: skip
    assert code == 0, err
    assert "ana@corp.example" in out and "chen@corp.example" in out and "add to it" in out
    assert org.read_text() == before
    assert not (target.parent / PEOPLE).exists()
    assert "retraining_decider: ml-team" in target.read_text()


def test_the_owner_applies_the_folder_init_wrote_once_an_admin_applied_the_people(
    db_url: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from watchkeeper.cli import run

    folder = tmp_path / "svc"
    target = str(folder / "watchkeeper.yaml")
    args = _flags(quality_monitor="ml-team", team="ml-team=ben@corp.example")
    code = run(["init", "--no-input", "--out", target, *args])
    assert code == 0, capsys.readouterr().err
    assert f"wk apply {folder / PEOPLE}" in capsys.readouterr().out
    owner = "ana@corp.example"
    app = build(Settings(db=db_url, registrars=(owner,)), store=store, clock=FixedClock(T0))
    org = tmp_path / "org.yaml"
    org.write_text(
        "apiVersion: watchkeeper/v1\nkind: People\n"
        "people: [{email: root@corp.example, admin: true}]\n"
    )
    Operations(app, "root@corp.example", T0, enforce=False).apply([str(org)])
    as_owner = Operations(app, owner, T0, enforce=True)
    Operations(app, "root@corp.example", T0, enforce=True).apply([str(folder / PEOPLE)])
    with pytest.raises(Refused, match="only admins"):
        as_owner.apply([str(folder / PEOPLE)])
    [created] = as_owner.apply([str(folder)])
    assert (created["kind"], created["name"], created["action"]) == ("system", "svc", "created")
    assert as_owner.apply([str(folder)])[0]["action"] == "unchanged"
