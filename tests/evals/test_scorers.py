"""Built-in scorers, the registry (built-in and custom, with options), and label metrics."""

from __future__ import annotations

import math
from typing import Any

import pytest

from watchkeeper.errors import ActionError
from watchkeeper.evals import (
    BUILTIN_SCORERS,
    Case,
    EvalError,
    Score,
    get_scorer,
    label_metrics,
)
from watchkeeper.evals.scorers import contains, exact_match, json_valid, numeric_close, regex

from .samples import WriteModule

CASE = Case("c1", {"q": "?"}, None)


def test_score_refuses_values_outside_the_unit_interval() -> None:
    for value in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match=r"within \[0, 1\]"):
            Score(value, False)


# --- exact_match ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected", "options", "passed"),
    [
        ("refund", "refund", {}, True),
        ("refund\n", "refund", {}, True),
        ("refund\n", "refund", {"strip": False}, False),
        ("Refund", "refund", {}, False),
        ("Refund", "refund", {"ignore_case": True}, True),
        ({"a": [1, 2]}, {"a": [1, 2]}, {}, True),
        ((1, 2), [1, 2], {}, True),
        (True, 1, {}, False),
        ([True], [1], {}, False),
        (1, 1.0, {}, True),
        (None, "refund", {}, False),
        (42, "42", {}, False),
    ],
)
def test_exact_match(output: Any, expected: Any, options: dict[str, Any], passed: bool) -> None:
    score = exact_match(output, expected, CASE, **options)
    assert (score.passed, score.value) == (passed, 1.0 if passed else 0.0)
    if not passed:
        assert repr(expected) in score.detail and repr(output) in score.detail


# --- contains ------------------------------------------------------------------------------


def test_contains_scores_the_share_of_phrases_found() -> None:
    assert contains("Your refund is on its way", "refund", CASE) == Score(1.0, True)
    half = contains("Your refund is on its way", ["refund", "5 days"], CASE)
    assert (half.value, half.passed, half.detail) == (0.5, False, "missing '5 days'")
    assert contains("REFUND issued", "refund", CASE, ignore_case=True).passed


@pytest.mark.parametrize("output", [None, 42, {"text": "refund"}])
def test_contains_fails_output_that_is_not_text(output: Any) -> None:
    score = contains(output, "refund", CASE)
    assert not score.passed and "not text" in score.detail


def test_contains_refuses_an_expected_value_it_cannot_search_for() -> None:
    with pytest.raises(ValueError, match="string or a list of strings"):
        contains("text", 42, CASE)
    with pytest.raises(ValueError, match="string or a list of strings"):
        contains("text", [], CASE)


# --- regex ---------------------------------------------------------------------------------


def test_regex_reads_the_expected_value_as_the_pattern() -> None:
    assert regex("Order #1234 shipped", r"#\d{4}", CASE).passed
    failed = regex("Order shipped", r"#\d{4}", CASE)
    assert not failed.passed and r"/#\d{4}/" in failed.detail


def test_regex_options_pattern_case_and_full_match() -> None:
    scorer = get_scorer("regex", {"pattern": r"ticket-\d+", "ignore_case": True})
    assert scorer("TICKET-12", "ignored", CASE).passed
    assert not get_scorer("regex", {"fullmatch": True})("ab", "a", CASE).passed
    assert get_scorer("regex", {"fullmatch": True})("ab", "a.", CASE).passed


@pytest.mark.parametrize("output", [None, 3.5, ["a"]])
def test_regex_fails_output_that_is_not_text(output: Any) -> None:
    score = regex(output, "a", CASE)
    assert not score.passed and "not text" in score.detail


def test_an_invalid_regex_in_a_case_cannot_be_scored() -> None:
    with pytest.raises(ValueError, match=r"invalid regex '\(unclosed'"):
        regex("text", "(unclosed", CASE)
    with pytest.raises(ValueError, match="needs a pattern"):
        regex("text", None, CASE)


def test_an_invalid_regex_in_the_config_fails_before_any_case_runs() -> None:
    with pytest.raises(EvalError) as caught:
        get_scorer("regex", {"pattern": "[a-"})
    assert caught.value.problems[0].startswith("scorer 'regex': option 'pattern' is not valid")


# --- json_valid ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected", "passed", "detail"),
    [
        ('{"intent": "refund"}', None, True, ""),
        ({"intent": "refund"}, None, True, ""),
        ('{"intent": "refund"}', {"intent": "refund"}, True, ""),
        ('{"intent": "refund"}', {"intent": "invoice"}, False, "valid JSON, but expected"),
        ('{"intent": ', None, False, "not JSON"),
        ("NaN", None, False, "NaN is not JSON"),
        ({1, 2}, None, False, "a set, which is not JSON"),
        (None, None, False, "no output"),
    ],
)
def test_json_valid(output: Any, expected: Any, passed: bool, detail: str) -> None:
    score = json_valid(output, expected, CASE)
    assert score.passed is passed and detail in score.detail


# --- numeric_close -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected", "options", "passed"),
    [
        (42, 42, {}, True),
        ("42.0\n", 42, {}, True),
        (100.5, 100, {}, False),
        (100.5, 100, {"rel_tol": 0.01}, True),
        (0.0001, 0, {}, False),
        (0.0001, 0, {"abs_tol": 0.001}, True),
        (True, 1, {}, False),
        (None, 1, {}, False),
        ("about 42", 42, {}, False),
        (math.nan, 1, {}, False),
    ],
)
def test_numeric_close(output: Any, expected: Any, options: dict[str, Any], passed: bool) -> None:
    assert numeric_close(output, expected, CASE, **options).passed is passed


def test_numeric_close_says_how_far_off_it_was() -> None:
    detail = numeric_close(105, 100, CASE, rel_tol=0.01).detail
    assert detail == "105 is 5 from 100 (allowed 1.05)"


def test_numeric_close_refuses_an_expected_value_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="needs a number as expected value, not 'n/a'"):
        numeric_close(1, "n/a", CASE)


@pytest.mark.parametrize("value", [-0.1, "0.1", None, math.inf, True])
def test_tolerances_are_checked_when_the_scorer_is_looked_up(value: Any) -> None:
    with pytest.raises(EvalError, match="option 'rel_tol' must be a number of at least 0"):
        get_scorer("numeric_close", {"rel_tol": value})


# --- the registry --------------------------------------------------------------------------


def test_every_built_in_is_registered_under_its_name() -> None:
    assert BUILTIN_SCORERS == ("contains", "exact_match", "json_valid", "numeric_close", "regex")
    for name in BUILTIN_SCORERS:
        assert get_scorer(name).name == name
    assert [n for n in BUILTIN_SCORERS if get_scorer(n).labels] == ["exact_match"]


def test_an_unknown_scorer_is_named_with_the_built_ins() -> None:
    with pytest.raises(EvalError) as caught:
        get_scorer("exact")
    assert isinstance(caught.value, ActionError) and caught.value.kind == "invalid"
    assert caught.value.problems == (
        "unknown scorer 'exact': the built-ins are contains, exact_match, json_valid, "
        "numeric_close, regex; a custom scorer is given as module:function",
    )


def test_an_unknown_option_names_the_options_the_scorer_takes() -> None:
    with pytest.raises(EvalError, match="its options are rel_tol, abs_tol"):
        get_scorer("numeric_close", {"tolerance": 0.1})
    with pytest.raises(EvalError, match="it takes no options"):
        get_scorer("json_valid", {"strict": True})
    with pytest.raises(EvalError, match="option 'strip' must be true or false, not 'yes'"):
        get_scorer("exact_match", {"strip": "yes"})


def test_options_are_bound_and_kept_for_the_run_record() -> None:
    scorer = get_scorer("numeric_close", {"abs_tol": 0.5})
    assert scorer(1.4, 1, CASE).passed and scorer.options == {"abs_tol": 0.5}


JUDGES = """
from watchkeeper.evals import Score

def as_float(output, expected, case):
    return {"good": 0.9, "meh": 0.5, "bad": 0.2}[output]

def as_bool(output, expected, case):
    return output == expected

def as_score(output, expected, case, *, bonus=0.0):
    return Score(min(1.0, 0.5 + bonus), True, f"judged {case.id}")

def too_big(output, expected, case):
    return 3

def text(output, expected, case):
    return "fine"

def two_args(output, expected):
    return True
"""


def test_custom_scorers_return_a_float_a_bool_or_a_score(write_module: WriteModule) -> None:
    path = write_module("judges.py", JUDGES)
    found = [path.parent]
    as_float = get_scorer("judges:as_float", search_path=found)
    assert as_float("good", None, CASE) == Score(0.9, True)
    assert as_float("meh", None, CASE) == Score(0.5, True)
    assert as_float("bad", None, CASE) == Score(0.2, False)
    assert get_scorer("judges:as_bool", search_path=found)("a", "a", CASE) == Score(1.0, True)
    assert get_scorer("judges:as_bool", search_path=found)("a", "b", CASE) == Score(0.0, False)
    judged = get_scorer("judges:as_score", {"bonus": 0.25}, search_path=found)
    assert judged("x", "y", CASE) == Score(0.75, True, "judged c1")
    assert not judged.labels


def test_a_custom_scorer_returning_nonsense_fails_when_called(write_module: WriteModule) -> None:
    found = [write_module("judges.py", JUDGES).parent]
    with pytest.raises(ValueError, match=r"'judges:too_big' returned 3.0, outside \[0, 1\]"):
        get_scorer("judges:too_big", search_path=found)("x", "y", CASE)
    with pytest.raises(TypeError, match="returned a str; expected a Score, bool or float"):
        get_scorer("judges:text", search_path=found)("x", "y", CASE)


def test_a_custom_scorer_must_take_output_expected_and_case(write_module: WriteModule) -> None:
    found = [write_module("judges.py", JUDGES).parent]
    with pytest.raises(EvalError, match=r"cannot be called as \(output, expected, case\)"):
        get_scorer("judges:two_args", search_path=found)
    with pytest.raises(EvalError, match=r"scorer 'judges:nope'.* has no attribute 'nope'"):
        get_scorer("judges:nope", search_path=found)


# --- label metrics -------------------------------------------------------------------------


def test_label_metrics_on_a_known_confusion_matrix() -> None:
    # expected \ predicted   cat  dog  bird  (none)
    #   cat (4)                3    1     0     0
    #   dog (2)                1    1     0     0
    #   bird (4)               0    1     2     1
    expected = ["cat", "cat", "cat", "dog", "dog", "bird", "bird", "bird", "bird", "cat"]
    predicted = ["cat", "cat", "dog", "dog", "cat", "bird", "bird", "dog", None, "cat"]
    metrics = label_metrics(expected, predicted)
    per_label = {s.label: (s.precision, s.recall, s.f1, s.support) for s in metrics.per_label}
    assert [s.label for s in metrics.per_label] == ["bird", "cat", "dog"]
    assert per_label["cat"] == pytest.approx((3 / 4, 3 / 4, 3 / 4, 4))
    assert per_label["dog"] == pytest.approx((1 / 3, 1 / 2, 2 / 5, 2))
    assert per_label["bird"] == pytest.approx((2 / 2, 2 / 4, 2 / 3, 4))
    assert metrics.accuracy == pytest.approx(6 / 10)
    assert metrics.macro_precision == pytest.approx(25 / 36)
    assert metrics.macro_recall == pytest.approx(7 / 12)
    assert metrics.macro_f1 == pytest.approx(109 / 180)


def test_an_invented_label_counts_against_the_macro_average() -> None:
    metrics = label_metrics(["a", "a"], ["a", "z"])
    assert [(s.label, s.precision, s.recall, s.support) for s in metrics.per_label] == [
        ("a", 1.0, 0.5, 2),
        ("z", 0.0, 0.0, 0),
    ]
    assert metrics.macro_f1 == pytest.approx((2 / 3 + 0) / 2)


def test_true_and_one_are_different_labels() -> None:
    metrics = label_metrics([True, 1], [1, True])
    assert metrics.accuracy == 0.0 and len(metrics.per_label) == 2


def test_label_metrics_need_one_prediction_per_case() -> None:
    with pytest.raises(ValueError, match="2 expected labels but 1 predictions"):
        label_metrics(["a", "b"], ["a"])
    assert label_metrics([], []).accuracy == 0.0
