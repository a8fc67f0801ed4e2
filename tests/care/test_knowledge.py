"""Knowledge records: required fields named at once, Markdown a team can commit."""

from __future__ import annotations

import pytest

from watchkeeper.care.knowledge import filename, index, render, validate
from watchkeeper.errors import ActionError


def test_missing_and_unknown_fields_are_named_together() -> None:
    with pytest.raises(ActionError) as caught:
        validate("decision", "", {"context": "x", "decison": "typo"})
    message = caught.value.message
    assert "title is required" in message
    assert "unknown field(s) decison" in message
    assert "decision is required" in message and "consequences is required" in message
    with pytest.raises(ActionError):
        validate("memo", "t", {})


def test_postmortem_renders_lists_and_sections_in_order() -> None:
    fields = validate(
        "postmortem",
        "Harmful answer about refunds",
        {
            "summary": "The assistant promised refunds it cannot give.",
            "impact": "14 customers over 2 hours.",
            "root_causes": ["Prompt change removed the policy", "No eval case for refunds"],
            "action_items": "Add refund cases to the golden set — ben@corp.example",
        },
    )
    text = render(
        "postmortem",
        1,
        "Harmful answer about refunds",
        fields,
        system="bot",
        recorded_at="2026-04-02",
        recorded_by="ana@corp.example",
        links=["Incident: #7"],
    )
    assert text.startswith("# Postmortem 1: Harmful answer about refunds\n")
    assert "- Incident: #7" in text
    assert text.index("## Summary") < text.index("## Impact") < text.index("## Root causes")
    assert "- Prompt change removed the policy\n- No eval case for refunds" in text
    assert "## Trigger" not in text
    assert filename("postmortem", 1, "Harmful answer about refunds") == (
        "postmortems/0001-harmful-answer-about-refunds.md"
    )


def test_index_groups_by_kind() -> None:
    text = index(
        "bot",
        [("decision", "decisions/0001-a.md", "A"), ("near-miss", "near-misses/0001-b.md", "B")],
    )
    assert "## Decisions\n\n- [A](decisions/0001-a.md)" in text
    assert "## Near misses\n\n- [B](near-misses/0001-b.md)" in text
