"""Every command's exit codes through the real CLI entry point: 0 ok, 1 attention, 2 invalid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DEMO_MANIFESTS, Cli

T = "2026-01-05T09:00Z"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    for path in DEMO_MANIFESTS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return {p.stem: str(p) for p in tmp_path.glob("*.yaml")}


def apply_all(wk: Cli, files: dict[str, str]) -> None:
    code, out, _ = wk("apply", *files.values(), "--now", T)
    assert code == 0, out


def ack_support(wk: Cli) -> None:
    for user in ("ana", "ben", "chen", "dev"):
        code, _, err = wk(
            "ack", "support-assistant", "all", "--now", T, user=f"{user}@corp.example"
        )
        assert code == 0, err


def test_gate_exit_codes(
    wk: Cli, files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = wk("gate", files["people"], files["support-assistant"], "--now", T)
    assert code == 1
    assert "NOT READY" in out and "charter.acknowledged" in out
    apply_all(wk, files)
    ack_support(wk)
    # the example's people are reached by email: a Watchkeeper with an SMTP server reaches them
    monkeypatch.setenv("WATCHKEEPER_SMTP", "127.0.0.1:9")
    code, out, _ = wk("rehearse", "support-assistant", "--now", T, user="ana@corp.example")
    assert code == 0, out
    code, out, _ = wk("gate", files["support-assistant"], "--json", "--now", T)
    assert code == 0
    [report] = json.loads(out)
    assert report["ready"] and report["score"] == 100
    bad = tmp_path / "bad.wk.yaml"
    bad.write_text("apiVersion: watchkeeper/v1\nkind: AISystem\nmetadata: {name: x, tier: hi}\n")
    code, _, err = wk("gate", str(bad))
    assert code == 2
    assert f"{bad}:3:" in err and "Traceback" not in err


def test_gate_offline_reads_no_store_and_leaves_none(
    files: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    absent = tmp_path / "state" / "wk.db"
    wk = Cli(f"sqlite:///{absent}", capsys, monkeypatch)
    code, out, err = wk("gate", "--offline", files["people"], files["support-assistant"], "--json")
    assert code == 0, err
    [report] = json.loads(out)
    assert report["ready"] and report["not_checked"] == [
        "charter.acknowledged",
        "runbook.rehearsed",
    ]
    acknowledged = next(c for c in report["checks"] if c["id"] == "charter.acknowledged")
    assert acknowledged["passed"] is None
    code, out, _ = wk("gate", "--offline", files["people"], files["support-assistant"])
    assert code == 0 and "READY" in out and "not checked" in out
    code, _, err = wk("gate", "--offline", files["support-assistant"])
    assert code == 2 and "unknown person" in err  # only the files say who is who
    assert not absent.parent.exists() and not (tmp_path / ".watchkeeper").exists()


def test_gate_without_a_store_judges_as_over_an_empty_one_and_creates_none(
    files: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    absent = tmp_path / "state" / "wk.db"
    wk = Cli(f"sqlite:///{absent}", capsys, monkeypatch)
    code, out, err = wk("gate", files["people"], files["support-assistant"], "--json")
    assert code == 1
    [report] = json.loads(out)
    assert [c["id"] for c in report["checks"] if c["passed"] is False] == ["charter.acknowledged"]
    assert f"no store at sqlite:///{absent}" in err and "--offline" in err
    assert not absent.parent.exists()


def test_apply_and_status(wk: Cli, files: dict[str, str]) -> None:
    code, _, err = wk("status")
    assert code == 0 and err == ""
    apply_all(wk, files)
    code, out, _ = wk("apply", *files.values(), "--json", "--now", T)
    assert code == 0
    assert {c["action"] for c in json.loads(out)} == {"unchanged"}
    code, out, _ = wk("status", "support-assistant", "--now", T)
    assert code == 1 and "pending" in out
    ack_support(wk)
    code, out, _ = wk("status", "support-assistant", "--json", "--now", T)
    assert code == 0 and json.loads(out)[0]["missing"] == []
    code, _, err = wk("status", "nope")
    assert code == 2 and "no system 'nope'" in err


def test_ack_exit_codes(wk: Cli, files: dict[str, str]) -> None:
    apply_all(wk, files)
    code, out, _ = wk("ack", "fraud-model", "quality_monitor", "--json", user="gus@corp.example")
    assert code == 0
    assert json.loads(out)[0]["holder"] == "risk-oncall"
    code, _, err = wk("ack", "fraud-model", "owner", user="gus@corp.example")
    assert code == 2 and "does not hold owner" in err
    code, _, err = wk("ack", "fraud-model", "boss", user="gus@corp.example")
    assert code == 2 and "unknown role" in err
    code, _, err = wk("ack", "fraud-model", "owner")
    assert code == 2 and "not a person known" in err


def test_vacuum_and_deactivate(wk: Cli, files: dict[str, str]) -> None:
    code, out, _ = wk("vacuum", "--json")
    assert code == 0 and json.loads(out) == []
    apply_all(wk, files)
    code, out, _ = wk("vacuum", "--json", "--now", T)
    assert code == 1
    reports = {r["system"]: r for r in json.loads(out)}
    assert reports["claims-triage"]["critical"]
    fraud_gaps = {g["id"] for g in reports["fraud-model"]["gaps"]}
    assert "owner.active" not in fraud_gaps and "roles.filled" not in fraud_gaps
    assert "monitors.receiving" in fraud_gaps, "live with no data ever received"
    code, out, _ = wk("people", "deactivate", "fay@corp.example", "--now", T)
    assert code == 0 and "now vacant: fraud-model:owner" in out
    code, out, _ = wk("vacuum", "--json", "--now", T)
    fraud = next(r for r in json.loads(out) if r["system"] == "fraud-model")
    assert fraud["critical"]
    assert {g["id"] for g in fraud["gaps"]} >= {"owner.active", "roles.filled"}
    code, _, err = wk("people", "deactivate", "nobody@corp.example")
    assert code == 2 and "no person" in err


def test_usage_errors_exit_2(wk: Cli) -> None:
    assert wk("no-such-command")[0] == 2
    assert wk("gate")[0] == 2
    code, _, err = wk("vacuum", "--now", "yesterday")
    assert code == 2 and "ISO 8601" in err


def test_schema_and_db_upgrade(wk: Cli) -> None:
    code, out, _ = wk("schema")
    assert code == 0
    schema = json.loads(out)
    assert {s["title"] for s in schema["oneOf"]} == {"SystemManifest", "PeopleManifest"}
    code, out, _ = wk("db", "upgrade")
    assert code == 0 and "schema at" in out


def test_init_writes_a_manifest_the_gate_reads(wk: Cli, tmp_path: Path) -> None:
    target = tmp_path / "svc" / "watchkeeper.yaml"
    args = [
        "init",
        "--no-input",
        "--out",
        str(target),
        "--name",
        "ranker",
        "--tier",
        "high",
        "--owner",
        "ana@corp.example",
        "--quality-monitor",
        "ana@corp.example",
        "--retraining-decider",
        "ben@corp.example",
        "--data-liaison",
        "chen@corp.example",
        "--kill-authority",
        "ana@corp.example",
        "--kill-authority",
        "dev@corp.example",
        "--fail-mode",
        "closed",
        "--fallback",
        "Serve the unranked list",
    ]
    code, out, err = wk(*args)
    assert code == 0, err
    text = target.read_text()
    assert "# 1. who monitors output quality after launch?" in text
    people = target.parent / "people" / "people.proposed.yaml"
    code, out, _ = wk("gate", str(target), str(people), "--json")
    assert code == 1
    [report] = json.loads(out)
    failed = {c["id"] for c in report["checks"] if not c["passed"]}
    assert failed == {
        "charter.acknowledged",
        "runbook.rehearsed",
        "runbook.healthy",
        "runbook.drop_alert",
        "runbook.playbooks",
        "evals.scheduled",
    }
    assert wk(*args)[0] == 2
    code, _, err = wk("init", "--no-input", "--out", str(tmp_path / "x.yaml"))
    assert code == 2 and "--owner" in err


def test_init_asks_interactively(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    answers = (
        "\n".join(
            [
                "svc",
                "high",
                "ana@corp.example",
                "",
                "ben@corp.example",
                "chen@corp.example",
                "ana@corp.example, dev@corp.example",
                "closed",
                "Humans answer",
            ]
        )
        + "\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "watchkeeper.cli", "init", "--out", "watchkeeper.yaml"],
        input=answers,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "watchkeeper.yaml").read_text()
    assert "quality_monitor: ana@corp.example" in text
    assert "kill_authority: [ana@corp.example, dev@corp.example]" in text
    assert "fail_mode: closed" in text


def test_people_reactivate_and_tokens(wk: Cli, files: dict[str, str]) -> None:
    apply_all(wk, files)
    code, out, _ = wk("people", "deactivate", "fay@corp.example", "--now", T)
    assert code == 0
    code, out, _ = wk("apply", files["people"], "--now", T)
    assert code == 0 and "not reactivated" in out and "wk people reactivate" in out
    code, out, _ = wk("people", "reactivate", "fay@corp.example", "--json", "--now", T)
    assert code == 0 and json.loads(out)["action"] == "updated"
    code, out, err = wk("token", "create", "gus@corp.example", "--expires", "90d", "--json")
    assert code == 0, err
    issued = json.loads(out)
    assert issued["expires_at"] is not None
    code, _, err = wk("token", "create", "gus@corp.example", "--expires", "soon")
    assert code == 2 and "--expires" in err
    code, out, _ = wk("token", "list", "gus@corp.example", "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert (listed["prefix"], listed["status"]) == (issued["prefix"], "active")
    code, out, _ = wk("token", "list")
    assert code == 0 and issued["prefix"] in out and "gus@corp.example" in out
    code, out, _ = wk("token", "revoke", issued["prefix"])
    assert code == 0 and "revoked" in out
    code, out, _ = wk("token", "list", "gus@corp.example", "--json")
    assert json.loads(out)[0]["status"] == "revoked"
    code, _, err = wk("token", "revoke", "wk_nothing")
    assert code == 2 and "no token" in err
