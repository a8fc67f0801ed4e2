"""The six-month story end to end: every event is caught and reaches the right person."""

from __future__ import annotations

import copy
import io
import os
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from watchkeeper.audit import AuditSeal, chain_key
from watchkeeper.charter import CharterService
from watchkeeper.cli.demo import run
from watchkeeper.cli.demo.story import DAYS, START
from watchkeeper.evidence import EvidenceService, read, render, to_zip, verify
from watchkeeper.store import Store

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

END = START + timedelta(days=DAYS)
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts" / "evidence"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str]]:
    workspace = tmp_path_factory.mktemp("story")
    console = Console(record=True, width=140, file=open(os.devnull, "w"))  # noqa: SIM115
    cwd = os.getcwd()
    try:
        assert run(workspace, console) == 0
    finally:
        os.chdir(cwd)
    store = Store.open(f"sqlite:///{workspace / '.watchkeeper' / 'watchkeeper.db'}")
    yield store, console.export_text()
    store.close()


def deliveries(store: Store, purpose: str) -> list[Any]:
    with store.read() as unit:
        return [
            d
            for d in unit.alerting.deliveries(limit=100_000)
            if d.purpose == purpose and d.status == "ok"
        ]


def test_upstream_rename_reaches_the_contact_and_the_liaison(story: tuple[Store, str]) -> None:
    store, text = story
    notices = deliveries(store, "upstream")
    assert {d.recipient for d in notices} == {"dana@corp.example", "gus@corp.example"}
    assert any("merchant_category" in d.title and "mcc" in d.title for d in notices)
    assert "renamed 'merchant_category' -> 'mcc'?" in text


def test_slow_decline_caught_as_a_trend_before_the_drop(story: tuple[Store, str]) -> None:
    store, _ = story
    with store.read() as unit:
        found = [f.to_dict() for f in unit.monitoring.findings("fraud-model", limit=10_000)]
    trend = min(f["created_at"] for f in found if f["check"] == "trend")
    drop = min(f["created_at"] for f in found if f["check"] == "drop")
    assert trend < drop
    bound = 0.72
    with store.read() as unit:
        series = unit.monitoring.signal_series("fraud-model", "precision_at_review")
    at_trend = [v for s, e, v, n in series if e.isoformat() <= trend and v is not None][-1]
    assert at_trend > bound, "flagged before the healthy bound was crossed"


def test_drop_escalates_to_level_two_then_acknowledged_and_decided(
    story: tuple[Store, str],
) -> None:
    store, _ = story
    with store.read() as unit:
        [incident] = [i for i in unit.alerting.incidents("fraud-model") if i.severity == "critical"]
        pages = [
            d for d in unit.alerting.deliveries(incident_id=incident.id) if d.purpose == "page"
        ]
        [decision] = unit.care.knowledge("fraud-model", "decision")
    raised = incident.escalation_from
    level1 = [d for d in pages if d.at == raised]
    level2 = [d for d in pages if (d.at - raised).total_seconds() == 1800]
    assert {d.recipient for d in level1} == {"gus@corp.example"}
    assert {d.recipient for d in level2} == {"ivy@corp.example"}
    assert incident.acknowledged_by == "ivy@corp.example"
    assert decision.status == "decided" and decision.closed_by == "hana@corp.example"
    assert decision.assigned_to == "hana@corp.example"


def test_owner_leaves_and_a_successor_acknowledges(story: tuple[Store, str]) -> None:
    store, _ = story
    with store.read() as unit:
        entries = unit.audit_entries(system=None)
        fay = unit.person("fay@corp.example")
        acks = unit.acks("fraud-model")
    assert fay is not None and not fay.active
    assert any(e.action == "person.updated" and e.target == "fay@corp.example" for e in entries)
    assert any(a.role == "owner" and a.holder == "hana@corp.example" for a in acks)


def test_harmful_output_disables_then_restores_with_a_postmortem(story: tuple[Store, str]) -> None:
    store, text = story
    told = {d.recipient for d in deliveries(store, "harmful")}
    assert told == {"ana@corp.example", "dev@corp.example"}
    with store.read() as unit:
        flips = [e for e in unit.audit_entries(system="support-assistant")
                 if e.action == "switch.changed"]  # fmt: skip
        [postmortem] = unit.care.knowledge("support-assistant", "postmortem")
    assert [(e.actor, e.after["state"]) for e in flips] == [
        ("dev@corp.example", "disabled"),
        ("dev@corp.example", "enabled"),
    ]
    assert "routed to the human queue (fallback)" in text
    assert postmortem.title == "Harmful refund advice"


def test_reviews_kept_for_one_system_and_escalated_for_another(story: tuple[Store, str]) -> None:
    store, _ = story
    with store.read() as unit:
        assert len(unit.care.reviews("fraud-model")) >= 5
        assert unit.care.reviews("claims-triage") == []
    escalated = [d for d in deliveries(store, "review") if "escalated" in d.title]
    assert any(d.recipient == "ops@corp.example" and "claims-triage" in d.title for d in escalated)


def test_weekly_evals_with_a_regression_diff_and_care(story: tuple[Store, str]) -> None:
    store, text = story
    with store.read() as unit:
        runs = unit.care.eval_runs("support-assistant", "golden", limit=100)
    assert len(runs) >= 25
    assert "regressed: billing-" in text


def test_final_vacuum_report_tells_the_systems_apart(story: tuple[Store, str]) -> None:
    store, text = story
    reports = {r.system: r for r in CharterService(store).vacuum(END)}
    assert reports["fraud-model"].gaps == [] and reports["fraud-model"].owner == "hana@corp.example"
    claims = {g.id: g for g in reports["claims-triage"].gaps}
    assert claims["roles.filled"].severity == "critical"
    assert claims["care.budget_used"].detail.startswith("6 month(s) running")
    assert "review.on_time" in claims and "bus_factor" in claims
    support = {g.id for g in reports["support-assistant"].gaps}
    assert support == {"review.on_time", "triage.current"}
    assert "Open the dashboard on this data" in text


def test_each_runbook_is_rehearsed_at_go_live_and_claims_triage_fails(
    story: tuple[Store, str],
) -> None:
    store, text = story
    with store.read() as unit:
        last = unit.rehearsals.last(["support-assistant", "fraud-model", "claims-triage"])
    passed = {name: latest.passed for name, (latest, _) in last.items()}
    assert passed == {"support-assistant": True, "fraud-model": True, "claims-triage": False}
    claims = last["claims-triage"][0]
    assert claims.report["missed"][0]["check"] == "scenario.inexpressible"
    assert "$ wk rehearse claims-triage people.yaml claims-triage.yaml" in text
    reports = {r.system: r for r in CharterService(store).vacuum(END)}
    gap = next(g for g in reports["claims-triage"].gaps if g.id == "runbook.rehearsed")
    assert "FAILED: cannot rehearse: the runbook has no `drop:` rule" in gap.detail


# The story injects exactly these causes; each becomes one alert that pages its system's people.
INJECTED = {
    ("fraud-model", "upstream-break"),  # the rename
    ("fraud-model", "precision-trend"),  # the slow decline
    ("fraud-model", "precision-drop"),  # and the drop it ends in
    ("support-assistant", "quality-drop"),  # the model update that breaks billing answers
}


def test_nothing_else_pages_anyone(story: tuple[Store, str]) -> None:
    """Sampling noise is no page: no drift on support-assistant's inputs (which never drift),
    no page from claims-triage (whose approve rate never moves), and every incident that paged
    anyone holds only alerts of injected causes."""
    store, _ = story
    with store.read() as unit:
        support = unit.monitoring.findings("support-assistant", limit=100_000)
        claims = unit.monitoring.findings("claims-triage", limit=100_000)
        paging = {d.incident_id for d in deliveries(store, "page")}
        causes = {
            (a.system, a.rule)
            for incident in paging
            if incident is not None
            for a in unit.alerting.incident_alerts(incident)
        }
    assert [f for f in support if f.check == "drift"] == []
    assert [f for f in claims if f.rule is not None] == []
    assert causes == INJECTED


def test_no_cause_flaps(story: tuple[Store, str]) -> None:
    """Each injected cause opens one incident once: none resolves and opens again."""
    store, _ = story
    with store.read() as unit:
        incidents = [i for s in ("fraud-model", "support-assistant", "claims-triage")
                     for i in unit.alerting.incidents(s)]  # fmt: skip
        opened: dict[tuple[str, str], set[int]] = {}
        for incident in incidents:
            for a in unit.alerting.incident_alerts(incident.id):
                opened.setdefault((a.system, a.rule), set()).add(incident.id)
    assert all(len(ids) == 1 for ids in opened.values()), opened
    assert all(i.reopened == 0 for i in incidents)


# --- the evidence bundle of the six months (issue 20) -------------------------------------------

OBLIGATIONS = {
    "NIST AI RMF 1.0": {
        "GOVERN 1.5", "GOVERN 2.1", "GOVERN 2.3", "GOVERN 3.2", "GOVERN 4.3", "GOVERN 6.2",
        "MEASURE 2.4", "MEASURE 3.1", "MEASURE 3.3", "MEASURE 4.3",
        "MANAGE 1.1", "MANAGE 2.2", "MANAGE 2.3", "MANAGE 2.4", "MANAGE 4.1", "MANAGE 4.3",
    },
    "EU AI Act": {
        "Art. 9", "Art. 12", "Art. 14(4)(e)", "Art. 26(5)", "Art. 26(6)", "Art. 72", "Art. 73",
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def bundle(story: tuple[Store, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """support-assistant's six months and the week before go-live, exported from a copy of the
    story's database (the export is audited: the story's own chain stays as the other tests read
    it), sealed with the demo's secret as its server seals it."""
    store, _ = story
    copy = tmp_path_factory.mktemp("evidence") / "wk.db"
    source = sqlite3.connect(str(store.engine.url.database))
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    exported = Store.open(f"sqlite:///{copy}")
    exported.seal_audit(AuditSeal(key=chain_key("demo")))
    try:
        return EvidenceService(exported).export(
            "support-assistant", START - timedelta(days=7), END, "auditor@corp.example", END
        )
    finally:
        exported.close()


def test_the_story_bundle_verifies_and_answers_every_obligation(bundle: dict[str, Any]) -> None:
    result = verify(bundle, chain_key("demo"))
    assert result["ok"], result["reason"]
    assert result["checked"]["unkeyed_hmacs"] == 0 and result["checked"]["entries"] > 50
    refs = {f: {r["ref"] for r in bundle["mapping"] if r["framework"] == f} for f in OBLIGATIONS}
    assert refs == OBLIGATIONS
    ids = {r["id"] for r in bundle["records"]}
    for row in bundle["mapping"]:
        assert set(row["records"]) <= ids
        assert row["records"] or row["status"] == "no evidence in this period", row["ref"]
    kinds = {r["kind"] for r in bundle["records"]}
    assert {"manifest", "plan", "gate", "ack", "finding", "incident", "knowledge", "care",
            "switch", "triage", "eval", "rehearsal", "chain"} <= kinds  # fmt: skip
    flips = [r for r in bundle["records"] if r["kind"] == "switch"]
    assert [f["data"]["state"] for f in flips] == ["disabled", "enabled"]
    entries = {e["seq"]: e for e in bundle["chain"]["entries"]}
    assert all(entries[f["audit"][0]]["action"] == "switch.changed" for f in flips)
    [serious] = [r for r in bundle["mapping"] if r["ref"] == "Art. 73"]
    assert serious["status"] == "no evidence in this period"  # no incident was classified


def test_altering_one_record_or_audit_entry_is_named(bundle: dict[str, Any]) -> None:
    altered = copy.deepcopy(bundle)
    [postmortem] = [r for r in altered["records"] if r["id"].startswith("postmortem/")]
    postmortem["data"]["fields"]["summary"] = "nothing happened"
    result = verify(altered, chain_key("demo"))
    assert not result["ok"] and result["altered"] == postmortem["id"]
    assert postmortem["id"] in result["reason"] and "altered" in result["reason"]

    altered = copy.deepcopy(bundle)
    [flip] = [r for r in altered["records"] if r["id"] == "switch/v1"]
    [entry] = [e for e in altered["chain"]["entries"] if e["seq"] == flip["audit"][0]]
    entry["reason"] = "routine maintenance"
    result = verify(altered, chain_key("demo"))
    assert result["altered"] == f"audit/{entry['seq']}"
    assert "cited by switch/v1" in result["reason"]


def test_the_zip_holds_every_record_and_names_a_file_changed_inside(
    bundle: dict[str, Any],
) -> None:
    data = to_zip(bundle, render(bundle))
    again, problems = read(data, "bundle.zip")
    assert problems == [] and again == bundle and verify(again, chain_key("demo"))["ok"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    assert sum(n.startswith("records/") for n in files) == len(bundle["records"])
    name = next(n for n in files if n.startswith("records/incident/"))
    files[name] = files[name].replace(b'"severity"', b'"Severity"')
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w") as archive:
        for n, body in files.items():
            archive.writestr(n, body)
    _, problems = read(rebuilt.getvalue(), "bundle.zip")
    assert problems and problems[0] == f"{name} was altered: its SHA-256 differs from SHA256SUMS"


def test_the_html_reads_offline_in_a_browser(
    bundle: dict[str, Any],
    chromium: Any,
    tmp_path: Path,
) -> None:
    page_file = tmp_path / "evidence.html"
    page_file.write_text(render(bundle), encoding="utf-8")
    page = chromium.new_context(viewport={"width": 1366, "height": 900}).new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(page_file.as_uri())
    assert fetched == [page_file.as_uri()]  # nothing but the file itself
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "evidence-top.png"))
    assert page.get_by_role("heading", name="Obligations and the evidence for them").is_visible()
    for refs in OBLIGATIONS.values():
        for ref in refs:
            assert page.get_by_role("cell", name=ref, exact=True).count() == 1, ref
    row = page.locator("tr", has=page.get_by_role("cell", name="MANAGE 2.4", exact=True))
    row.get_by_role("link").last.click()
    assert page.evaluate("location.hash").startswith("#rec-switch-v")
    assert page.locator(":target").is_visible()
    assert page.get_by_text("no evidence in this period").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "evidence-record.png"))
