"""JSON Schema for both kinds, so editors (yaml-language-server) complete and check manifests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from watchkeeper.durations import format_duration
from watchkeeper.manifest._models import PeopleManifest, SystemManifest


class _AsWritten(GenerateJsonSchema):
    """Defaults as a manifest writes them. Pydantic encodes a field's default by the default's
    own type, not the field's serializer, so a duration default would read `P30D` — which the
    duration pattern of that very field refuses, and an editor would flag."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def json_schema() -> dict[str, Any]:
    system = SystemManifest.model_json_schema(by_alias=True, schema_generator=_AsWritten)
    people = PeopleManifest.model_json_schema(by_alias=True, schema_generator=_AsWritten)
    defs = {**system.pop("$defs", {}), **people.pop("$defs", {})}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Watchkeeper manifest (kind: AISystem or People)",
        "oneOf": [system, people],
        "$defs": defs,
    }
