"""The readiness rubric: each check fails on exactly the gap it names, and passes when fixed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from watchkeeper.charter import CHECK_IDS, declared, evaluate_all
from watchkeeper.charter.gate import evaluate
from watchkeeper.manifest import load_text
from watchkeeper.testing import T0

from .samples import PEOPLE, READY, all_acks, directory, manifest, rehearsed


def test_ready_manifest_passes_every_check() -> None:
    system = manifest()
    report = evaluate(system, directory(), all_acks(system, T0), T0)
    assert [c.id for c in report.checks] == list(CHECK_IDS)
    assert report.ready and report.score == 100
    assert all(c.why for c in report.checks)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return edit


BREAKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "charter.owner": _set("spec.charter.owner", None),
    "charter.quality_monitor": _set("spec.charter.quality_monitor", None),
    "charter.retraining_decider": _set("spec.charter.retraining_decider", None),
    "charter.data_liaison": _set("spec.charter.data_liaison", None),
    "charter.kill_authority": _set("spec.charter.kill_authority", []),
    "charter.two_kill_authorities": _set("spec.charter.kill_authority", ["ana@corp.example"]),
    "runbook.healthy": _set("spec.runbook.healthy", None),
    "runbook.drop_alert": _set("spec.runbook.alerts.0.drop", None),
    "runbook.escalation": _set(
        "spec.runbook.escalation.levels", [{"notify": ["ana@corp.example"]}]
    ),
    "runbook.playbooks": _set("spec.runbook.alerts.0.playbook", None),
    "upstream.contracts": _set("spec.upstream.0.contact", None),
    "evals.scheduled": _set("spec.evals.0.every", None),
    "care.budget": _set("spec.care.hours_per_month", 0),
    "kill_switch.defined": _set("spec.kill_switch.fallback", None),
    "retention.six_months": lambda data: data.update(
        metadata={**data["metadata"], "eu_ai_act": "high-risk"},
        spec={**data["spec"], "retention": "90d"},
    ),
}


@pytest.mark.parametrize("check_id", sorted(BREAKS))
def test_each_check_fails_on_its_gap(check_id: str) -> None:
    system = manifest(BREAKS[check_id])
    report = evaluate(system, directory(), all_acks(system, T0), T0)
    failed = {c.id for c in report.failed()}
    expected = {check_id}
    if check_id == "charter.kill_authority":
        expected.add("charter.two_kill_authorities")
    if check_id == "runbook.playbooks":
        expected.add("runbook.drop_alert")
    assert failed == expected
    assert not report.ready and report.score < 100
    for check in report.failed():
        assert check.fix, check.id


def test_every_check_id_has_a_breaking_case() -> None:
    # These two read the store; test_gate_rehearsed.py breaks the rehearsal check.
    assert set(BREAKS) | {"charter.acknowledged", "runbook.rehearsed"} == set(CHECK_IDS)


def test_acknowledgement_check() -> None:
    system = manifest()
    acks = all_acks(system, T0)
    report = evaluate(system, directory(), acks[1:], T0)
    [failed] = report.failed()
    assert failed.id == "charter.acknowledged"
    assert "owner pending" in failed.detail
    assert "ana@corp.example runs `wk ack bot all`" in failed.fix


def test_acknowledgements_expire_after_attest_every() -> None:
    system = manifest()
    acks = all_acks(system, T0)
    just_before = evaluate(
        system, directory(), acks, T0 + timedelta(days=90) - timedelta(seconds=1)
    )
    assert just_before.ready
    expired = evaluate(system, directory(), acks, T0 + timedelta(days=90))
    assert [c.id for c in expired.failed()] == ["charter.acknowledged"]
    assert "stale" in expired.failed()[0].detail


def test_inactive_owner_fails_and_low_tier_needs_one_authority() -> None:
    system = manifest(_set("metadata.tier", "low"))
    gone = evaluate(system, directory(inactive=("ana@corp.example",)), all_acks(system, T0), T0)
    assert {c.id for c in gone.failed()} == {"charter.owner", "charter.quality_monitor"}
    single = manifest(
        lambda d: (
            _set("metadata.tier", "low")(d),
            _set("spec.charter.kill_authority", ["dev@corp.example"])(d),
        )
    )
    assert evaluate(single, directory(), all_acks(single, T0), T0).ready


def test_team_counts_while_it_has_an_active_member() -> None:
    system = manifest(_set("spec.charter.quality_monitor", "team-a"))
    acks = all_acks(system, T0)
    active_team = directory(teams={"team-a": ["ben@corp.example"]})
    assert evaluate(system, active_team, acks, T0).ready
    empty_team = directory(inactive=("ben@corp.example",), teams={"team-a": ["ben@corp.example"]})
    failed = {c.id for c in evaluate(system, empty_team, acks, T0).failed()}
    assert "charter.quality_monitor" in failed


def test_escalation_must_reach_beyond_the_owner() -> None:
    only_owner = _set(
        "spec.runbook.escalation.levels",
        [{"notify": ["ana@corp.example"]}, {"after": "1h", "notify": ["ana@corp.example"]}],
    )
    system = manifest(only_owner)
    report = evaluate(system, directory(), all_acks(system, T0), T0)
    assert [c.id for c in report.failed()] == ["runbook.escalation"]


OWNER, OTHER = "ana@corp.example", "ben@corp.example"


@pytest.mark.parametrize(
    ("levels", "passes"),
    [
        ([[OWNER], [OTHER]], True),
        ([[OTHER], [OWNER]], True),
        ([[OWNER], [OWNER, OTHER]], True),
        ([[OWNER], ["team-a"]], True),  # team-a's member ben is not the owner
        ([[OTHER]], False),  # one level, even one beyond the owner, dies with that person
        ([[OWNER, OTHER]], False),
        ([[OWNER], [OWNER]], False),
        ([["team-a"], ["team-a"]], True),
        ([], False),
    ],
)
def test_escalation_needs_two_levels_and_someone_besides_the_owner(
    levels: list[list[str]], passes: bool
) -> None:
    path = [{"after": f"{30 * i}m", "notify": refs} for i, refs in enumerate(levels)]
    system = manifest(_set("spec.runbook.escalation.levels", path))
    assert _escalation(system, {"team-a": [OTHER]}).passed is passes


def test_a_team_of_only_the_owner_reaches_only_the_owner() -> None:
    path = [{"notify": [OWNER]}, {"after": "30m", "notify": ["team-a"]}]
    system = manifest(_set("spec.runbook.escalation.levels", path))
    check = _escalation(system, {"team-a": [OWNER]})
    assert not check.passed and check.detail == f"2 level(s), reaching {OWNER}"


def _escalation(system: Any, teams: dict[str, list[str]]) -> Any:
    report = evaluate(system, directory(teams=teams), all_acks(system, T0), T0)
    return next(c for c in report.checks if c.id == "runbook.escalation")


def test_acknowledgements_not_read_are_not_checked_rather_than_failed() -> None:
    system = manifest()
    report = evaluate(system, directory(), None, T0, rehearsed(system))
    [unchecked] = report.not_checked()
    assert unchecked.id == "charter.acknowledged" and not unchecked.checked
    assert "without --offline" in unchecked.detail
    assert report.failed() == [] and report.ready and report.score == 100
    assert unchecked.to_dict()["passed"] is None and unchecked.to_dict()["fix"] == ""
    assert report.to_dict()["not_checked"] == ["charter.acknowledged"]


def test_a_check_not_checked_hides_no_other_failure_nor_counts_in_the_score() -> None:
    system = manifest(BREAKS["kill_switch.defined"])  # weight 2 of 25 (27 with acknowledgements)
    offline = evaluate(system, directory(), None, T0)
    assert [c.id for c in offline.failed()] == ["kill_switch.defined"] and not offline.ready
    assert offline.score == 92  # 23/25
    online = evaluate(system, directory(), all_acks(system, T0), T0, rehearsed(system))
    assert online.score == 93  # 27/29


def test_the_gate_of_files_alone_judges_by_the_people_they_declare() -> None:
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [{"email": p, "active": p != OTHER} for p in PEOPLE],
    }
    loaded = load_text(json.dumps(people) + "\n---\n" + json.dumps(READY))
    [report] = evaluate_all(loaded, declared(loaded), None, T0)
    assert [c.id for c in report.failed()] == ["charter.retraining_decider"]
    assert [c.id for c in report.not_checked()] == ["charter.acknowledged", "runbook.rehearsed"]


def test_a_system_without_recorded_acknowledgements_has_all_pending() -> None:
    system = manifest()
    other = manifest(_set("metadata.name", "other"))
    loaded = load_text(
        "\n---\n".join(
            json.dumps(s.model_dump(mode="json", by_alias=True)) for s in (system, other)
        ),
        known_people=PEOPLE,
    )
    ready, pending = evaluate_all(
        loaded, directory(), {"bot": all_acks(system, T0)}, T0, {"bot": rehearsed(system)}
    )
    assert ready.ready and not pending.not_checked()
    assert [c.id for c in pending.failed()] == ["charter.acknowledged", "runbook.rehearsed"]
