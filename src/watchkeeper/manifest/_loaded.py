"""What a set of manifest files holds once read. Apart from the reader, so that code which only
handles read manifests (the gate, access, the charter service) does not load the YAML parser."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.manifest._errors import Location
from watchkeeper.manifest._models import Person, SystemManifest, Team


@dataclass(frozen=True)
class Loaded:
    """Everything read from a set of paths, plus where each system was declared and where each
    of its `spec` fields (two levels deep: `spec.charter.owner`) was written."""

    systems: list[SystemManifest] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    origins: dict[str, Location] = field(default_factory=dict)
    fields: dict[str, dict[tuple[str, ...], Location]] = field(default_factory=dict)
