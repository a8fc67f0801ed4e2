"""The gate's `retention.six_months`: a system its manifest marks high-risk under the EU AI Act
keeps its logs at least six months (Art. 19(1), 26(6)); other systems have no minimum."""

from __future__ import annotations

import json
from typing import Any

import pytest

from watchkeeper.charter.gate import GateReport, evaluate
from watchkeeper.manifest import ManifestError, load_text
from watchkeeper.testing import T0

from .samples import PEOPLE, READY, all_acks, directory, manifest, rehearsed


def _report(marker: str | None, keep: str | None) -> GateReport:
    def edit(data: dict[str, Any]) -> None:
        if marker is not None:
            data["metadata"]["eu_ai_act"] = marker
        if keep is not None:
            data["spec"]["retention"] = {"keep": keep}

    system = manifest(edit)
    return evaluate(system, directory(), all_acks(system, T0), T0, rehearsed(system))


def _check(report: GateReport) -> Any:
    return next(c for c in report.checks if c.id == "retention.six_months")


@pytest.mark.parametrize("keep", ["182d", None, "26w", "30d"])  # None: the default 180d
def test_a_high_risk_system_keeping_less_than_six_months_fails_the_gate(keep: str | None) -> None:
    report = _report("high-risk", keep)
    check = _check(report)
    assert [c.id for c in report.failed()] == ["retention.six_months"] and not report.ready
    assert "183d" in check.fix and "Art. 19(1)" in check.fix and "26(6)" in check.fix
    assert "high-risk" in check.detail and "Art. 19(1)" in check.why


@pytest.mark.parametrize("keep", ["183d", "400d", "27w"])
def test_a_high_risk_system_keeping_six_months_or_more_passes(keep: str) -> None:
    report = _report("high-risk", keep)
    assert _check(report).passed and report.ready


@pytest.mark.parametrize("marker", [None, "limited", "minimal"])
def test_a_system_not_marked_high_risk_has_no_minimum(marker: str | None) -> None:
    report = _report(marker, "7d")
    check = _check(report)
    assert check.passed and report.ready
    assert "no minimum" in check.detail and (marker or "not marked") in check.detail


def test_the_marker_takes_only_the_act_s_classes_and_says_where() -> None:
    data = json.loads(json.dumps(READY))
    data["metadata"]["eu_ai_act"] = "high"
    with pytest.raises(ManifestError) as refused:
        load_text(json.dumps(data), known_people=PEOPLE)
    [problem] = refused.value.problems
    assert "eu_ai_act" in str(problem) and "high-risk" in str(problem)
