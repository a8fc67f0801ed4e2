"""SCIM PATCH (RFC 7644 §3.5.2) over a resource as its JSON shows it: each operation changes a
copy of the document, and the result is then read and checked as a PUT's body would be, so a
PATCH and a PUT save through the same path. Pure: no store, no HTTP.

Both identity providers' shapes are taken: Entra ID's capitalised `op`s ("Replace", "Add"),
its string booleans ("False") and its `remove` of members by value in the body; Okta's
`replace` with no path and a value object, and its `remove` by `members[value eq "…"]`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watchkeeper.server._scim_filter import (
    URN,
    FilterError,
    PatchPath,
    elements,
    parse_patch_path,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 1000


class ScimError(Exception):
    """A SCIM error response (RFC 7644 §3.12): the status, the `scimType` (if the RFC names
    one for the case) and a detail that says what and where."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


@dataclass(frozen=True)
class Attribute:
    """An attribute a resource type takes: `kept` ones are stored; the rest of the core schema
    (title, phoneNumbers, the enterprise extension, …) is accepted and ignored, so an identity
    provider's default mappings do not fail on what Watchkeeper has no use for."""

    name: str
    multi: bool = False
    subs: tuple[str, ...] = ()
    kept: bool = True
    read_only: bool = False
    case_exact: bool = False
    removable: bool = True  # false: `remove` would say something nobody meant (active)


Catalog = Mapping[str, Attribute]  # lower-case name -> attribute


def catalog(*attributes: Attribute) -> dict[str, Attribute]:
    return {a.name.lower(): a for a in attributes}


def apply_patch(document: Mapping[str, Any], body: Any, attributes: Catalog) -> dict[str, Any]:
    """The document after the PatchOp `body`'s operations, in order; ScimError on the first
    that cannot be applied (nothing is saved then: the caller saves only the result)."""
    if not isinstance(body, Mapping):
        raise ScimError(400, "a PATCH body is a JSON object (a PatchOp)", "invalidSyntax")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP not in schemas:
        raise ScimError(400, f"a PATCH body's schemas must be [{PATCH_OP!r}]", "invalidSyntax")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "a PatchOp has a non-empty Operations list", "invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise ScimError(400, f"at most {MAX_OPERATIONS} operations per PATCH", "tooMany")
    patched = copy.deepcopy(dict(document))
    for index, operation in enumerate(operations):
        where = f"Operations[{index}]"
        if not isinstance(operation, Mapping):
            raise ScimError(400, f"{where} is not an object", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(
                400,
                f"{where}.op is {operation.get('op')!r}: add, replace or remove",
                "invalidSyntax",
            )
        path = operation.get("path")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, f"{where}.path is not a string", "invalidPath")
        value = operation.get("value")
        if path is None or not path.strip():
            _without_path(patched, op, value, attributes, where)
        else:
            _at_path(patched, op, _path(path, where), value, attributes, where)
    return patched


def _path(text: str, where: str) -> PatchPath:
    try:
        return parse_patch_path(text)
    except FilterError as exc:
        raise ScimError(400, f"{where}.path: {exc}", "invalidPath") from None


def _without_path(
    document: dict[str, Any], op: str, value: Any, attributes: Catalog, where: str
) -> None:
    """`{"op": "replace", "value": {"active": false}}`: each key of the value is a path."""
    if op == "remove":
        raise ScimError(400, f"{where}: remove needs a path", "noTarget")
    if not isinstance(value, Mapping):
        raise ScimError(
            400, f"{where}: without a path, the value is an object of attributes", "invalidValue"
        )
    for key, item in value.items():
        if URN.sub("", key) == key and key.lower().startswith("urn:"):
            # an extension's attributes as one object: `{"urn:…:enterprise:2.0:User": {…}}`
            continue
        _at_path(document, op, _path(key, f"{where}.value"), item, attributes, where)


def _at_path(
    document: dict[str, Any],
    op: str,
    path: PatchPath,
    value: Any,
    attributes: Catalog,
    where: str,
) -> None:
    attribute = attributes.get(path.name)
    if attribute is None:
        raise ScimError(400, f"{where}.path: no attribute {path.name!r} here", "invalidPath")
    if not attribute.kept:
        return
    if attribute.read_only:
        raise ScimError(400, f"{where}.path: {attribute.name} is read-only", "mutability")
    if (
        path.sub is not None
        and attribute.subs
        and path.sub not in {s.lower() for s in attribute.subs}
    ):
        raise ScimError(
            400, f"{where}.path: {attribute.name} has no sub-attribute {path.sub!r}", "invalidPath"
        )
    if op == "remove" and not attribute.removable:
        raise ScimError(
            400,
            f"{where}: {attribute.name} cannot be removed; replace it with false or true",
            "invalidValue",
        )
    if op != "remove" and value is None:
        raise ScimError(400, f"{where}: {op} needs a value", "invalidValue")
    if path.where is not None:
        _filtered(document, op, path, value, attribute, where)
        return
    key = attribute.name
    if path.sub is not None:
        _sub(document, op, key, _canonical(attribute, path.sub), value, attribute)
        return
    if op == "remove":
        if attribute.multi and isinstance(value, list):  # Entra: remove these members
            drop = [_identity(v) for v in value]
            document[key] = [i for i in document.get(key) or [] if _identity(i) not in drop]
        else:
            document.pop(key, None)
        return
    if attribute.multi:
        items = value if isinstance(value, list) else [value]
        if op == "add":
            present = [_identity(i) for i in document.get(key) or []]
            items = list(document.get(key) or []) + [
                i for i in items if _identity(i) not in present
            ]
        document[key] = items
    elif op == "add" and isinstance(value, Mapping) and isinstance(document.get(key), Mapping):
        document[key] = {**document[key], **value}
    else:
        document[key] = value


def _filtered(
    document: dict[str, Any],
    op: str,
    path: PatchPath,
    value: Any,
    attribute: Attribute,
    where: str,
) -> None:
    """`members[value eq "…"]` and `emails[type eq "work"].value`."""
    if not attribute.multi:
        raise ScimError(
            400, f"{where}.path: {attribute.name} has one value, nothing to filter", "invalidPath"
        )
    assert path.where is not None
    key = attribute.name
    items: list[Any] = list(document.get(key) or [])
    exact = f"{key.lower()}.value" if attribute.case_exact else None  # members: our ids
    hit = elements({key: items}, key.lower(), path.where, lambda p: p.lower() == exact)
    if op == "remove":
        if path.sub is None:
            document[key] = [item for i, item in enumerate(items) if i not in hit]
        else:
            sub = _canonical(attribute, path.sub)
            for i in hit:
                items[i] = {k: v for k, v in items[i].items() if k != sub}
            document[key] = items
        return
    if not hit:
        if op == "replace":
            raise ScimError(400, f"{where}.path: no {key} value matches the filter", "noTarget")
        items.append({} if path.sub is not None else value)
        hit = [len(items) - 1]
        if path.sub is None:
            document[key] = items
            return
    for i in hit:
        if path.sub is not None:
            items[i] = {**items[i], _canonical(attribute, path.sub): value}
        elif isinstance(value, Mapping):
            items[i] = {**items[i], **value} if op == "add" else dict(value)
        else:
            raise ScimError(400, f"{where}: each {key} value is an object", "invalidValue")
    document[key] = items


def _sub(
    document: dict[str, Any], op: str, key: str, sub: str, value: Any, attribute: Attribute
) -> None:
    """`name.formatted`; for a multi-valued attribute, `emails.value` sets it on each."""
    current = document.get(key)
    if attribute.multi:
        items = [dict(i) for i in current or [] if isinstance(i, Mapping)]
        for item in items:
            if op == "remove":
                item.pop(sub, None)
            else:
                item[sub] = value
        document[key] = items
        return
    complex_value = dict(current) if isinstance(current, Mapping) else {}
    if op == "remove":
        complex_value.pop(sub, None)
    else:
        complex_value[sub] = value
    document[key] = complex_value


def _canonical(attribute: Attribute, sub: str) -> str:
    return next((s for s in attribute.subs if s.lower() == sub), sub)


def _identity(item: Any) -> Any:
    """What makes two values of a multi-valued attribute the same: a complex value's `value`."""
    if isinstance(item, Mapping):
        return item.get("value", repr(sorted(item.items())))
    return item
