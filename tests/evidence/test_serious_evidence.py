"""A serious incident in the evidence bundle (EU AI Act Art. 73): its classification, the changes
made under its evidence hold with their justifications, and the gaps an auditor holds against
it — a report not sent by its deadline, a change nobody justified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.alerting._serious_world import DAY, OLGA, SYSTEM, H, as_, changed, open_clinic, write
from watchkeeper.app import Watchkeeper
from watchkeeper.evidence import verify
from watchkeeper.testing import T0


def export(app: Watchkeeper, at: Any) -> dict[str, Any]:
    return as_(app, OLGA, at).evidence(SYSTEM, T0 - 2 * DAY, at)


def art73(bundle: dict[str, Any]) -> dict[str, Any]:
    [row] = [r for r in bundle["mapping"] if r["ref"] == "Art. 73"]
    return row


def test_a_reported_incident_with_a_justified_change_is_evidence(
    app: Watchkeeper, tmp_path: Path
) -> None:
    incident = open_clinic(app, tmp_path)
    olga = as_(app, OLGA, T0 + H)
    olga.incident_serious(incident, "a")
    as_(app, OLGA, T0 + 2 * H).apply(
        [write(tmp_path, changed("Triage v2"))], justification="a typo in the title"
    )
    as_(app, OLGA, T0 + 3 * H).incident_report_submitted(incident, reference="MSA-1")
    bundle = export(app, T0 + 20 * DAY)
    assert verify(bundle)["ok"]
    [record] = [r for r in bundle["records"] if r["id"] == f"incident/{incident}"]
    assert record["data"]["serious"] and "gap" not in record
    [change] = record["data"]["hold_changes"]
    assert change["kind"] == "apply" and change["justification"] == "a typo in the title"
    kinds = [e["kind"] for e in record["data"]["timeline"]]
    assert "serious" in kinds and "report.submitted" in kinds and "hold.change" in kinds
    assert art73(bundle)["status"] == "evidenced" and art73(bundle)["records"] == [record["id"]]


def test_an_overdue_report_is_a_gap_not_evidence(app: Watchkeeper, tmp_path: Path) -> None:
    incident = open_clinic(app, tmp_path)
    as_(app, OLGA, T0 + H).incident_serious(incident, "b")  # due in 2 days (Art. 73(3))
    row = art73(export(app, T0 + 5 * DAY))
    assert row["status"] == "gap" and row["records"] == []
    assert row["gaps"] == [
        f"incident/{incident}: no report was recorded as sent by its deadline "
        f"{T0 + H + 2 * DAY:%Y-%m-%d %H:%M} UTC (Art. 73)"
    ]
