"""JSON Schema for both kinds, so editors (yaml-language-server) complete and check manifests."""

from __future__ import annotations

from typing import Any

from watchkeeper.manifest._models import PeopleManifest, SystemManifest


def json_schema() -> dict[str, Any]:
    system = SystemManifest.model_json_schema(by_alias=True)
    people = PeopleManifest.model_json_schema(by_alias=True)
    defs = {**system.pop("$defs", {}), **people.pop("$defs", {})}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Watchkeeper manifest (kind: AISystem or People)",
        "oneOf": [system, people],
        "$defs": defs,
    }
