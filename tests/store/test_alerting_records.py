"""Alerting's repository hands out frozen records and takes every change through a method, so
the alerting shell never sets a stored attribute behind the store's back."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from watchkeeper.store import AlertRecord, IncidentRecord, SilenceRecord, Store
from watchkeeper.testing import T0

H = timedelta(hours=1)
FIRST_SEEN = {
    "status": "firing",
    "rule": "quality",
    "severity": "error",
    "summary": "quality fell",
    "evidence": {},
    "first_seen": T0,
    "last_seen": T0,
}


def test_an_alert_is_created_by_its_first_save_and_changed_by_later_ones(store: Store) -> None:
    with store.write() as unit:
        first = unit.alerting.save_alert(
            "bot", "bot/quality", **(FIRST_SEEN | {"status": "pending"})
        )
    with store.write() as unit:
        later = unit.alerting.save_alert("bot", "bot/quality", status="firing", last_seen=T0 + H)
    with store.read() as unit:
        stored = unit.alerting.alert("bot/quality")
    assert isinstance(first, AlertRecord) and first.status == "pending"
    assert later.id == first.id and stored == later
    assert (stored.status, stored.first_seen, stored.last_seen) == ("firing", T0, T0 + H)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.status = "resolved"  # type: ignore[misc]


def test_an_incident_is_opened_and_changed_through_the_repository(store: Store) -> None:
    with store.write() as unit:
        opened = unit.alerting.open_incident("bot", severity="error", title="quality", now=T0)
        unit.alerting.save_alert("bot", "bot/quality", **FIRST_SEEN, incident_id=opened.id)
    with store.write() as unit:
        acked = unit.alerting.update_incident(
            opened.id, status="acknowledged", acknowledged_at=T0 + H, acknowledged_by="ana"
        )
        unit.alerting.resolve_alerts(opened.id)
    with store.read() as unit:
        stored = unit.alerting.incident(opened.id)
        [alert] = unit.alerting.incident_alerts(opened.id)
    assert isinstance(opened, IncidentRecord)
    assert (opened.status, opened.escalation_from, opened.reopened) == ("triggered", T0, 0)
    assert stored == acked and acked.acknowledged_by == "ana"
    assert alert.status == "resolved"


def test_changing_an_incident_that_is_not_there_is_refused(store: Store) -> None:
    with store.write() as unit, pytest.raises(ValueError, match="no incident 404"):
        unit.alerting.update_incident(404, status="resolved")


def test_a_silence_is_added_with_its_id(store: Store) -> None:
    with store.write() as unit:
        added = unit.alerting.add_silence(
            "bot",
            kind="silence",
            matchers={"rule": "quality"},
            starts_at=T0,
            ends_at=T0 + H,
            created_by="ana",
            reason="retraining",
        )
    with store.read() as unit:
        assert unit.alerting.silences("bot") == [added]
    assert isinstance(added, SilenceRecord) and added.id > 0
