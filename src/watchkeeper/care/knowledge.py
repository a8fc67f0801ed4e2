"""Institutional knowledge instead of hero knowledge: the record kinds, their fields, and how they
read as Markdown in the system's repo (MADR-style decisions, Google-SRE-style postmortems).

Pure: records are plain dicts of text; storing them is the service's job. Any person may write a
record, and repository viewers render Markdown with raw HTML, so every user-written text is
escaped on the way out: it reads as written and renders as text — no HTML, no links, no forged
headings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchkeeper.errors import ActionError


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool = False
    many: bool = False  # a list of lines


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    folder: str
    fields: tuple[Field, ...]

    @property
    def plural(self) -> str:
        return self.folder.replace("-", " ").capitalize()


KINDS: dict[str, Kind] = {
    "decision": Kind(
        "decision",
        "Decision",
        "decisions",
        (
            Field("status", "Status"),
            Field("decided_by", "Decision-makers"),
            Field("context", "Context and problem", required=True),
            Field("options", "Options considered", many=True),
            Field("decision", "Decision", required=True),
            Field("consequences", "Consequences", required=True),
        ),
    ),
    "failure-mode": Kind(
        "failure-mode",
        "Failure mode",
        "failure-modes",
        (
            Field("tag", "Triage tag"),
            Field("symptoms", "Symptoms", required=True),
            Field("detecting_signal", "Detected by"),
            Field("mitigation", "Mitigation", required=True),
        ),
    ),
    "near-miss": Kind(
        "near-miss",
        "Near-miss",
        "near-misses",
        (
            Field("what_happened", "What happened", required=True),
            Field("how_caught", "How it was caught", required=True),
            Field("follow_up", "Follow-up"),
        ),
    ),
    "postmortem": Kind(
        "postmortem",
        "Postmortem",
        "postmortems",
        (
            Field("summary", "Summary", required=True),
            Field("impact", "Impact", required=True),
            Field("trigger", "Trigger"),
            Field("root_causes", "Root causes", required=True, many=True),
            Field("detection", "Detection"),
            Field("resolution", "Resolution"),
            Field("action_items", "Action items (item — owner)", many=True),
            Field("went_well", "What went well", many=True),
            Field("went_wrong", "What went wrong", many=True),
            Field("lucky", "Where we got lucky", many=True),
            Field("timeline", "Timeline", many=True),
        ),
    ),
}


def validate(kind: str, title: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a record's fields; every missing or unknown field is named at once."""
    if kind not in KINDS:
        raise ActionError("invalid", f"unknown record kind {kind!r}; one of: {', '.join(KINDS)}")
    spec = KINDS[kind]
    problems = []
    if not title.strip():
        problems.append("title is required")
    known = {f.name: f for f in spec.fields}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}; {kind} has: {', '.join(known)}")
    clean: dict[str, Any] = {}
    for f in spec.fields:
        value = fields.get(f.name)
        if f.many:
            items = [value] if isinstance(value, str) else list(value or [])
            value = [str(v).strip() for v in items if str(v).strip()]
        else:
            value = str(value).strip() if value is not None else ""
        if f.required and not value:
            problems.append(f"{f.name} is required ({f.label})")
        if value:
            clean[f.name] = value
    if problems:
        raise ActionError("invalid", f"{spec.title.lower()}: " + "; ".join(problems))
    return clean


# Backslash-escaped wherever they stand: HTML, links and images, emphasis, code, tables.
_INLINE = re.compile(r"([\\`*_\[\]<>&|~!])")
# Escaped at the start of a line, where they open a heading, list, rule or setext underline.
_BLOCK = re.compile(r"^([ \t]*(?:\d+(?=[.)]))?)([#=+.)-])", re.MULTILINE)


def escape(text: str) -> str:
    """Markdown that shows `text` as written, keeping its line breaks."""
    return _BLOCK.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))


def escape_line(text: str) -> str:
    """The same for a heading, list item or link text: one line, whatever was written."""
    return escape(" ".join(text.split()))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "untitled"


def filename(kind: str, number: int, title: str) -> str:
    return f"{KINDS[kind].folder}/{number:04d}-{slug(title)}.md"


def render(
    kind: str,
    number: int,
    title: str,
    fields: Mapping[str, Any],
    *,
    system: str,
    recorded_at: str,
    recorded_by: str,
    links: Sequence[str] = (),
) -> str:
    """One record as Markdown a team commits beside its code."""
    spec = KINDS[kind]
    lines = [
        f"# {spec.title} {number}: {escape_line(title)}",
        "",
        f"- System: `{system}`",
        f"- Recorded: {recorded_at} by {escape_line(recorded_by)}",
        *(f"- {escape_line(link)}" for link in links),
        "",
    ]
    for f in spec.fields:
        value = fields.get(f.name)
        if not value:
            continue
        lines.append(f"## {f.label}")
        lines.append("")
        if f.many:
            lines.extend(f"- {escape_line(item)}" for item in value)
        else:
            lines.append(escape(str(value)))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def index(system: str, entries: Sequence[tuple[str, str, str]]) -> str:
    """README for the export folder: (kind, path, title) per record, grouped by kind."""
    lines = [
        f"# Knowledge: {system}",
        "",
        "Written by `wk knowledge export`; edit in Watchkeeper.",
        "",
    ]
    for kind in KINDS.values():
        mine = [(path, title) for k, path, title in entries if k == kind.name]
        if not mine:
            continue
        lines += [f"## {kind.plural}", ""]
        lines += [f"- [{escape_line(title)}]({path})" for path, title in mine]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_export(system: str, records: Sequence[Mapping[str, Any]], directory: str) -> list[str]:
    """Every record (as `CareService.knowledge` lists them) as Markdown, plus an index."""
    base = Path(directory)
    written, entries = [], []
    for row in records:
        path = filename(row["kind"], row["number"], row["title"])
        links = [f"Status: {row['status']}"] if row["kind"] == "decision" else []
        if row.get("incident_id"):
            links.append(f"Incident: #{row['incident_id']}")
        text = render(
            row["kind"],
            row["number"],
            row["title"],
            row["fields"],
            system=system,
            recorded_at=row["created_at"][:10],
            recorded_by=row["created_by"],
            links=links,
        )
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_text(text, encoding="utf-8")
        written.append(str(base / path))
        entries.append((row["kind"], path, row["title"]))
    base.mkdir(parents=True, exist_ok=True)
    (base / "README.md").write_text(index(system, entries), encoding="utf-8")
    return [*written, str(base / "README.md")]
