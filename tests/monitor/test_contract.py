"""Schema-contract breaks, attributed to the upstream, its contact and the data liaison."""

from __future__ import annotations

import math
from datetime import timedelta

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


def rows(items: list[dict[str, object]]) -> list[tuple[object, dict[str, object]]]:
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
