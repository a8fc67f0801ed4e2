"""The EU AI Act's numbers for serious incidents (Regulation (EU) 2024/1689), in one place: the
categories of Art. 3(49) and the reporting deadlines of Art. 73(2)-(4). Plain data, read by
`serious` and by `incidents` (which shows a deadline's article beside it)."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: dict[str, str] = {
    "a": "the death of a person, or serious harm to a person's health",
    "b": "a serious and irreversible disruption of the management or operation of critical "
    "infrastructure",
    "c": "the infringement of obligations under Union law intended to protect fundamental rights",
    "d": "serious harm to property or the environment",
}
"""Art. 3(49): what an incident or malfunctioning of an AI system directly or indirectly led to."""


@dataclass(frozen=True)
class Basis:
    """What sets a report's deadline, in days from awareness, and the paragraph that says so."""

    name: str
    days: int
    article: str
    reason: str


BASES = (
    Basis("critical-infrastructure", 2, "Art. 73(3)", "a serious incident under Art. 3(49)(b)"),
    Basis("widespread", 2, "Art. 73(3)", "a widespread infringement (Art. 3(61))"),
    Basis("death", 10, "Art. 73(4)", "the death of a person"),
    Basis("default", 15, "Art. 73(2)", "a serious incident"),
)
"""In order of precedence on equal days: the shortest deadline that applies is the one kept."""


def basis_of(kind: str | None) -> Basis:
    """The basis an incident's stored `serious_kind` names (the general one when unknown)."""
    return next((b for b in BASES if b.name == kind), BASES[-1])
