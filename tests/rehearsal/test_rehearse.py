"""Rehearsing a runbook through the real pipeline on a throwaway store: a healthy runbook pages
within its first escalation step; an unreachable level, a signal whose window never fills and a
runbook without a drop rule are named; the real store gains only the rehearsal's record."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.testing import T0

PEOPLE = """\
apiVersion: watchkeeper/v1
kind: People
people:
  - {email: ana@corp.example, channels: [{type: webhook, url: "http://127.0.0.1:9/ana"}]}
  - {email: ben@corp.example, channels: [{type: slack, url: "http://127.0.0.1:9/ben"}]}
  - {email: dev@corp.example}
  - {email: ops@corp.example, admin: true}
  - {email: zed@corp.example, channels: [{type: webhook, url: "http://127.0.0.1:9/zed"}]}
"""

SYSTEM = """\
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {name: scorer}
spec:
  lifecycle: live
  charter:
    owner: ana@corp.example
    quality_monitor: ana@corp.example
    retraining_decider: ben@corp.example
    kill_authority: [ana@corp.example, ben@corp.example]
  upstream:
    - name: applications
      contact: ben@corp.example
      contract:
        amount: {type: number, required: true, min: 0, max: 1000}
        region: {type: category, values: [north, south]}
  runbook:
    healthy:
      approval_quality: {min: 0.7}
    signals:
      approval_quality: {from: feedback, kind: mean, field: score, window: WINDOW}
    alerts:
      - name: quality-drop
        signal: approval_quality
        drop: 20%
        severity: critical
        playbook: retrain
      - {name: input-drift, drift: [amount, region], severity: warning, playbook: look}
      - {name: schema-break, contract: applications, severity: error, playbook: look}
      - {name: quiet, absent: 6h, severity: error, playbook: look}
    escalation:
      levels:
        - {after: 0m, notify: [ana@corp.example]}
        - {after: 30m, notify: [LEVEL2]}
    playbooks:
      retrain: {steps: [Pull labels, Retrain], open_decision: retrain}
      look: {steps: [Look]}
    triage:
      rules:
        - {name: flagged, negative_feedback: true}
"""


def _setup(
    app: Watchkeeper, folder: Path, window: str = "1d", level2: str = "ben@corp.example"
) -> Operations:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.yaml").write_text(PEOPLE)
    text = SYSTEM.replace("WINDOW", window).replace("LEVEL2", level2)
    (folder / "scorer.yaml").write_text(text)
    ops = Operations(app, "ops@corp.example", T0, enforce=False)
    ops.apply([str(folder / "people.yaml"), str(folder / "scorer.yaml")])
    return Operations(app, "ana@corp.example", T0, enforce=True)


def _kinds(report: dict[str, Any]) -> list[str]:
    return [m["check"] for m in report["missed"]]


def test_a_healthy_runbook_pages_within_its_first_escalation_step(
    app: Watchkeeper, tmp_path: Path
) -> None:
    ops = _setup(app, tmp_path)
    record = ops.rehearse("scorer")
    report = record["report"]
    assert record["passed"] and report["passed"], report
    assert report["source"] == "synthetic" and report["rule"] == "quality-drop"
    pages = [e for e in report["timeline"] if e["kind"] == "page"]
    opened = next(e for e in report["timeline"] if e["kind"] == "incident")
    # the first page goes to level 1 the moment the incident opens; level 2 after its 30 minutes
    assert pages[0]["text"] == "ana@corp.example paged by webhook"
    assert pages[0]["after_s"] == opened["after_s"] == record["time_to_page_s"]
    assert 0 < record["time_to_page_s"] <= 2 * 86400  # the first whole day after the drop
    later = [e for e in pages if e["text"] == "ben@corp.example paged by slack"]
    assert later and later[0]["after_s"] == opened["after_s"] + 31 * 60
    decision = next(e for e in report["timeline"] if e["kind"] == "decision")
    assert "ben@corp.example" in decision["text"]
    assert not [m for m in report["missed"] if m["check"] != "person.unreachable"]


def test_a_level_whose_person_has_no_channel_is_reported_unreachable(
    app: Watchkeeper, tmp_path: Path
) -> None:
    ops = _setup(app, tmp_path, level2="dev@corp.example")
    record = ops.rehearse("scorer")
    report = record["report"]
    assert not record["passed"]
    assert record["time_to_page_s"] is not None  # level 1 was paged: it is level 2 that fails
    [unreached] = [m for m in report["missed"] if m["check"] == "level.unreachable"]
    assert (
        "level 2 (after 30m) reaches nobody: dev@corp.example has no channel" in unreached["text"]
    )
    assert any("dev@corp.example NOT reached" in e["text"] for e in report["timeline"])
    assert "level 2" in report["verdict"]


def test_email_reaches_people_only_where_this_watchkeeper_has_smtp(
    db_url: str, tmp_path: Path
) -> None:
    from watchkeeper.app import build
    from watchkeeper.clock import FixedClock
    from watchkeeper.settings import Settings

    app = build(Settings(db=db_url, smtp="127.0.0.1:9"), clock=FixedClock(T0))
    ops = _setup(app, tmp_path, level2="dev@corp.example")
    record = ops.rehearse("scorer")
    assert record["passed"], record["report"]["missed"]
    assert any(e["text"] == "dev@corp.example paged by email" for e in record["report"]["timeline"])
    app.close()


def test_a_signal_whose_window_outlasts_the_scenario_never_fills(
    app: Watchkeeper, tmp_path: Path
) -> None:
    ops = _setup(app, tmp_path, window="30d")
    record = ops.rehearse("scorer")
    assert not record["passed"]
    kinds = _kinds(record["report"])
    assert "signal.unfilled" in kinds and "rule.silent" in kinds
    unfilled = next(m for m in record["report"]["missed"] if m["check"] == "signal.unfilled")
    assert "window (30d) is longer than the 2w rehearsed" in unfilled["text"]


def test_a_runbook_without_a_drop_rule_fails_and_says_what_to_add(
    app: Watchkeeper, tmp_path: Path
) -> None:
    ops = _setup(app, tmp_path)
    text = (tmp_path / "scorer.yaml").read_text().replace("drop: 20%", "below: 0.1")
    (tmp_path / "scorer.yaml").write_text(text)
    Operations(app, "ana@corp.example", T0, enforce=False).apply([str(tmp_path / "scorer.yaml")])
    record = ops.rehearse("scorer")
    assert not record["passed"] and record["report"]["timeline"] == []
    assert _kinds(record["report"]) == ["scenario.inexpressible"]
    assert "no `drop:` rule" in record["report"]["verdict"]


@pytest.mark.parametrize(
    ("scenario", "rule"),
    [("drift", "input-drift"), ("upstream-break", "schema-break"), ("silence", "quiet")],
)
def test_each_scenario_pages_through_the_rule_it_aims_at(
    app: Watchkeeper, tmp_path: Path, scenario: str, rule: str
) -> None:
    ops = _setup(app, tmp_path)
    record = ops.rehearse("scorer", scenario)
    report = record["report"]
    assert record["passed"], report["missed"]
    assert report["rule"] == rule and report["scenario"] == scenario
    findings = [e["text"] for e in report["timeline"] if e["kind"] == "finding"]
    assert any(f"(rule {rule})" in text for text in findings)


def test_a_rehearsal_replays_the_systems_own_baseline_and_touches_nothing_else(
    app: Watchkeeper, tmp_path: Path
) -> None:
    ops = _setup(app, tmp_path)
    day = T0.replace(hour=0)
    items = [
        {
            "id": f"o{d}-{i}",
            "ts": (day + d * DAY + i * HOUR).isoformat(),
            "inputs": {"amount": 10.0 + i, "region": "north" if i % 2 else "south"},
            "output": "approve",
        }
        for d in range(15)
        for i in range(24)
    ]
    feedback = [{"observation_id": item["id"], "score": 0.8} for item in items]
    feeder = Operations(app, "ana@corp.example", day + 16 * DAY, enforce=False)
    feeder.ingest("scorer", items)
    feeder.feedback("scorer", feedback)
    before = _counts(app)
    audit_before = len(ops.audit("scorer", limit=1000))
    record = Operations(app, "ana@corp.example", day + 16 * DAY, enforce=True).rehearse("scorer")
    assert record["report"]["source"] == "history" and record["passed"], record["report"]
    assert _counts(app) == before
    entries = ops.audit("scorer", limit=1000)
    assert len(entries) == audit_before + 1 and entries[-1]["action"] == "runbook.rehearsed"
    assert ops.rehearsals("scorer")[0]["id"] == record["id"]


def test_bad_input_and_authority_are_refused_clearly(app: Watchkeeper, tmp_path: Path) -> None:
    ops = _setup(app, tmp_path)
    with pytest.raises(ActionError, match=re.escape("unknown scenario 'flood'")) as bad:
        ops.rehearse("scorer", "flood")
    assert bad.value.kind == "invalid"
    with pytest.raises(ActionError, match=re.escape("budget: 0.5 s is outside 1 to 600 s")):
        ops.rehearse("scorer", budget=0.5)
    with pytest.raises(ActionError) as missing:
        ops.rehearse("nope")
    assert missing.value.kind in ("not_found", "forbidden")
    with pytest.raises(ActionError) as stranger:
        Operations(app, "zed@corp.example", T0, enforce=True).rehearse("scorer")
    assert stranger.value.kind == "forbidden"
    with pytest.raises(ActionError, match="declare no system 'other'"):
        Operations(app, "ops@corp.example", T0, enforce=True).rehearse(
            "other", paths=[str(tmp_path / "people.yaml"), str(tmp_path / "scorer.yaml")]
        )
    assert ops.rehearsals("scorer") == []


def _counts(app: Watchkeeper) -> tuple[int, ...]:
    with app.store.read() as unit:
        return (
            len(unit.monitoring.findings("scorer", limit=100_000)),
            len(unit.alerting.incidents("scorer")),
            len(unit.alerting.deliveries(limit=100_000)),
            len(unit.ingest.observations("scorer", T0 - 400 * DAY, T0 + 400 * DAY)),
        )


DAY = __import__("datetime").timedelta(days=1)
HOUR = __import__("datetime").timedelta(hours=1)


def test_a_harmful_output_is_queued_judged_and_told_to_the_kill_authorities(
    app: Watchkeeper, tmp_path: Path
) -> None:
    ops = _setup(app, tmp_path)
    record = ops.rehearse("scorer", "harmful-output")
    report = record["report"]
    assert record["passed"], report["missed"]
    notes = [e for e in report["timeline"] if e["kind"] == "note"]
    assert "queued for triage by rule flagged" in notes[0]["text"]
    assert notes[1]["text"] == "ana@corp.example judges it HARMFUL (simulated)"
    assert notes[1]["after_s"] == notes[0]["after_s"] + 3600
    told = [e["text"] for e in report["timeline"] if e["kind"] == "page"]
    assert told == [
        "ana@corp.example told of the harmful output by webhook",
        "ben@corp.example told of the harmful output by slack",
    ]
    assert record["time_to_page_s"] == notes[1]["after_s"]


def test_a_harmful_output_no_rule_queues_is_reported(app: Watchkeeper, tmp_path: Path) -> None:
    ops = _setup(app, tmp_path)
    text = (tmp_path / "scorer.yaml").read_text()
    flagged = "{name: flagged, negative_feedback: true}"
    (tmp_path / "scorer.yaml").write_text(
        text.replace(flagged, "{name: broken, contract_violation: true}")
    )
    Operations(app, "ana@corp.example", T0, enforce=False).apply([str(tmp_path / "scorer.yaml")])
    record = ops.rehearse("scorer", "harmful-output")
    assert not record["passed"]
    assert _kinds(record["report"]) == ["triage.unqueued"]
    assert "negative_feedback: true" in record["report"]["verdict"]


def test_a_rehearsal_over_its_budget_stops_and_says_so(app: Watchkeeper, tmp_path: Path) -> None:
    from watchkeeper.charter import declared
    from watchkeeper.manifest import load_paths
    from watchkeeper.rehearsal import rehearse

    _setup(app, tmp_path)
    loaded = load_paths([str(tmp_path / "people.yaml"), str(tmp_path / "scorer.yaml")])
    seconds = iter(range(0, 10_000, 7))  # each look at the clock: seven seconds later

    def make(store, clock, http):  # type: ignore[no-untyped-def]
        from watchkeeper.app import Watchkeeper as App
        from watchkeeper.settings import Settings

        return App(Settings(db=str(store.engine.url)), store, clock, http)

    outcome = rehearse(
        loaded.systems[0], declared(loaded), "quality-drop", make=make, history=None,
        today=T0, budget=60, timer=lambda: float(next(seconds)),
    )  # fmt: skip
    assert not outcome.passed
    [exceeded] = [m for m in outcome.report["missed"] if m["check"] == "budget.exceeded"]
    assert "over its time budget" in exceeded["text"]


THIN = """\
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {name: thin}
spec:
  lifecycle: live
  charter: {owner: ana@corp.example, quality_monitor: ana@corp.example}
  runbook:
    signals:
      resolved: {from: output, kind: rate, match: "^resolved$", window: 1h}
    alerts:
      - {name: quality-drop, signal: resolved, drop: 20%, severity: critical}
    escalation:
      levels:
        - {after: 0m, notify: [ana@corp.example]}
"""


def test_an_alarm_budget_that_hides_the_drop_in_small_windows_is_named(
    app: Watchkeeper, tmp_path: Path
) -> None:
    """Twenty observations an hour: a 30% fall in the hourly share is beyond the rule but
    within the noise of twenty rows, so the check stays undecided window after window."""
    ops = _setup(app, tmp_path)
    (tmp_path / "thin.yaml").write_text(THIN)
    Operations(app, "ops@corp.example", T0, enforce=False).apply([str(tmp_path / "thin.yaml")])
    record = ops.rehearse("thin")
    [hidden] = [m for m in record["report"]["missed"] if m["check"] == "budget.hidden"]
    assert "but judged not beyond doubt at the alarm budget's share" in hidden["text"]
    assert "20 rows are too few to tell" in hidden["text"]
    # never paged, or paged only once a window happened to fall far enough: hours late
    assert record["time_to_page_s"] is None or record["time_to_page_s"] > 6 * 3600
