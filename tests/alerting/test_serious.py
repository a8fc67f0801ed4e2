"""Serious incidents under the EU AI Act through `Operations`, on both stores: classification by
Art. 3(49) and the deadline from awareness (Art. 73(2)-(4)), its reminders (the overdue one walks
the escalation path), the report's draft (Art. 73(5)) and its submission."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alerting._serious_world import (
    DAY,
    KIM,
    OLGA,
    PAT,
    SYSTEM,
    TESS,
    UMA,
    H,
    as_,
    audited,
    changed,
    events,
    observe,
    open_clinic,
    told,
    write,
)
from tests.conftest import SQLITE_ONLY
from watchkeeper.alerting.serious import CATEGORIES
from watchkeeper.app import Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.testing import T0


@pytest.fixture
def clinic(app: Watchkeeper, tmp_path: Path) -> int:
    return open_clinic(app, tmp_path)


def test_classifying_records_the_category_the_deadline_and_starts_the_hold(
    app: Watchkeeper, clinic: int
) -> None:
    aware = T0 - 2 * H
    row = as_(app, OLGA, T0 + H).incident_serious(clinic, "a", death=True, aware_at=aware)
    assert (row["serious"], row["serious_category"], row["serious_death"]) == (True, "a", True)
    assert row["serious_kind"] == "death" and row["hold"] is True
    assert row["aware_at"] == aware.isoformat()
    assert row["report_due"] == (aware + 10 * DAY).isoformat()
    [said] = events(app, clinic, "serious")
    assert (said["article"], said["deadline_article"]) == ("Art. 3(49)(a)", "Art. 73(4)")
    assert said["model_versions"] == ["v1"], "the versions in service when the hold starts"
    [entry] = audited(app, "incident.serious")
    assert entry["actor"] == OLGA and entry["after"]["report_due"] == row["report_due"]


@pytest.mark.parametrize(
    ("category", "death", "widespread", "basis", "days"),
    [
        ("d", False, False, "default", 15),
        ("c", False, True, "widespread", 2),
        ("b", False, False, "critical-infrastructure", 2),
        ("a", True, True, "widespread", 2),  # the shortest deadline that applies
        ("a", True, False, "death", 10),
        ("a", False, False, "default", 15),
    ],
)
@SQLITE_ONLY
def test_the_deadline_is_the_shortest_the_classification_calls_for(
    app: Watchkeeper,
    clinic: int,
    category: str,
    death: bool,
    widespread: bool,
    basis: str,
    days: int,
) -> None:
    row = as_(app, OLGA, T0 + H).incident_serious(clinic, category, death, widespread)
    assert row["serious_kind"] == basis
    assert row["report_due"] == (T0 + H + days * DAY).isoformat()


def test_awareness_may_precede_the_incident_and_stays_when_it_is_classified_again(
    app: Watchkeeper, clinic: int
) -> None:
    """A complaint may reach the deployer before any monitor does: the law counts from then."""
    earlier = T0 - 3 * DAY
    first = as_(app, OLGA, T0 + H).incident_serious(clinic, "d", aware_at=earlier)
    assert first["report_due"] == (earlier + 15 * DAY).isoformat()
    again = as_(app, OLGA, T0 + 2 * H).incident_serious(clinic, "b")
    assert again["aware_at"] == earlier.isoformat(), "recorded awareness is kept"
    assert again["report_due"] == (earlier + 2 * DAY).isoformat()
    assert [e["basis"] for e in events(app, clinic, "serious")] == [
        "default",
        "critical-infrastructure",
    ]


@pytest.mark.parametrize(
    ("category", "death", "aware_hours", "says"),
    [
        ("e", False, None, "unknown category 'e'"),
        ("b", True, None, "a death is category (a) of Art. 3(49)"),
        ("d", False, 1, "is in the future"),
    ],
)
@SQLITE_ONLY
def test_a_bad_classification_is_refused_and_changes_nothing(
    app: Watchkeeper, clinic: int, category: str, death: bool, aware_hours: int | None, says: str
) -> None:
    aware = T0 + H + aware_hours * H if aware_hours else None
    with pytest.raises(ActionError) as refused:
        as_(app, OLGA, T0 + H).incident_serious(clinic, category, death, aware_at=aware)
    assert refused.value.kind == "invalid" and says in refused.value.message
    assert as_(app, OLGA, T0 + H).incident(clinic)["serious"] is False
    assert events(app, clinic, "serious") == []


@SQLITE_ONLY
def test_a_stranger_may_not_classify_nor_record_a_report(app: Watchkeeper, clinic: int) -> None:
    stranger = as_(app, UMA, T0 + H)
    for act in (
        lambda: stranger.incident_serious(clinic, "d"),
        lambda: stranger.incident_report_submitted(clinic),
        lambda: stranger.incident_justify(clinic, 1, "because"),
    ):
        with pytest.raises(ActionError) as refused:
            act()
        assert refused.value.kind == "forbidden"


def test_due_soon_tells_the_owner_and_kill_authority_overdue_walks_the_whole_path(
    app: Watchkeeper, clinic: int
) -> None:
    as_(app, OLGA, T0).incident_serious(clinic, "d")  # due T0 + 15 days
    before = told(app, clinic, "serious")
    assert before == set()
    assert app.alerting.remind_serious(T0 + 12 * DAY - H, SYSTEM) == 0
    assert app.alerting.remind_serious(T0 + 12 * DAY, SYSTEM) == 1
    assert told(app, clinic, "serious") == {OLGA, KIM}
    assert app.alerting.remind_serious(T0 + 15 * DAY, SYSTEM) == 1
    assert told(app, clinic, "serious") == {OLGA, KIM, PAT, TESS}, "every level's people"
    assert app.alerting.remind_serious(T0 + 16 * DAY, SYSTEM) == 0, "each is said once"
    soon, overdue = events(app, clinic, "serious.reminder")
    assert (soon["stage"], soon["notify"]) == ("due-soon", [OLGA, KIM])
    assert (overdue["stage"], overdue["notify"]) == ("overdue", [OLGA, KIM, "oncall"])
    assert overdue["due"] == (T0 + 15 * DAY).isoformat()
    shown = as_(app, OLGA, T0 + 16 * DAY).incident(clinic)["timeline"]
    assert [e["kind"] for e in shown].count("serious.reminder") == 2


def test_a_new_deadline_is_reminded_of_again(app: Watchkeeper, clinic: int) -> None:
    as_(app, OLGA, T0).incident_serious(clinic, "d")
    assert app.alerting.remind_serious(T0 + 12 * DAY, SYSTEM) == 1
    as_(app, OLGA, T0 + 12 * DAY).incident_serious(clinic, "d", widespread=True)  # due T0 + 2d
    assert app.alerting.remind_serious(T0 + 12 * DAY + H, SYSTEM) == 1
    stages = [(e["stage"], e["due"]) for e in events(app, clinic, "serious.reminder")]
    assert stages == [
        ("due-soon", (T0 + 15 * DAY).isoformat()),
        ("overdue", (T0 + 2 * DAY).isoformat()),
    ]


def test_a_submitted_report_meets_the_deadline_and_stops_the_reminders(
    app: Watchkeeper, clinic: int
) -> None:
    as_(app, OLGA, T0).incident_serious(clinic, "d")
    sent = as_(app, OLGA, T0 + 5 * DAY).incident_report_submitted(clinic, reference="MSA-42")
    assert sent["reported_at"] == (T0 + 5 * DAY).isoformat() and sent["report_complete_at"] is None
    assert app.alerting.remind_serious(T0 + 16 * DAY, SYSTEM) == 0
    assert events(app, clinic, "serious.reminder") == []
    complete = as_(app, OLGA, T0 + 20 * DAY).incident_report_submitted(clinic, complete=True)
    assert complete["reported_at"] == sent["reported_at"], "the first report met the deadline"
    assert complete["report_complete_at"] == (T0 + 20 * DAY).isoformat()
    initial, final = events(app, clinic, "report.submitted")
    assert (initial["report"], initial["reference"], initial["on_time"]) == (
        "initial",
        "MSA-42",
        True,
    )
    assert (final["report"], final["on_time"], final["_actor"]) == ("complete", False, OLGA)
    assert [e["after"]["report"] for e in audited(app, "incident.report.submitted")] == [
        "initial",
        "complete",
    ]


@SQLITE_ONLY
def test_an_incident_not_classified_serious_has_no_report(app: Watchkeeper, clinic: int) -> None:
    for act in (
        lambda: as_(app, OLGA, T0).incident_report(clinic),
        lambda: as_(app, OLGA, T0).incident_report_submitted(clinic),
    ):
        with pytest.raises(ActionError) as refused:
            act()
        assert refused.value.kind == "conflict" and "--category" in refused.value.message
    assert audited(app, "incident.report.submitted") == []


def test_the_draft_says_what_the_authority_needs_and_what_is_missing(
    app: Watchkeeper, clinic: int, tmp_path: Path
) -> None:
    olga = as_(app, OLGA, T0 + H)
    olga.incident_serious(clinic, "a", death=True, aware_at=T0 - 2 * H)
    as_(app, KIM, T0 + 2 * H).set_switch(SYSTEM, "disabled", "ranking urgent cases last")
    as_(app, OLGA, T0 + 3 * H).apply([write(tmp_path, changed("Triage v2"))], "fix the ranking")
    observe(app, "o2", "v2", T0 + 4 * H)
    draft = as_(app, OLGA, T0 + 5 * H).incident_report(clinic)

    assert (draft["incident"], draft["report"], draft["report_article"]) == (
        clinic,
        "initial",
        "Art. 73(5)",
    )
    assert draft["system"]["eu_ai_act"] == "high-risk" and draft["system"]["manifest_version"] == 2
    assert {(c["role"], c["name"]) for c in draft["contacts"]} >= {
        ("owner", "Olga Owner"),
        ("kill_authority", "Kim Kill"),
    }
    c = draft["classification"]
    assert (c["article"], c["meaning"], c["death"]) == ("Art. 3(49)(a)", CATEGORIES["a"], True)
    assert (c["deadline_article"], c["deadline_days"]) == ("Art. 73(4)", 10)
    assert draft["report_due"] == (T0 - 2 * H + 10 * DAY).isoformat() and not draft["overdue"]
    assert [a["rule"] for a in draft["alerts"]] == ["harm"] and draft["findings"]
    measures = draft["corrective_measures"]
    assert [(f["state"], f["by"]) for f in measures["switch"]] == [("disabled", KIM)]
    assert [m["kind"] for m in measures["playbooks"]] == ["playbook"]
    changes = draft["hold"]["changes"]
    assert [(h["kind"], h["justification"]) for h in changes] == [
        ("apply", "fix the ranking"),
        ("model_version", None),
    ]
    unjustified = changes[1]["change"]
    assert any(f"change #{unjustified} under the evidence hold" in g for g in draft["gaps"])
    assert any("still open" in g for g in draft["gaps"])
    text = draft["text"]
    for said in (
        "Serious incident report (initial, EU AI Act Art. 73(5))",
        f"Category Art. 3(49)(a): {CATEGORIES['a']}",
        "10 days from awareness (Art. 73(4))",
        "Olga Owner <olga@corp.example>",
        "switch disabled by kim@corp.example: ranking urgent cases last",
        "justified: fix the ranking",
        "new model version 'v2' seen in observations",
        "NOT JUSTIFIED",
        "## To follow",
    ):
        assert said in text, said

    complete = as_(app, OLGA, T0 + 5 * H).incident_report(clinic, complete=True)
    assert complete["report"] == "complete" and "## To complete before sending" in complete["text"]


def test_a_complete_report_of_a_closed_incident_lacks_only_what_watchkeeper_does_not_keep(
    app: Watchkeeper, clinic: int
) -> None:
    olga = as_(app, OLGA, T0 + H)
    olga.incident_serious(clinic, "d")
    observe(app, "o2", "v2", T0 + 2 * H)
    [change] = events(app, clinic, "hold.change")
    olga.incident_justify(clinic, change["change"], "the vendor's hotfix, kept for the record")
    olga.incident_resolve(clinic, "model rolled back")
    fields = {"summary": "ranking inverted", "impact": "a day", "root_causes": ["a bad export"]}
    olga.postmortem(clinic, "Inverted ranking", fields)
    draft = olga.incident_report(clinic, complete=True)
    assert draft["status"] == "resolved"
    assert [r["kind"] for r in draft["corrective_measures"]["records"]] == ["postmortem"]
    [gap] = draft["gaps"]
    assert "legal name and address" in gap and "Art. 73(1)" in gap
