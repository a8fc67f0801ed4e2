"""Exit codes and output of the quality commands through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import DEMO_MANIFESTS, Cli
from tests.dashboard._world import build_world
from watchkeeper.app import Watchkeeper

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


def _router(tmp_path: Path) -> list[str]:
    """A system whose upstream promises two categorical fields, under one contract rule."""
    people = {"apiVersion": "watchkeeper/v1", "kind": "People", "people": [{"email": OWNER}]}
    system = {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "router"},
        "spec": {
            "lifecycle": "live",
            "charter": {"owner": OWNER},
            "upstream": [
                {
                    "name": "tickets",
                    "contact": OWNER,
                    "contract": {
                        "channel": {"type": "category", "values": ["email", "chat"]},
                        "tier": {"type": "category", "values": ["gold", "silver"]},
                    },
                }
            ],
            "runbook": {
                "baseline": {"first": "7d"},
                "alerts": [{"name": "upstream-break", "contract": "tickets"}],
            },
        },
    }
    paths = []
    for name, doc in (("people", people), ("router", system)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(doc))  # JSON is YAML
        paths.append(str(path))
    return paths


OWNER = "ana@corp.example"


def test_findings_roll_up_one_row_per_cause_per_run_of_windows(wk: Cli, tmp_path: Path) -> None:
    """Both promised fields break on 10-12 January and again on the 15th: six findings and then
    two are two rows of the one rule, each dated by the windows it is about, not by the tick
    that found it; --json still carries every finding."""
    assert wk("apply", *_router(tmp_path), "--now", T)[0] == 0
    broken = {12, 13, 14, 16}
    rows = [
        {
            "id": f"r{day}-{i}",
            "ts": f"2026-01-{day:02d}T{i:02d}:00:00Z",
            "inputs": {
                "channel": "phone" if day in broken else "email",
                "tier": "bronze" if day in broken else "gold",
            },
            "output": "routed",
        }
        for day in range(5, 18)
        for i in range(10)
    ]
    data = tmp_path / "router.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert wk("ingest", str(data), "--system", "router", "--now", "2026-01-18T00:00Z")[0] == 0
    assert wk("tick", "--now", "2026-01-18T00:05Z")[0] == 0
    code, out, _ = wk("findings", "router", "--json")
    assert code == 0
    report = json.loads(out)
    assert len(report["findings"]) == 8, "two fields broken on four days"
    contract = [r for r in report["rows"] if r["check"] == "contract"]
    assert [(r["window_start"][:10], r["window_end"][:10], r["windows"]) for r in contract] == [
        ("2026-01-16", "2026-01-17", 1),
        ("2026-01-12", "2026-01-15", 3),
    ]
    assert all(r["subjects"] == ["tickets.channel", "tickets.tier"] for r in contract)
    assert all(r["rule"] == "upstream-break" for r in contract)
    grouped = sorted(i for r in report["rows"] for i in r["findings"])
    assert grouped == sorted(f["id"] for f in report["findings"]), "every finding in one row"
    code, out, _ = wk("findings", "router")
    assert code == 0
    assert out.count("contract (upstream-break)") == 2
    assert "2026-01-12 00:00 – 2026-01-15" in out and "(3 windows)" in out
    assert "2026-01-18" not in out, "dated by the windows, not by the tick that found them"
    assert out.count("(also tickets.") == 2, "the other field of the same break is named"


def test_incident_show_tells_each_alert_by_its_rule_and_summary(
    app: Watchkeeper, wk: Cli, tmp_path: Path
) -> None:
    """The dashboard's organisation after its bad day: the incident's timeline names each alert's
    rule and subject with what it said, instead of "alert watchkeeper" once per alert."""
    world = build_world(app, tmp_path / "org")
    code, out, _ = wk("incident", "show", str(world.incident))
    assert code == 0
    told = " ".join(out.split())  # long lines wrap at the terminal's width
    for line in (
        "Incident opened by alert low-quality on quality: quality = 0.3, below 0.5",
        "Alert low-quality on quality: quality = 0.3, below 0.5",
        "Alert upstream-break on tickets.channel: upstream tickets: 'channel' took a value "
        "outside its categories (e.g. 'phone')",
        "Escalated to level 1: notified ana@corp.example",
    ):
        assert line in told, line
    assert "watchkeeper" not in out, "the actor of the steps Watchkeeper took says nothing"
