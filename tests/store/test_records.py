"""What leaves the store is a frozen record, and every change is a repository method: a service
holding a record cannot change the database by setting its attributes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from watchkeeper.store import Store, Unit
from watchkeeper.testing import T0

H = timedelta(hours=1)


def fill(unit: Unit) -> None:
    """One of everything care, triage, ingest and the monitor keep, for system `bot`."""
    unit.care.add_eval_run(
        "bot",
        "golden",
        started_at=T0,
        actor="ana@corp.example",
        trigger="manual",
        model_version="v1",
        dataset_sha256="0" * 64,
        pass_rate=0.5,
        mean_score=0.5,
        run={"cases": []},
    )
    unit.care.add_review(
        "bot", verdict="healthy", notes="", report={}, by="ana@corp.example", now=T0
    )
    unit.care.add_care_entry(
        "bot", hours=2, kind="maintenance", note="", by="ana@corp.example", now=T0
    )
    unit.care.add_knowledge(
        "bot", "near-miss", title="t", fields={}, status="recorded", by="ana", now=T0
    )
    unit.care.queue_triage_item(
        "bot",
        "o1",
        observed_at=T0,
        rule="manual",
        condition="flag",
        reason="looks off",
        priority=5,
        assignee="qa-team",
        snapshot={"output": "hi"},
        now=T0,
    )
    unit.ingest.add_dead_letters("bot", "api", [(3, {"id": "x"}, "no ts")], T0)
    finding = {
        "system": "bot",
        "fingerprint": "f",
        "check": "threshold",
        "subject": "s",
        "rule": "low",
        "severity": "error",
        "summary": "low",
        "window_start": T0,
        "window_end": T0 + H,
        "evidence": {},
    }
    unit.monitoring.save_findings([finding], T0 + H)


def reads(unit: Unit) -> dict[str, list[Any]]:
    return {
        "eval_runs": unit.care.eval_runs("bot"),
        "reviews": unit.care.reviews("bot"),
        "care_entries": unit.care.care_entries("bot"),
        "knowledge": unit.care.knowledge("bot"),
        "triage_items": unit.care.triage_items("bot"),
        "dead_letters": unit.ingest.dead_letters("bot"),
        "unalerted_findings": unit.monitoring.unalerted_findings("bot"),
    }


def test_every_read_hands_out_frozen_records(store: Store) -> None:
    with store.write() as unit:
        fill(unit)
    with store.read() as unit:
        found = reads(unit)
    for name, records in found.items():
        [record] = records
        assert dataclasses.is_dataclass(record) and not isinstance(record, type), name
        first = dataclasses.fields(record)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, first, None)
    assert found["triage_items"][0].tags == [] and found["triage_items"][0].status == "open"
    assert found["dead_letters"][0].to_dict() == {
        "id": found["dead_letters"][0].id,
        "received_at": T0.isoformat(),
        "source": "api",
        "index": 3,
        "reason": "no ts",
        "raw": {"id": "x"},
    }


def test_changes_go_through_the_repository_and_show_in_later_reads(store: Store) -> None:
    with store.write() as unit:
        fill(unit)
        [item] = unit.care.triage_items("bot")
        judged = unit.care.set_triage_verdict(
            item.id,
            verdict="wrong",
            label="refusal",
            tags=["over-apology"],
            note="no",
            by="qa@corp.example",
            now=T0 + H,
        )
        second = unit.care.add_knowledge(
            "bot", "near-miss", title="u", fields={}, status="recorded", by="ana", now=T0
        )
        other_kind = unit.care.add_knowledge(
            "bot", "decision", title="d", fields={}, status="pending", by="ana", now=T0
        )
    assert (second.number, other_kind.number) == (2, 1), "numbered per system and kind"
    with store.read() as unit:
        assert unit.care.triage_item(item.id) == judged
        assert unit.care.triage_items("bot", status="open") == []
    assert (judged.status, judged.verdict, judged.reviewed_by) == (
        "done",
        "wrong",
        "qa@corp.example",
    )
    assert judged.tags == ["over-apology"] and judged.reviewed_at == T0 + H
    with store.write() as unit:
        closed = unit.care.close_decision(
            "bot", 1, title="d", fields={"decision": "x"}, by="ben", now=T0 + H
        )
        with pytest.raises(ValueError):
            unit.care.close_decision("bot", 9, title="d", fields={}, by="ben", now=T0)
        with pytest.raises(ValueError):
            unit.care.set_triage_verdict(
                999, verdict="ok", label=None, tags=[], note=None, by="qa", now=T0
            )
    with store.read() as unit:
        assert unit.care.knowledge_record("bot", "decision", 1) == closed
    assert (closed.status, closed.closed_by, closed.fields) == ("decided", "ben", {"decision": "x"})
