"""Exit codes and output of the quality commands through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import DEMO_MANIFESTS, Cli

T = "2026-01-05T09:00Z"


def setup(wk: Cli, tmp_path: Path) -> dict[str, str]:
    for path in DEMO_MANIFESTS.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    files = {p.stem: str(p) for p in tmp_path.glob("*.yaml")}
    assert wk("apply", *files.values(), "--now", T)[0] == 0
    return files


def test_ingest_tick_findings_and_dead_letters(wk: Cli, tmp_path: Path) -> None:
    setup(wk, tmp_path)
    data = tmp_path / "obs.jsonl"
    rows = [{"id": f"o{i}", "ts": "2026-01-05T08:00:00Z", "output": "approve"} for i in range(5)]
    rows.append({"id": "bad", "latency_ms": "slow"})
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out, _ = wk("ingest", str(data), "--system", "claims-triage", "--now", T)
    assert code == 1 and "5 stored" in out and "1 rejected" in out
    code, out, _ = wk("dead-letter", "claims-triage", "--json")
    assert code == 0 and "items[5].latency_ms" in json.loads(out)[0]["reason"]
    code, out, _ = wk("tick", "--now", "2026-01-07T09:00Z", "--json")
    assert code == 0 and json.loads(out)["ran"]
    assert wk("findings", "--json")[0] == 0
    assert wk("check", "nope")[0] == 2
    assert wk("ingest", str(tmp_path / "missing.jsonl"), "--system", "claims-triage")[0] == 2


def test_care_knowledge_and_reports(wk: Cli, tmp_path: Path) -> None:
    setup(wk, tmp_path)
    code, out, _ = wk(
        "care",
        "log",
        "fraud-model",
        "--hours",
        "3",
        "--kind",
        "maintenance",
        "--now",
        T,
        user="gus@corp.example",
    )
    assert code == 0
    assert wk("care", "log", "fraud-model", "--hours", "3", "--kind", "golf")[0] == 2
    code, out, _ = wk(
        "log",
        "decision",
        "fraud-model",
        "--title",
        "Keep v7",
        "-f",
        "context=ok",
        "-f",
        "decision=keep",
        "-f",
        "consequences=none",
        "--now",
        T,
        user="gus@corp.example",
    )
    assert code == 0 and "Decision 1 of fraud-model" in out
    code, _, err = wk(
        "log",
        "near-miss",
        "fraud-model",
        "--title",
        "x",
        "-f",
        "what=typo",
        user="gus@corp.example",
    )
    assert code == 2 and "unknown field" in err
    code, out, _ = wk(
        "review", "fraud-model", "--verdict", "healthy", "--now", T, user="fay@corp.example"
    )
    assert code == 0
    assert wk("review", "fraud-model", "--verdict", "great", user="fay@corp.example")[0] == 2
    code, out, _ = wk("report", "fraud-model", "--format", "html", "--now", T)
    assert code == 0 and "<!doctype html>" in out and "No values for precision_at_review" in out
    exported = tmp_path / "kb"
    assert wk("knowledge", "export", "fraud-model", "--dir", str(exported))[0] == 0
    assert (exported / "decisions" / "0001-keep-v7.md").is_file()


def test_incident_commands_exit_codes(wk: Cli, tmp_path: Path) -> None:
    setup(wk, tmp_path)
    code, out, _ = wk("incident", "list", "--json")
    assert code == 0 and json.loads(out) == []
    assert wk("incident", "ack", "99", user="eli@corp.example")[0] == 2
    code, _, err = wk(
        "silence",
        "--system",
        "claims-triage",
        "--hours",
        "2",
        "--reason",
        "deploy",
        "--match",
        "rule=approve-*",
        user="eli@corp.example",
    )
    assert code == 0, err
    assert wk("silence", "--match", "nonsense", "--reason", "x")[0] == 2


def test_check_explains_each_checks_share_of_the_alarm_budget(wk: Cli, tmp_path: Path) -> None:
    """Once the baseline has ended, `wk check --explain` shows what each statistical check was
    calibrated to. A 30% rise on a 70% approve rate needs more than 20 rows a day to show beyond
    doubt (no rate can pass 100%), so the budget is not met, and the window that would meet it
    is named."""
    setup(wk, tmp_path)
    data = tmp_path / "claims.jsonl"
    rows = [
        {
            "id": f"c{day}-{i}",
            "ts": f"2026-01-{5 + day:02d}T{i:02d}:00:00Z",
            "output": "approve" if (day * 20 + i) % 10 < 7 else "deny",
        }
        for day in range(16)
        for i in range(20)
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    now = "2026-01-22T00:00Z"
    assert wk("ingest", str(data), "--system", "claims-triage", "--now", now)[0] == 0
    code, out, _ = wk("check", "claims-triage", "--explain", "--now", now)
    assert code == 1  # the holdout eval has never run: a fact, not the budget's
    assert "alarm budget: 1 per 90d, shared by 1 checks" in out
    assert "rise auto_approve_rate (approve-spike)" in out and "budget not met" in out
    out = wk("check", "claims-triage", "--json", "--now", now)[1]
    report = json.loads(out)
    [entry] = report["calibration"]
    assert report["alarm_budget"] == "1 per 90d"
    assert entry["check"] == "rise" and entry["false_alarms"] == "1 per 90d"
    assert entry["rows_per_window"] == 20 and not entry["meets_budget"]
    assert entry["detects"].startswith("nothing")
    assert "rows per window: a window of" in entry["needs"]
