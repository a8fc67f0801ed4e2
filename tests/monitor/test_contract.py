"""Schema-contract breaks, attributed to the upstream, its contact and the data liaison."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from watchkeeper.manifest._models import ContractField, Upstream
from watchkeeper.monitor import checks
from watchkeeper.monitor.contract import check_contract, renames
from watchkeeper.testing import T0

CONTRACT = {
    "ticket_text": ContractField(type="string", required=True),
    "channel": ContractField(type="category", values=["email", "chat", "phone"]),
    "account_age_days": ContractField(type="number", min=0),
    "vip": ContractField(type="boolean", nullable=True),
}
UPSTREAM = Upstream(
    name="tickets", team="support-data", contact="dana@corp.example", contract=CONTRACT
)


def rows(items: list[dict[str, object]]) -> list[tuple[datetime, dict[str, object]]]:
    return [(T0 + timedelta(minutes=i), item) for i, item in enumerate(items)]


GOOD = {"ticket_text": "hi", "channel": "chat", "account_age_days": 3, "vip": False}


def test_clean_rows_have_no_breaks() -> None:
    assert check_contract(CONTRACT, rows([GOOD] * 50)) == []


def test_renamed_field_is_missing_plus_new_with_the_upstream_contact() -> None:
    renamed = [{**{k: v for k, v in GOOD.items() if k != "ticket_text"}, "ticket_body": "hi"}]
    breaks = check_contract(CONTRACT, rows([GOOD] * 10 + renamed * 30))
    assert [(b.kind, b.field, b.count) for b in breaks] == [
        ("missing_field", "ticket_text", 30),
        ("new_field", "ticket_body", 30),
    ]
    assert breaks[0].first_seen == T0 + timedelta(minutes=10)
    assert breaks[1].example == "hi"
    assert renames(breaks) == [("ticket_text", "ticket_body")]
    window = checks.Window("bot", T0, T0 + timedelta(days=1))
    findings = checks.contract(window, UPSTREAM, breaks, "chen@corp.example")
    assert {f.subject for f in findings} == {"tickets.ticket_text", "tickets.ticket_body"}
    for finding in findings:
        assert finding.evidence["contact"] == "dana@corp.example"
        assert finding.evidence["data_liaison"] == "chen@corp.example"
        assert "renamed 'ticket_text' -> 'ticket_body'?" in finding.summary


def test_type_change_unseen_category_out_of_range() -> None:
    bad = [
        {**GOOD, "account_age_days": "3"},
        {**GOOD, "channel": "fax"},
        {**GOOD, "account_age_days": -1},
    ]
    breaks = {(b.kind, b.field): b for b in check_contract(CONTRACT, rows(bad))}
    assert breaks[("type_change", "account_age_days")].example == "3"
    assert breaks[("unseen_category", "channel")].example == "fax"
    assert breaks[("out_of_range", "account_age_days")].example == -1
    assert len(breaks) == 3


def test_null_rate_jump_against_baseline() -> None:
    mostly_null = [{**GOOD, "vip": None}] * 3 + [GOOD] * 7
    [jump] = check_contract(CONTRACT, rows(mostly_null), baseline_null_rates={"vip": 0.05})
    assert (jump.kind, jump.field, jump.count) == ("null_rate", "vip", 3)
    assert check_contract(CONTRACT, rows(mostly_null), baseline_null_rates={"vip": 0.25}) == []


def test_required_field_null_is_a_break() -> None:
    [brk] = check_contract(CONTRACT, rows([{**GOOD, "ticket_text": None}]))
    assert (brk.kind, brk.field) == ("null_rate", "ticket_text")


def test_fields_of_other_contracts_are_not_new() -> None:
    extra = [{**GOOD, "priority": 2}]
    assert [b.kind for b in check_contract(CONTRACT, rows(extra))] == ["new_field"]
    assert check_contract(CONTRACT, rows(extra), known_fields=["priority"]) == []


BOUNDED = {"score": ContractField(type="number", min=0.25, max=0.75)}


@pytest.mark.parametrize("value", [0.25, 0.75, 0.5])
def test_a_value_on_its_bound_keeps_the_contract(value: float) -> None:
    assert check_contract(BOUNDED, rows([{"score": value}])) == []


@pytest.mark.parametrize("value", [math.nextafter(0.25, -math.inf), math.nextafter(0.75, math.inf)])
def test_one_ulp_beyond_a_bound_breaks_it(value: float) -> None:
    [broken] = check_contract(BOUNDED, rows([{"score": value}]))
    assert (broken.kind, broken.example) == ("out_of_range", value)
    assert broken.detail == f"'score' outside [0.25, 0.75] (e.g. {value!r})"


def test_integer_bounds_hold_at_the_bound_and_break_one_past() -> None:
    ages = {"age": ContractField(type="integer", min=0, max=130)}
    assert check_contract(ages, rows([{"age": 0}, {"age": 130}])) == []
    breaks = check_contract(ages, rows([{"age": -1}, {"age": 131}]))
    assert [(b.kind, b.count, b.example) for b in breaks] == [("out_of_range", 2, -1)]


ALWAYS_THERE = {"ticket_text": 0.0, "channel": 0.0, "account_age_days": 0.0, "vip": 0.0}


def without(name: str, item: dict[str, object] = GOOD) -> dict[str, object]:
    return {k: v for k, v in item.items() if k != name}


def test_an_optional_field_that_vanishes_is_a_break() -> None:
    [gone] = check_contract(
        CONTRACT, rows([without("channel")] * 60), baseline_null_rates=ALWAYS_THERE
    )
    assert (gone.kind, gone.field, gone.count, gone.rows) == ("vanished", "channel", 60, 60)
    assert gone.first_seen == T0
    assert (
        gone.detail
        == "field 'channel' vanished: in 100% of baseline rows, 0 of 60 rows in this window"
    )
    assert gone.to_dict()["baseline_presence"] == 1.0


def test_without_a_baseline_an_optional_field_may_be_absent() -> None:
    assert check_contract(CONTRACT, rows([without("channel")] * 60)) == []
    rates = {k: v for k, v in ALWAYS_THERE.items() if k != "channel"}
    assert (
        check_contract(CONTRACT, rows([without("channel")] * 60), baseline_null_rates=rates) == []
    )


def test_a_vanished_required_field_is_reported_once() -> None:
    breaks = check_contract(
        CONTRACT, rows([without("ticket_text")] * 40), baseline_null_rates=ALWAYS_THERE
    )
    assert [(b.kind, b.field, b.count) for b in breaks] == [("vanished", "ticket_text", 40)]
    assert breaks[0].detail.startswith("required field 'ticket_text' vanished: in 100% ")


def test_a_field_null_in_every_row_has_vanished_not_jumped() -> None:
    breaks = check_contract(
        CONTRACT, rows([{**GOOD, "vip": None}] * 40), baseline_null_rates={"vip": 0.02}
    )
    assert [(b.kind, b.field, b.count) for b in breaks] == [("vanished", "vip", 40)]
    assert "in 98% of baseline rows" in breaks[0].detail


def test_a_field_thinning_out_has_not_vanished() -> None:
    """Stragglers (at most 1% of rows) do not hide a vanished field; more than that is a field
    still arriving, whose drop is a matter for the null-rate check."""
    stragglers = [GOOD] * 10 + [without("channel")] * 990
    [gone] = check_contract(CONTRACT, rows(stragglers), baseline_null_rates=ALWAYS_THERE)
    assert (gone.kind, gone.count, gone.rows) == ("vanished", 990, 1000)
    assert "10 of 1000 rows in this window" in gone.detail
    thinning = [GOOD] * 11 + [without("channel")] * 989
    assert check_contract(CONTRACT, rows(thinning), baseline_null_rates=ALWAYS_THERE) == []


def test_a_rare_field_absent_from_a_small_window_has_not_vanished() -> None:
    """In 5% of baseline rows: absent from n rows by chance with probability 0.95**n, below
    1e-4 only from n = 180."""
    rare = {**ALWAYS_THERE, "channel": 0.95}
    assert (
        check_contract(CONTRACT, rows([without("channel")] * 179), baseline_null_rates=rare) == []
    )
    [gone] = check_contract(CONTRACT, rows([without("channel")] * 180), baseline_null_rates=rare)
    assert (gone.kind, gone.field) == ("vanished", "channel")
    assert "in 5% of baseline rows" in gone.detail


def test_a_field_always_seen_needs_three_rows_without_it() -> None:
    """The baseline is a sample, so even a field it always saw may be missing from two rows."""
    assert (
        check_contract(CONTRACT, rows([without("channel")] * 2), baseline_null_rates=ALWAYS_THERE)
        == []
    )
    [gone] = check_contract(
        CONTRACT, rows([without("channel")] * 3), baseline_null_rates=ALWAYS_THERE
    )
    assert gone.kind == "vanished"


def test_a_vanished_field_suggests_the_new_one_as_its_rename() -> None:
    renamed = {**without("channel"), "medium": "chat"}
    breaks = check_contract(CONTRACT, rows([renamed] * 60), baseline_null_rates=ALWAYS_THERE)
    assert [(b.kind, b.field) for b in breaks] == [("vanished", "channel"), ("new_field", "medium")]
    assert breaks[0].detail.endswith("0 of 60 rows in this window")
    assert renames(breaks) == [("channel", "medium")]
    window = checks.Window("bot", T0, T0 + timedelta(days=1))
    findings = checks.contract(window, UPSTREAM, breaks, "chen@corp.example")
    assert {f.subject for f in findings} == {"tickets.channel", "tickets.medium"}
    for finding in findings:
        assert finding.evidence["contact"] == "dana@corp.example"
        assert finding.summary.count("renamed") == 1
        assert "renamed 'channel' -> 'medium'?" in finding.summary


def test_two_new_fields_give_one_rename_guess_the_closer_one() -> None:
    """The upstream contact reads one likely cause: of two fields that appeared with the
    vanished one, the one present as often as it was."""
    rows_ = [{**without("channel"), "medium": "chat", "via": "web"}] * 50 + [
        {**without("channel"), "medium": "chat"}
    ] * 10
    breaks = check_contract(CONTRACT, rows(rows_), baseline_null_rates=ALWAYS_THERE)
    assert renames(breaks) == [("channel", "medium")]
    window = checks.Window("bot", T0, T0 + timedelta(days=1))
    findings = checks.contract(window, UPSTREAM, breaks, "chen@corp.example")
    gone = next(f for f in findings if f.subject == "tickets.channel")
    assert gone.summary.count("renamed") == 1 and "'medium'" in gone.summary


def test_a_rename_of_a_field_half_the_rows_had_allows_for_sampling() -> None:
    half = {**ALWAYS_THERE, "account_age_days": 0.5}
    renamed = [{**without("account_age_days"), "tenure_days": 3}] * 24 + [
        without("account_age_days")
    ] * 36
    breaks = check_contract(CONTRACT, rows(renamed), baseline_null_rates=half)
    assert renames(breaks) == [("account_age_days", "tenure_days")]


def test_a_new_field_present_unlike_the_vanished_one_is_no_rename() -> None:
    mostly = [without("channel")] * 55 + [{**without("channel"), "medium": "chat"}] * 5
    breaks = check_contract(CONTRACT, rows(mostly), baseline_null_rates=ALWAYS_THERE)
    assert [(b.kind, b.field) for b in breaks] == [("vanished", "channel"), ("new_field", "medium")]
    assert renames(breaks) == []


def test_a_new_field_without_a_vanished_one_is_no_rename() -> None:
    extra = [{**GOOD, "medium": "chat"}] * 60
    [new] = check_contract(CONTRACT, rows(extra), baseline_null_rates=ALWAYS_THERE)
    assert (new.kind, new.field) == ("new_field", "medium")
    assert renames([new]) == []
    window = checks.Window("bot", T0, T0 + timedelta(days=1))
    [finding] = checks.contract(window, UPSTREAM, [new], None)
    assert "renamed" not in finding.summary
