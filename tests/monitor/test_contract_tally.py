"""Contract tallies made per ingested batch merge into the check of the whole window."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import reduce
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.manifest._models import ContractField
from watchkeeper.monitor.contract import (
    ContractTally,
    check_contract,
    contract_breaks,
    merge_tallies,
    tally_contract,
)
from watchkeeper.testing import T0

CONTRACT = {
    "text": ContractField(type="string", required=True),
    "channel": ContractField(type="category", values=["email", "chat"]),
    "age": ContractField(type="number", min=0, max=100),
    "vip": ContractField(type="boolean", nullable=True),
    "count": ContractField(type="integer", nullable=False),
}
OTHERS = ["priority"]
ABSENT = object()
# Per field, values that keep or break the contract in each way it can be broken; "medium" and
# "priority" are undeclared here ("priority" is another contract's).
CHOICES: dict[str, list[Any]] = {
    "text": [ABSENT, None, "hi", 3],
    "channel": [ABSENT, None, "chat", "fax", 1.5],
    "age": [ABSENT, None, 3, -1, 100.5, "3"],
    "vip": [ABSENT, None, True, "yes"],
    "count": [ABSENT, None, 1, 2.5],
    "medium": [ABSENT, "chat", [1, 2]],
    "priority": [ABSENT, {"level": 2}],
}
RATES = st.dictionaries(st.sampled_from(list(CONTRACT)), st.sampled_from([0.0, 0.02, 0.5, 0.95]))

Rows = list[tuple[datetime, dict[str, Any]]]


@st.composite
def windows(draw: st.DrawFn, *, in_order: bool = True) -> Rows:
    """Rows whose fields each draw from a few of their choices, so that fields vanish, turn
    null or get renamed across a whole window, not just row by row. Timestamps repeat often."""
    allowed = {
        name: draw(st.lists(st.sampled_from(values), min_size=1, unique_by=id))
        for name, values in CHOICES.items()
    }
    steps = draw(st.lists(st.sampled_from([0, 0, 1, 7]), max_size=120))
    minutes = [sum(steps[: i + 1]) for i in range(len(steps))] if in_order else steps
    rows = []
    for minute in minutes:
        picked = {name: draw(st.sampled_from(values)) for name, values in allowed.items()}
        item = {name: value for name, value in picked.items() if value is not ABSENT}
        rows.append((T0 + timedelta(minutes=minute), item))
    return rows


@st.composite
def chunked(draw: st.DrawFn, *, in_order: bool = True) -> tuple[Rows, list[Rows]]:
    rows = draw(windows(in_order=in_order))
    cuts = sorted(draw(st.lists(st.integers(0, len(rows)), max_size=6)))
    bounds = [0, *cuts, len(rows)]
    return rows, [rows[a:b] for a, b in pairwise(bounds)]


def tally(rows: Rows) -> ContractTally:
    return tally_contract(CONTRACT, rows, known_fields=OTHERS)


@settings(max_examples=150, deadline=None)
@given(chunked(), RATES)
def test_merged_chunk_tallies_give_the_breaks_of_all_rows(
    split: tuple[Rows, list[Rows]], rates: dict[str, float]
) -> None:
    rows, chunks = split
    merged = reduce(merge_tallies, [tally(c) for c in chunks])
    assert merged == tally(rows)
    whole = check_contract(CONTRACT, rows, known_fields=OTHERS, baseline_null_rates=rates)
    assert contract_breaks(CONTRACT, merged, rates) == whole


@settings(max_examples=100, deadline=None)
@given(chunked(in_order=False))
def test_batches_out_of_time_order_still_merge_exactly(split: tuple[Rows, list[Rows]]) -> None:
    rows, chunks = split
    assert reduce(merge_tallies, [tally(c) for c in chunks]) == tally(rows)


@settings(max_examples=100, deadline=None)
@given(windows(in_order=False), windows(in_order=False), windows(in_order=False))
def test_merging_groups_any_way(a: Rows, b: Rows, c: Rows) -> None:
    ta, tb, tc = tally(a), tally(b), tally(c)
    assert merge_tallies(merge_tallies(ta, tb), tc) == merge_tallies(ta, merge_tallies(tb, tc))


@settings(max_examples=100, deadline=None)
@given(windows(), windows())
def test_merge_order_matters_only_for_ties_in_time(a: Rows, b: Rows) -> None:
    later = [(at + timedelta(days=1), item) for at, item in b]
    assert merge_tallies(tally(a), tally(later)) == merge_tallies(tally(later), tally(a))


@settings(max_examples=100, deadline=None)
@given(windows(in_order=False))
def test_a_tally_round_trips_through_json(rows: Rows) -> None:
    original = tally(rows)
    assert ContractTally.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_the_earlier_occurrence_is_kept_whichever_tally_comes_first() -> None:
    early = tally([(T0, {"text": "hi", "age": -1})])
    late = tally([(T0 + timedelta(hours=1), {"text": "hi", "age": -5})])
    for merged in (merge_tallies(early, late), merge_tallies(late, early)):
        [brk] = merged.breaks
        assert (brk.kind, brk.count, brk.first_seen, brk.example) == ("out_of_range", 2, T0, -1)


def test_on_a_tie_the_first_tallys_example_is_kept() -> None:
    one = tally([(T0, {"text": "hi", "channel": "fax"})])
    other = tally([(T0, {"text": "hi", "channel": "sms"})])
    assert [b.example for b in merge_tallies(one, other).breaks] == ["fax"]
    assert [b.example for b in merge_tallies(other, one).breaks] == ["sms"]


def test_the_first_break_is_the_earliest_not_the_first_to_arrive() -> None:
    rows = [(T0 + timedelta(minutes=5), {"text": 1}), (T0, {"text": 2})]
    [brk] = tally(rows).breaks
    assert (brk.first_seen, brk.example) == (T0, 2)


def test_an_empty_window_has_no_breaks() -> None:
    empty = tally([])
    assert empty.rows == 0
    assert contract_breaks(CONTRACT, empty, {"text": 0.0}) == []


def test_tallies_of_different_contracts_do_not_merge() -> None:
    other = tally_contract({"text": CONTRACT["text"]}, [(T0, {"text": "hi"})])
    with pytest.raises(ValueError, match="different contracts"):
        merge_tallies(tally([(T0, {"text": "hi"})]), other)
    with pytest.raises(ValueError, match="the contract declares"):
        contract_breaks(CONTRACT, other)


def test_an_unknown_break_kind_is_not_read_back() -> None:
    stored = tally([(T0, {"text": 3})]).to_dict()
    stored["breaks"][0]["kind"] = "typo"
    with pytest.raises(ValueError, match="unknown contract break kind 'typo'"):
        ContractTally.from_dict(stored)
