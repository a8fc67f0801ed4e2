"""Apply, acknowledge, deactivate and report against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from watchkeeper.access import Directory
from watchkeeper.app import Watchkeeper
from watchkeeper.audit import verify
from watchkeeper.charter.roles import vacancy
from watchkeeper.errors import ActionError
from watchkeeper.manifest import load_text
from watchkeeper.store import PersonRecord, TeamRecord
from watchkeeper.testing import T0

from .samples import PEOPLE, READY

PEOPLE_DOC = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [{"email": p, "name": p.split("@")[0]} for p in PEOPLE],
}


def load(system: dict[str, Any] | None = None, people: dict[str, Any] | None = None) -> Any:
    docs = [people or PEOPLE_DOC, system or READY]
    return load_text("\n---\n".join(json.dumps(d) for d in docs))


def ack_everyone(app: Watchkeeper, now: Any = T0) -> None:
    for person in PEOPLE:
        app.charter.acknowledge("bot", "all", person, now)


def test_apply_is_idempotent_and_keeps_versions(app: Watchkeeper) -> None:
    first = app.charter.apply(load(), "ops@corp.example", T0)
    assert [c.action for c in first] == ["created"] * 5
    again = app.charter.apply(load(), "ops@corp.example", T0 + timedelta(hours=1))
    assert [c.action for c in again] == ["unchanged"] * 5
    changed = json.loads(json.dumps(READY))
    changed["spec"]["care"]["hours_per_month"] = 12
    [*_, system_change] = app.charter.apply(load(changed), "ops@corp.example", T0)
    assert system_change.action == "updated"
    assert "spec.care.hours_per_month: 8.0 -> 12.0" in system_change.details
    with app.store.read() as unit:
        assert [v.version for v in unit.system_versions("bot")] == [1, 2]
        assert unit.system("bot").version == 2
        entries = unit.audit_entries()
    assert [e.action for e in entries].count("system.applied") == 2
    assert verify(entries).ok


def test_reassigning_a_role_voids_the_old_acknowledgement(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    ack_everyone(app)
    [status] = app.charter.status(T0)
    assert status["missing"] == []
    changed = json.loads(json.dumps(READY))
    changed["spec"]["charter"]["retraining_decider"] = "dev@corp.example"
    [*_, change] = app.charter.apply(load(changed), "ops", T0 + timedelta(days=1))
    assert any("retraining_decider by ben@corp.example voided" in d for d in change.details)
    [status] = app.charter.status(T0 + timedelta(days=1))
    assert status["missing"] == ["retraining_decider: dev@corp.example pending"]
    app.charter.apply(load(), "ops", T0 + timedelta(days=2))
    [status] = app.charter.status(T0 + timedelta(days=2))
    assert status["missing"] == ["retraining_decider: ben@corp.example pending"]


def test_only_holders_acknowledge(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    with pytest.raises(ActionError) as caught:
        app.charter.acknowledge("bot", "owner", "ben@corp.example", T0)
    assert caught.value.kind == "forbidden"
    assert "held by ana@corp.example" in caught.value.message
    with pytest.raises(ActionError) as unknown_role:
        app.charter.acknowledge("bot", "boss", "ana@corp.example", T0)
    assert unknown_role.value.kind == "invalid"
    with pytest.raises(ActionError) as unknown_system:
        app.charter.acknowledge("nope", "owner", "ana@corp.example", T0)
    assert unknown_system.value.kind == "not_found"
    states = app.charter.acknowledge("bot", "kill_authority", "dev@corp.example", T0)
    assert [(s.role, s.holder, s.ack) for s in states] == [
        ("kill_authority", "dev@corp.example", "acknowledged")
    ]


def test_attestation_expires_by_the_clock(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    ack_everyone(app)
    [fresh] = app.charter.vacuum(T0 + timedelta(days=89))
    assert "acks.fresh" not in {g.id for g in fresh.gaps}
    [stale] = app.charter.vacuum(T0 + timedelta(days=90))
    gap = next(g for g in stale.gaps if g.id == "acks.fresh")
    assert "owner ana@corp.example stale" in gap.detail
    app.charter.acknowledge("bot", "all", "ana@corp.example", T0 + timedelta(days=91))
    [renewed] = app.charter.status(T0 + timedelta(days=91))
    assert not any("ana" in m for m in renewed["missing"])


def test_deactivation_makes_roles_vacant_at_once(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    ack_everyone(app)
    [before] = app.charter.vacuum(T0)
    assert not before.critical
    left = T0 + timedelta(days=3)
    change = app.charter.deactivate("ana@corp.example", "ops", left)
    assert "now vacant: bot:owner, bot:quality_monitor, bot:kill_authority" in change.details
    [after] = app.charter.vacuum(left + timedelta(days=40))
    assert after.critical
    gaps = {g.id: g for g in after.gaps}
    assert "inactive" in gaps["owner.active"].detail
    # who held each vacant role and when they left: what the successor's finder needs
    assert gaps["roles.filled"].detail == (
        "vacant: owner (held by ana@corp.example, who left on 2026-01-08), "
        "quality_monitor (held by ana@corp.example, who left on 2026-01-08)"
    )
    [status] = app.charter.status(left + timedelta(days=40))
    assert "vacant: owner (held by ana@corp.example, who left on 2026-01-08)" in status["missing"]
    assert after.score < before.score


def test_people_manifest_with_active_false_deactivates(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    people = json.loads(json.dumps(PEOPLE_DOC))
    people["people"][1]["active"] = False
    changes = app.charter.apply(load(people=people), "ops", T0)
    ben = next(c for c in changes if c.name == "ben@corp.example")
    assert "now vacant: bot:retraining_decider" in ben.details
    [report] = app.charter.vacuum(T0)
    assert "vacant: retraining_decider (held by ben@corp.example, who left on 2026-01-05)" in {
        g.detail for g in report.gaps
    }


def active(app: Watchkeeper, email: str) -> bool:
    with app.store.read() as unit:
        person = unit.person(email)
    assert person is not None
    return person.active


def test_re_applying_people_does_not_undo_a_deactivation(app: Watchkeeper) -> None:
    """`wk people deactivate` wins over people.yaml until someone reverses it explicitly."""
    app.charter.apply(load(), "ops", T0)
    app.charter.deactivate("ana@corp.example", "ops", T0)
    renamed = json.loads(json.dumps(PEOPLE_DOC))
    renamed["people"][0]["name"] = "Ana A."
    changes = app.charter.apply(load(people=renamed), "ops", T0 + timedelta(days=1))
    ana = next(c for c in changes if c.name == "ana@corp.example")
    assert ana.action == "updated" and "name: ana -> Ana A." in ana.details
    [kept] = [d for d in ana.details if d.startswith("not reactivated")]
    assert "deactivated by ops" in kept and "wk people reactivate ana@corp.example" in kept
    assert not active(app, "ana@corp.example")
    again = app.charter.apply(load(people=renamed), "ops", T0 + timedelta(days=2))
    assert next(c for c in again if c.name == "ana@corp.example").action == "unchanged"
    assert not active(app, "ana@corp.example")

    back = app.charter.reactivate("ana@corp.example", "boss", T0 + timedelta(days=3))
    assert back.action == "updated" and active(app, "ana@corp.example")
    with app.store.read() as unit:
        entry = unit.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.target) == (
        "person.reactivated",
        "boss",
        "ana@corp.example",
    )
    assert app.charter.reactivate("ana@corp.example", "boss", T0).action == "unchanged"
    with pytest.raises(ActionError, match="no person"):
        app.charter.reactivate("nobody@corp.example", "boss", T0)


def test_people_yaml_may_reverse_its_own_deactivation(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    people = json.loads(json.dumps(PEOPLE_DOC))
    people["people"][1]["active"] = False
    app.charter.apply(load(people=people), "ops", T0)
    assert not active(app, "ben@corp.example")
    app.charter.apply(load(), "ops", T0)
    assert active(app, "ben@corp.example")


def test_bus_factor_moves_as_different_people_act(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    [nobody] = app.charter.vacuum(T0)
    assert next(g for g in nobody.gaps if g.id == "bus_factor").detail.startswith("0 person")
    app.charter.acknowledge("bot", "all", "ana@corp.example", T0)
    [one] = app.charter.vacuum(T0)
    assert next(g for g in one.gaps if g.id == "bus_factor").detail.startswith("1 person")
    app.charter.acknowledge("bot", "all", "ben@corp.example", T0)
    [two] = app.charter.vacuum(T0)
    assert "bus_factor" not in {g.id for g in two.gaps}
    [later] = app.charter.vacuum(T0 + timedelta(days=181))
    assert "bus_factor" in {g.id for g in later.gaps}


def test_review_due_since_go_live(app: Watchkeeper) -> None:
    app.charter.apply(load(), "ops", T0)
    [on_time] = app.charter.vacuum(T0 + timedelta(days=29))
    assert "review.on_time" not in {g.id for g in on_time.gaps}
    [late] = app.charter.vacuum(T0 + timedelta(days=35))
    gap = next(g for g in late.gaps if g.id == "review.on_time")
    assert gap.detail == "never reviewed, overdue by 5d"


def test_a_vacancy_says_who_held_it_or_that_nobody_was_named() -> None:
    charter = load().systems[0].spec.charter
    gone = PersonRecord("ana@corp.example", "Ana", False, left_at=T0)
    unknown_date = PersonRecord("ben@corp.example", "Ben", False)
    directory = Directory.of([gone, unknown_date], [TeamRecord("ops", ["ben@corp.example"])])
    assert vacancy(charter, "owner", directory) == (
        "owner (held by ana@corp.example, who left on 2026-01-05)"
    )
    assert vacancy(charter, "retraining_decider", directory) == (
        "retraining_decider (held by ben@corp.example, who left)"
    )
    team = charter.model_copy(update={"data_liaison": "ops"})
    assert vacancy(team, "data_liaison", directory) == (
        "data_liaison (team ops has no active member: ben@corp.example left)"
    )
    nobody = charter.model_copy(update={"data_liaison": None})
    assert vacancy(nobody, "data_liaison", directory) == "data_liaison (nobody named)"
