import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.monitor.drift import column_drift
from watchkeeper.monitor.profiles import (
    CategoricalProfile,
    NumericProfile,
    exact_sums,
    from_dict,
    merge,
    merge_all,
    profile,
    profile_drift,
    reference_edges,
)

EDGES = reference_edges(np.random.default_rng(0).normal(0, 1, 5000))
any_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e3, 1e3),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(any_float, max_size=80), st.lists(any_float, max_size=80))
def test_merging_profiles_equals_profiling_all_rows_exactly(a: list[float], b: list[float]) -> None:
    first, second = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
    together = profile(np.concatenate([first, second]), edges=EDGES)
    merged = merge(profile(first, edges=EDGES), profile(second, edges=EDGES))
    assert merged == together
    assert merge(profile(second, edges=EDGES), profile(first, edges=EDGES)) == together


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=3) | st.none(), max_size=50), st.integers(0, 50))
def test_categorical_profiles_merge_by_adding_counts(values: list, cut: int) -> None:
    array = np.array(values, dtype=object)
    merged = merge(
        profile(array[:cut], kind="categorical"), profile(array[cut:], kind="categorical")
    )
    assert merged == profile(array, kind="categorical")


def test_sums_are_exact_for_extreme_values() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=3000) * 10.0 ** rng.integers(-300, 300, size=3000)
    values = np.concatenate([values, [5e-324, -5e-324, 1.7e308, -1.7e308, 0.0]])
    total, squares = exact_sums(values)
    assert total == sum(map(Fraction, values.tolist()))
    assert squares == sum(Fraction(v) ** 2 for v in values.tolist())


def test_many_windows_merge_in_any_order() -> None:
    rng = np.random.default_rng(2)
    data = rng.gamma(2, 3, 10_000)
    windows = [profile(chunk, edges=EDGES) for chunk in np.array_split(data, 17)]
    whole = profile(data, edges=EDGES)
    assert merge_all(windows) == whole
    assert merge_all(reversed(windows)) == whole
    assert isinstance(whole, NumericProfile)
    assert whole.mean == pytest.approx(np.mean(data)) and whole.std == pytest.approx(np.std(data))


def test_profiles_round_trip_through_json() -> None:
    rng = np.random.default_rng(3)
    numbers = np.append(rng.normal(size=500), [np.nan, np.inf])
    words = np.array(["a", "b", None, "a"], dtype=object)
    for original in (profile(numbers), profile(words), profile(np.array([np.nan]), edges=EDGES)):
        assert from_dict(json.loads(json.dumps(original.to_dict(), allow_nan=False))) == original
    with pytest.raises(ValueError, match="unknown profile kind"):
        from_dict({"kind": "text"})


def test_nulls_nan_and_infinities_are_counted_apart() -> None:
    numeric = profile(np.array([1.0, np.nan, np.inf, -np.inf, 2.0]), edges=EDGES)
    assert isinstance(numeric, NumericProfile)
    assert (numeric.count, numeric.null_count, numeric.min, numeric.max) == (2, 3, 1.0, 2.0)
    assert numeric.sum == 3 and sum(numeric.bins) == 2
    categorical = profile(np.array(["x", None, float("nan"), 3], dtype=object))
    assert categorical == CategoricalProfile({"x": 1, "3": 1}, 2)


def test_categorical_profile_drift_equals_drift_on_rows() -> None:
    rng = np.random.default_rng(4)
    ref = rng.choice(np.array(list("abcd"), dtype=object), 4000, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(np.array(list("abce"), dtype=object), 3000, p=[0.25, 0.25, 0.25, 0.25])
    from_rows = column_drift("c", ref, cur)
    from_profiles = profile_drift("c", profile(ref), profile(cur))
    assert from_profiles.score == pytest.approx(from_rows.score)
    assert from_profiles.drifted == from_rows.drifted
    assert from_profiles.detail["unseen_categories"] == ["e"]


@pytest.mark.parametrize(
    ("make_ref", "make_cur"),
    [
        (lambda r: r.normal(0, 1, 50_000), lambda r: r.normal(0.1, 1, 50_000)),
        (lambda r: r.lognormal(0, 1, 50_000), lambda r: r.lognormal(0.2, 1, 50_000)),
        (lambda r: r.exponential(1, 50_000), lambda r: r.exponential(1.15, 50_000)),
        (lambda r: r.normal(0, 1, 50_000), lambda r: r.normal(0, 1, 50_000)),
    ],
)
def test_binned_wasserstein_stays_close_to_the_exact_distance(make_ref, make_cur) -> None:
    rng = np.random.default_rng(5)
    ref, cur = make_ref(rng), make_cur(rng)
    reference = profile(ref)
    binned = profile_drift("x", reference, profile(cur, edges=reference.edges))
    exact = column_drift("x", ref, cur)
    assert binned.method == exact.method == "wasserstein"
    assert binned.score == pytest.approx(exact.score, rel=0.02, abs=0.002)
    assert binned.drifted == exact.drifted


def test_small_reference_profiles_use_binned_ks() -> None:
    rng = np.random.default_rng(6)
    reference = profile(rng.normal(0, 1, 800))
    same = profile_drift("x", reference, profile(rng.normal(0, 1, 800), edges=reference.edges))
    moved = profile_drift("x", reference, profile(rng.normal(0.4, 1, 800), edges=reference.edges))
    assert same.method == moved.method == "ks"
    assert same.drifted is False and moved.drifted is True


def test_profile_drift_offers_psi_and_jensenshannon_on_the_bins() -> None:
    rng = np.random.default_rng(7)
    reference = profile(rng.normal(0, 1, 20_000))
    current = profile(rng.normal(1, 1, 20_000), edges=reference.edges)
    for method in ("psi", "jensenshannon"):
        assert profile_drift("x", reference, current, method=method).drifted


def test_empty_windows_get_no_verdict() -> None:
    reference = profile(np.arange(100.0))
    empty = profile(np.array([np.nan, np.nan]), edges=reference.edges)
    result = profile_drift("x", reference, empty)
    assert result.drifted is None and result.detail["reason"] == "current has no values"
    assert result.detail["current_null_rate"] == 1.0


def test_incompatible_profiles_are_refused() -> None:
    a = profile(np.arange(10.0))
    b = profile(np.arange(20.0))
    words = profile(np.array(["a"], dtype=object))
    with pytest.raises(ValueError, match="same bin edges"):
        merge(a, b)
    with pytest.raises(ValueError, match="same bin edges"):
        profile_drift("x", a, b)
    with pytest.raises(ValueError, match="cannot merge"):
        merge(a, words)
    with pytest.raises(ValueError, match="cannot compare"):
        profile_drift("x", a, words)
    with pytest.raises(ValueError, match="not available on numeric profiles"):
        profile_drift("x", a, a, method="chisquare")
    with pytest.raises(ValueError, match="strictly increasing"):
        profile(np.arange(3.0), edges=[1.0, 1.0])
    with pytest.raises(ValueError, match="no finite values"):
        reference_edges(np.array([np.nan]))


def test_a_reference_column_with_no_values_profiles_and_gets_no_verdict() -> None:
    """A numeric column nobody filled in the baseline (or one row of it, from 1970) must not
    raise: its profile is empty and every comparison with it says why there is no verdict."""
    for values in (np.array([np.nan, np.nan]), np.array([], dtype=np.float64)):
        reference = profile(values, kind="numeric")
        assert reference.count == 0 and reference.edges == ()
        assert from_dict(json.loads(json.dumps(reference.to_dict()))) == reference
        current = profile(np.arange(50.0), kind="numeric", edges=reference.edges)
        result = profile_drift("x", reference, current)
        assert result.drifted is None and result.detail["reason"] == "reference has no values"
