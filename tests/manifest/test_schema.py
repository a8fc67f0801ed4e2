"""`wk schema` is what editors complete and check manifests with: every field must say what it
is for, and no default may be one the schema itself calls invalid (an editor would flag a
manifest that merely spells out a default)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from watchkeeper.manifest import json_schema

SCHEMA = json_schema()
DEFS: dict[str, Any] = SCHEMA["$defs"]
# `jsonschema` is not a dependency: these are the keywords pydantic emits for the manifest.
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}
_UNCHECKED = {"title", "description", "default", "examples", "format", "$schema", "$defs"}


def _nodes(node: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node under `node`, with a path to name it by (never a default's contents)."""
    yield where, node
    for name, sub in {**node.get("properties", {}), **node.get("$defs", {})}.items():
        yield from _nodes(sub, f"{where}.{name}")
    for key in ("anyOf", "oneOf"):
        for i, sub in enumerate(node.get(key, [])):
            yield from _nodes(sub, f"{where}[{key} {i}]")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _nodes(node[key], f"{where}[{key}]")


NODES = list(_nodes(SCHEMA, "schema"))


def _problems(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Why `value` does not validate against `schema` (empty when it does)."""
    if "$ref" in schema:
        schema = {**DEFS[schema["$ref"].removeprefix("#/$defs/")], **schema}
        del schema["$ref"]
    unknown = set(schema) - _UNCHECKED - {
        "anyOf", "oneOf", "type", "const", "enum", "pattern", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minItems", "properties", "required",
        "additionalProperties", "items",
    }  # fmt: skip
    assert not unknown, f"{where}: the test cannot check {sorted(unknown)}; teach it"
    found: list[str] = []
    for key in ("anyOf", "oneOf"):
        if key in schema:
            passing = [s for s in schema[key] if not _problems(value, s, where)]
            if not passing or (key == "oneOf" and len(passing) > 1):
                found.append(f"{where}: {value!r} matches {len(passing)} of its {key}")
    types = schema.get("type")
    if types is not None and not any(
        _TYPES[t](value) for t in ([types] if isinstance(types, str) else types)
    ):
        return [*found, f"{where}: {value!r} is not of type {types}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match its pattern {schema['pattern']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        for key, fails in (
            ("minimum", lambda v, b: v < b),
            ("maximum", lambda v, b: v > b),
            ("exclusiveMinimum", lambda v, b: v <= b),
            ("exclusiveMaximum", lambda v, b: v >= b),
        ):
            if key in schema and fails(value, schema[key]):
                found.append(f"{where}: {value!r} breaks {key} {schema[key]}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{where}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            found += _problems(item, schema.get("items", {}), f"{where}[{i}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        found += [
            f"{where}: {k!r} is required" for k in schema.get("required", []) if k not in value
        ]
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                found += _problems(item, properties[key], f"{where}.{key}")
            elif extra is False:
                found.append(f"{where}: {key!r} is not allowed")
            elif isinstance(extra, dict):
                found += _problems(item, extra, f"{where}.{key}")
    return found


def test_every_field_has_a_description() -> None:
    missing = [
        f"{where}.{name}"
        for where, node in NODES
        for name, prop in node.get("properties", {}).items()
        if not str(prop.get("description", "")).strip()
    ]
    assert not missing, f"fields without a description in `wk schema`: {missing}"


DEFAULTS = [(where, node) for where, node in NODES if "default" in node]


def test_the_schema_has_defaults_to_check() -> None:
    durations = [n["default"] for _, n in DEFAULTS if n.get("pattern") == r"^\d+[smhdw]$"]
    assert "30d" in durations and "1d" in durations  # review_every, a signal's window


@pytest.mark.parametrize(("where", "node"), DEFAULTS, ids=[where for where, _ in DEFAULTS])
def test_every_default_validates_against_its_own_schema(where: str, node: dict[str, Any]) -> None:
    assert not _problems(node["default"], node, where)


def test_the_checker_refuses_what_the_schema_refuses() -> None:
    window = DEFS["Signal"]["properties"]["window"]
    assert _problems("P1D", window, "window")
    assert _problems({"first": "2w", "since": None}, {"$ref": "#/$defs/Baseline"}, "baseline")
    assert _problems(["a@b.example"], DEFS["EscalationLevel"]["properties"]["after"], "after")
