"""The regression diff: which cases flipped since the previous run, by tag."""

from __future__ import annotations

import json
from typing import Any

import pytest

from watchkeeper.evals import (
    EvalRun,
    get_scorer,
    import_target,
    load_dataset,
    regression_diff,
    run_suite,
)
from watchkeeper.testing import T0

from .samples import EXAMPLES, dataset

EXACT = get_scorer("exact_match")
BILLING = [
    "billing-refund-1",
    "billing-refund-2",
    "billing-double-1",
    "billing-double-2",
    "billing-payment-1",
    "billing-payment-2",
    "billing-invoice-1",
    "billing-invoice-2",
]


def echo(value: Any) -> Any:
    return value


def _example_run(function: str) -> EvalRun:
    target = import_target(f"support_bot:{function}", [EXAMPLES])
    return run_suite(load_dataset(EXAMPLES / "golden.jsonl"), target, EXACT, now=T0)


@pytest.fixture(scope="module")
def released() -> EvalRun:
    return _example_run("answer")


@pytest.fixture(scope="module")
def regressed() -> EvalRun:
    return _example_run("answer_regressed")


def test_the_example_target_gets_most_cases_right(released: EvalRun) -> None:
    summary = released.summary
    assert (summary.count, summary.passed, summary.errors) == (26, 24, 0)
    assert [c.id for c in released.cases if not c.passed] == [
        "shipping-track-3",
        "account-password-3",
    ]
    assert summary.labels is not None and summary.labels.accuracy == pytest.approx(24 / 26)
    assert released.target == "support_bot:answer"


def test_a_regressed_callable_lists_exactly_the_flipped_cases_by_tag(
    released: EvalRun, regressed: EvalRun
) -> None:
    diff = regression_diff(released, regressed)
    assert [flip.id for flip in diff.regressions] == BILLING
    assert [flip.id for flip in diff.fixes] == ["shipping-track-3"]
    assert {tag: (g.regressions, g.fixes) for tag, g in diff.by_tag.items()} == {
        "billing": (tuple(BILLING), ()),
        "shipping": ((), ("shipping-track-3",)),
        "urgent": (("billing-double-1", "billing-payment-2"), ()),
    }
    refund = diff.regressions[0]
    assert (refund.before.output, refund.after.output) == ("refund", "other")
    assert refund.tags == ("billing",)
    assert (diff.added, diff.removed, diff.changed, diff.dataset_changed) == ((), (), (), False)
    assert diff.deltas["pass_rate[billing]"] == -1.0
    assert diff.deltas["pass_rate[shipping]"] == pytest.approx(1 / 9)
    assert diff.deltas["pass_rate"] == pytest.approx((17 - 24) / 26)
    assert diff.deltas["macro_f1"] < 0


def test_the_previous_run_may_come_back_from_storage(released: EvalRun, regressed: EvalRun) -> None:
    stored = json.loads(json.dumps(released.to_dict()))
    assert regression_diff(stored, regressed) == regression_diff(released, regressed)
    as_json = json.loads(json.dumps(regression_diff(stored, regressed).to_dict()))
    assert as_json["by_tag"]["urgent"]["regressions"] == ["billing-double-1", "billing-payment-2"]
    assert as_json["regressions"][0]["after"]["output"] == "other"


def test_the_same_target_twice_has_nothing_to_report(released: EvalRun) -> None:
    diff = regression_diff(released, _example_run("answer"))
    assert (diff.regressions, diff.fixes, diff.by_tag) == ((), (), {})
    assert set(diff.deltas.values()) == {0.0}


def test_edited_added_and_removed_cases_are_not_flips() -> None:
    before = run_suite(
        dataset(("same", "a", "a"), ("edited", "b", "b"), ("gone", "c", "c"), ("loose", "d", "d")),
        {"a": "a", "b": "b", "c": "c", "d": "?"}.get,
        EXACT,
        now=T0,
    )
    after = run_suite(
        dataset(("same", "a", "a"), ("edited", "b", "B"), ("new", "e", "e"), ("loose", "d", "d")),
        echo,
        EXACT,
        now=T0,
    )
    diff = regression_diff(before, after)
    assert ([f.id for f in diff.regressions], [f.id for f in diff.fixes]) == ([], ["loose"])
    assert list(diff.by_tag) == ["(untagged)"] and diff.by_tag["(untagged)"].fixes == ("loose",)
    assert (diff.changed, diff.added, diff.removed) == (("edited",), ("new",), ("gone",))
