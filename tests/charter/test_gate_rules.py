"""The gate's rules that its scores and its JSON promise, each stated once (docs/mutation.md says
which surviving mutants showed them unpinned): the weights the README documents, that a
critical-tier system needs two kill authorities as a high one does, that any care budget above
zero counts, and the report's shape that CI reads from `wk gate --json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from watchkeeper.charter import CHECK_IDS
from watchkeeper.charter.gate import GateReport, evaluate
from watchkeeper.manifest import SystemManifest
from watchkeeper.testing import T0

from .samples import all_acks, directory, manifest, rehearsed

# README, "The readiness gate": owner 3; roles, acknowledgements, healthy, drop alert, escalation,
# rehearsal and kill switch 2; the rest 1. "Roles" are the four questions and, for a high tier,
# the second kill authority.
DOCUMENTED_WEIGHTS = {
    "charter.owner": 3,
    "charter.quality_monitor": 2,
    "charter.retraining_decider": 2,
    "charter.data_liaison": 2,
    "charter.kill_authority": 2,
    "charter.two_kill_authorities": 2,
    "charter.acknowledged": 2,
    "runbook.healthy": 2,
    "runbook.drop_alert": 2,
    "runbook.escalation": 2,
    "runbook.playbooks": 1,
    "runbook.rehearsed": 2,
    "upstream.contracts": 1,
    "evals.scheduled": 1,
    "care.budget": 1,
    "kill_switch.defined": 2,
    "retention.six_months": 1,
}


def _edit(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return edit


def _report(system: SystemManifest, store_read: bool = True) -> GateReport:
    """As a gate that read the store (acknowledgements and rehearsals), or an offline one."""
    if not store_read:
        return evaluate(system, directory(), None, T0, None)
    return evaluate(system, directory(), all_acks(system, T0), T0, rehearsed(system))


def _check(report: GateReport, check_id: str) -> Any:
    return next(c for c in report.checks if c.id == check_id)


def test_every_check_weighs_what_the_readme_says_read_or_not() -> None:
    assert set(DOCUMENTED_WEIGHTS) == set(CHECK_IDS)
    for store_read in (True, False):
        report = _report(manifest(), store_read)
        assert {c.id: c.weight for c in report.checks} == DOCUMENTED_WEIGHTS


# Each edit fails exactly the one check named (test_gate.py's BREAKS shows which edits do).
SINGLE_FAILURES = {
    "charter.owner": _edit("spec.charter.owner", None),
    "charter.data_liaison": _edit("spec.charter.data_liaison", None),
    "evals.scheduled": lambda data: data["spec"]["evals"][0].pop("every"),
    "kill_switch.defined": _edit("spec.kill_switch.fallback", None),
}


@pytest.mark.parametrize("check_id", sorted(SINGLE_FAILURES))
def test_the_score_is_the_weighted_share_of_checks_passed(check_id: str) -> None:
    report = _report(manifest(SINGLE_FAILURES[check_id]))
    assert [c.id for c in report.failed()] == [check_id]
    total = sum(DOCUMENTED_WEIGHTS.values())
    assert report.score == round(100 * (total - DOCUMENTED_WEIGHTS[check_id]) / total)


@pytest.mark.parametrize(
    ("tier", "needs_two"), [("critical", True), ("high", True), ("medium", False), ("low", False)]
)
def test_a_critical_tier_needs_two_kill_authorities_as_a_high_one_does(
    tier: str, needs_two: bool
) -> None:
    def one_authority(data: dict[str, Any]) -> None:
        _edit("metadata.tier", tier)(data)
        _edit("spec.charter.kill_authority", ["ana@corp.example"])(data)

    check = _check(_report(manifest(one_authority)), "charter.two_kill_authorities")
    assert check.passed is not needs_two


@pytest.mark.parametrize(("hours", "passes"), [(0, False), (0.5, True), (1, True)])
def test_any_care_budget_above_zero_counts(hours: float, passes: bool) -> None:
    check = _check(_report(manifest(_edit("spec.care.hours_per_month", hours))), "care.budget")
    assert check.passed is passes


def test_the_json_names_the_system_and_every_check_blocks_go_live() -> None:
    """`wk gate --json` is what CI reads; a failed gate check is never a mere warning (ready
    means every check passes), so each says it is critical."""
    report = _report(manifest(SINGLE_FAILURES["evals.scheduled"]))
    data = report.to_dict()
    assert data == {
        "system": "bot",
        "ready": False,
        "score": report.score,
        "not_checked": [],
        "checks": [c.to_dict() for c in report.checks],
    }
    assert {c.severity for c in report.checks} == {"critical"}
