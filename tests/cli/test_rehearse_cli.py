"""`wk rehearse`: the timeline a reader holds against the runbook, the record as JSON, and the
exit codes — 0 someone was paged, 1 nobody was (or not in time), 2 refused — locally, from files
before they are applied, and through a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, Cli, RemoteCli
from tests.server._world import SYSTEM, World
from watchkeeper.app import Operations
from watchkeeper.cli.rehearse import offset, told

ANA = "ana@corp.example"  # the example system's owner: locally, the acting person is recorded
PEOPLE = str(EXAMPLES / "people" / "people.yaml")
SUPPORT = EXAMPLES / "support-assistant" / "watchkeeper.yaml"
DROP_RULE = (
    "      - {name: quality-drop, signal: answer_accuracy, drop: 20%, severity: critical, "
    "playbook: quality-drop}\n"
)
REPORT = {
    "system": "support-assistant",
    "scenario": "quality-drop",
    "passed": False,
    "verdict": "the first page went out after 75 min, but ben@corp.example NOT reached",
    "rule": "quality-drop",
    "signal": "answer_accuracy",
    "source": "synthetic",
    "simulated": {
        "from": "2026-01-01T00:00:00+00:00",
        "began": "2026-01-15T00:00:00+00:00",
        "to": "2026-01-29T00:00:00+00:00",
    },
    "time_to_page_s": 4500.0,
    "timeline": [
        {"at": "2026-01-14T23:30:00+00:00", "after_s": -1800.0, "kind": "note", "text": "warm"},
        {"at": "2026-01-15T00:00:00+00:00", "after_s": 0.0, "kind": "scenario", "text": "begins"},
        {"at": "2026-01-16T01:15:00+00:00", "after_s": 90900.0, "kind": "page", "text": "ana"},
    ],
    "missed": [{"check": "level.unreachable", "text": "ben@corp.example NOT reached"}],
    "elapsed_s": 2.5,
}


def without_drop_rule(folder: Path) -> str:
    """The example system with no `drop:` rule: its quality can fall and nothing pages."""
    text = SUPPORT.read_text(encoding="utf-8")
    assert DROP_RULE in text
    path = folder / "no-drop.yaml"
    path.write_text(text.replace(DROP_RULE, ""), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0, "+00:00"), (-0.4, "+00:00"), (89.0, "+00:01"), (-1800.0, "-00:30"),
     (3 * 86400 + 3600, "+73:00"), (3599.0, "+01:00")],
)  # fmt: skip
def test_offsets_are_signed_hours_and_minutes_since_the_scenario_began(
    seconds: float, shown: str
) -> None:
    assert offset(seconds) == shown


def test_the_text_is_header_timeline_what_did_not_happen_and_verdict() -> None:
    lines = told(REPORT).splitlines()
    assert lines[0] == (
        "FAILED  support-assistant  scenario quality-drop  rule quality-drop → signal "
        "answer_accuracy  baseline from synthetic  first page after 75 min"
    )
    assert lines[2:5] == [
        "-00:30  NOTE      warm",
        "+00:00  SCENARIO  begins",
        "+25:15  PAGE      ana",
    ]
    assert lines[6:8] == ["Did not happen:", "  level.unreachable: ben@corp.example NOT reached"]
    assert lines[-1] == f"FAILED: {REPORT['verdict']}"


def test_what_is_absent_is_said_in_words_or_left_out() -> None:
    nothing: dict[str, Any] = {"time_to_page_s": None, "missed": [], "timeline": [], "source": None}
    text = told({**REPORT, **nothing, "rule": None})
    assert text.splitlines()[0] == (
        "FAILED  support-assistant  scenario quality-drop  no rule to aim at  nobody paged"
    )
    assert "\n\nnothing happened\n\nDid not happen:\n  nothing\n" in text
    drift = told({**REPORT, "rule": "input-drift", "signal": None})
    assert "  rule input-drift  baseline from synthetic  " in drift.splitlines()[0]


@pytest.fixture
def mail(monkeypatch: pytest.MonkeyPatch) -> None:
    """An SMTP server configured, as the example's email-only people need to be reachable (the
    rehearsal records its mail: nothing is sent, nothing listens there)."""
    monkeypatch.setenv("WATCHKEEPER_SMTP", "127.0.0.1:9")


@pytest.mark.usefixtures("mail")
def test_the_example_system_pages_in_time(wk: Cli) -> None:
    assert wk("apply", PEOPLE, str(SUPPORT))[0] == 0
    code, out, err = wk("rehearse", "support-assistant", user=ANA)
    assert code == 0, out + err
    header, blank, *_ = out.splitlines()
    assert header.startswith("PASSED  support-assistant  scenario quality-drop  rule quality-drop")
    assert "first page after" in header and " min" in header and blank == ""
    assert "+00:00  SCENARIO" in out and "PAGE" in out and "Did not happen:" in out
    assert out.rstrip().splitlines()[-1].startswith("passed: rule quality-drop paged")

    code, out, _ = wk("rehearse", "support-assistant", "--json", user=ANA)
    record = json.loads(out)
    assert code == 0 and record["passed"] is True and record["version"] == 1
    assert record["rehearsed_by"] == "ana@corp.example"
    assert record["report"]["time_to_page_s"] == record["time_to_page_s"] > 0


def test_a_runbook_without_a_drop_rule_fails(wk: Cli, tmp_path: Path) -> None:
    assert wk("apply", PEOPLE, without_drop_rule(tmp_path))[0] == 0
    code, out, _ = wk("rehearse", "support-assistant", user=ANA)
    assert code == 1
    assert out.startswith("FAILED  support-assistant") and "nobody paged" in out.splitlines()[0]
    missed = out.split("Did not happen:\n")[1].split("\n\n")[0].splitlines()
    code, out, _ = wk("rehearse", "support-assistant", "--json", user=ANA)
    report = json.loads(out)["report"]
    assert code == 1 and report["missed"]
    assert missed == [f"  {m['check']}: {m['text']}" for m in report["missed"]]


@pytest.mark.usefixtures("mail")
def test_files_are_rehearsed_before_they_are_applied(wk: Cli, tmp_path: Path) -> None:
    """Nothing applied: the files are the system, and the record says no version."""
    no_drop = without_drop_rule(tmp_path)
    code, out, err = wk("rehearse", "support-assistant", PEOPLE, no_drop, "--json", user=ANA)
    assert code == 1, err
    record = json.loads(out)
    assert record["version"] is None and record["passed"] is False and record["report"]["missed"]
    code, out, _ = wk("rehearse", "support-assistant", PEOPLE, str(SUPPORT), "--json", user=ANA)
    assert code == 0 and json.loads(out)["version"] is None
    assert wk("status", "support-assistant")[0] == 2, "rehearsing applied nothing"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("nobody-here",), "nobody-here"),
        (("support-assistant", "--scenario", "meteor"), "meteor"),
        (("support-assistant", "--budget", "0"), "--budget"),
        (("support-assistant", "--budget", "601"), "--budget"),
    ],
)
def test_bad_input_is_refused_with_exit_2(wk: Cli, args: tuple[str, ...], said: str) -> None:
    assert wk("apply", PEOPLE, str(SUPPORT))[0] == 0
    code, out, err = wk("rehearse", *args, user=ANA)
    assert code == 2 and out == ""
    assert said in err and "Traceback" not in err


def recorded(world: World) -> list[dict[str, Any]]:
    """The system's rehearsals as the server's store holds them, the newest first."""
    ops = Operations(world.app, "adam@corp.example", world.app.clock.now(), enforce=False)
    return ops.rehearsals(SYSTEM)


def test_through_a_server_it_prints_what_local_mode_prints(world: World, remote: RemoteCli) -> None:
    owner = world.tokens["olga@corp.example"]
    code, out, err = remote("rehearse", SYSTEM, "--json", token=owner)
    record = json.loads(out)
    assert code == (0 if record["passed"] else 1), err
    assert record["system"] == SYSTEM and record["rehearsed_by"] == "olga@corp.example"
    assert recorded(world) == [record]

    code, out, _ = remote("rehearse", SYSTEM, token=owner)
    newest = recorded(world)[0]
    assert out == told(newest["report"]) + "\n" and newest["id"] > record["id"]


def test_through_a_server_files_are_sent_and_refusals_exit_2(
    world: World, remote: RemoteCli
) -> None:
    owner = world.tokens["olga@corp.example"]
    files = (str(world.people_file), str(world.system_file))
    code, out, err = remote("rehearse", SYSTEM, *files, "--json", token=owner)
    assert code in (0, 1), err
    assert json.loads(out)["version"] is None

    code, out, err = remote("rehearse", SYSTEM, token=world.tokens["uma@corp.example"])
    assert code == 2 and out == "" and "uma@corp.example" in err
    code, _, err = remote("rehearse", SYSTEM, "--scenario", "meteor", token=owner)
    assert code == 2 and "meteor" in err
