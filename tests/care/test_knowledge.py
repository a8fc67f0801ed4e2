"""Knowledge records: required fields named at once, Markdown a team can commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from watchkeeper.care.knowledge import filename, index, render, validate, write_export
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


HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) "
    "![t](https://evil.example/t.png) <https://evil.example> &lt;b&gt; *loud* `code`"
)
# GitHub and most repository viewers render raw HTML in Markdown; so does this renderer.
VIEWER = MarkdownIt("commonmark", {"html": True})


def test_exported_markdown_shows_what_users_wrote_and_renders_none_of_it(tmp_path: Path) -> None:
    row = {
        "kind": "postmortem",
        "number": 3,
        "title": HOSTILE,
        "fields": validate(
            "postmortem",
            HOSTILE,
            {
                "summary": f"{HOSTILE}\n# Decision\n\nforged section\n---\n1. listed",
                "impact": "Refunds at 3.5% - a few customers.",
                "root_causes": [HOSTILE, "line\n## Forged heading"],
            },
        ),
        "created_at": "2026-04-02T10:00:00+00:00",
        "created_by": "<b>ana</b>@corp.example",
        "status": "accepted",
        "incident_id": None,
    }
    written = write_export("bot", [row], str(tmp_path))
    for path in written:
        text = Path(path).read_text(encoding="utf-8")
        html = VIEWER.render(text)
        assert not re.search(r"<(script|img|b>|em|hr|ol)", html), html  # <code> is the system name
        links = re.findall(r"<a href=\"([^\"]*)\"", html)
        own = [filename("postmortem", 3, HOSTILE)] if path.endswith("README.md") else []
        assert links == own
        # the words are all still there, shown as written
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "[x](javascript:alert(1))" in html
        assert "&amp;lt;b&amp;gt; *loud* `code`" in html
    page = Path(written[0]).read_text(encoding="utf-8")
    assert VIEWER.render(page).count("<h2>") == 3  # Summary, Impact, Root causes: none forged
    assert "<h1>" not in VIEWER.render(page).split("</h1>", 1)[1]
    assert "Refunds at 3.5% - a few customers." in page  # plain prose stays plain
