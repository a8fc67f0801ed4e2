"""People and teams as SCIM Users and Groups (RFC 7643), both ways, and the discovery documents
that say what this service provider takes. Pure: records in, JSON out; JSON in, checked values
out (or a ScimError naming the attribute).

What maps to what: a User is a person — `userName` their email (how manifests name them),
`name.formatted` / `displayName` their name, `emails` that one address, `active`, `externalId`
the identity provider's id, `id` ours. A Group is a team — `displayName` the group's name
there, the team's name its slug, `members` people by their SCIM ids."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from watchkeeper.manifest import Person, Team
from watchkeeper.server._scim_filter import URN
from watchkeeper.server._scim_patch import Attribute, ScimError, catalog
from watchkeeper.store import DirectoryPerson, DirectoryTeam

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MEDIA_TYPE = "application/scim+json"
ROOT = "/scim/v2"  # where the SCIM service is mounted
MAX_RESULTS = 1000

# the rest of the core User schema and the enterprise extension: accepted, not kept
_IGNORED_USER = [
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "password",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
]
_NAME_PARTS = catalog(
    Attribute("formatted"), Attribute("givenName"), Attribute("familyName"), Attribute("middleName")
)
USER = catalog(
    Attribute("id", read_only=True, case_exact=True),
    Attribute("externalId", case_exact=True),
    Attribute("userName"),
    Attribute("name", subs=tuple(a.name for a in _NAME_PARTS.values())),
    Attribute("displayName"),
    # their email is their userName: `emails` is shown, and ignored on input (readOnly)
    Attribute("emails", multi=True, subs=("value", "type", "primary", "display"), kept=False),
    Attribute("active", removable=False),  # removed, it would read as the default: true
    Attribute("groups", multi=True, read_only=True),
    Attribute("meta", read_only=True),
    Attribute("schemas", multi=True),
    *(Attribute(name, kept=False) for name in _IGNORED_USER),
)
GROUP = catalog(
    Attribute("id", read_only=True, case_exact=True),
    Attribute("externalId", case_exact=True),
    Attribute("displayName"),
    Attribute("members", multi=True, subs=("value", "display", "type", "$ref"), case_exact=True),
    Attribute("meta", read_only=True),
    Attribute("schemas", multi=True),
)


def case_exact(attributes: Mapping[str, Attribute]) -> Any:
    """The `exact` predicate a filter over this resource type needs (RFC 7643 caseExact)."""
    exact = {name for name, a in attributes.items() if a.case_exact}

    def is_exact(path: str) -> bool:
        name, _, sub = path.lower().partition(".")
        return name in exact and sub in ("", "value")

    return is_exact


@dataclass(frozen=True)
class UserIn:
    email: str
    name: str
    active: bool
    external_id: str | None


@dataclass(frozen=True)
class GroupIn:
    name: str  # the team's slug
    display_name: str
    members: list[str]  # emails
    external_id: str | None


# --- out -------------------------------------------------------------------------------------


def user_json(person: DirectoryPerson, base: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": person.scim_id,
        "userName": person.email,
        "emails": [{"value": person.email, "type": "work", "primary": True}],
        "active": person.active,
    }
    if person.name:
        document["displayName"] = person.name
    if person.external_id is not None:
        document["externalId"] = person.external_id
    document["meta"] = _meta("User", person.scim_id, person.created_at, person.updated_at, base)
    return _versioned(document)


def group_json(team: DirectoryTeam, ids: Mapping[str, str], base: str) -> dict[str, Any]:
    """`ids`: each known person's SCIM id by email (a member not stored as a person is left out:
    an identity provider can only name people it can see)."""
    document: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": team.scim_id,
        "displayName": team.display_name,
        "members": [
            {
                "value": ids[email],
                "type": "User",
                "$ref": f"{base}/Users/{ids[email]}",
            }
            for email in team.members
            if email in ids
        ],
    }
    if team.external_id is not None:
        document["externalId"] = team.external_id
    document["meta"] = _meta("Group", team.scim_id, team.created_at, team.updated_at, base)
    return _versioned(document)


def _meta(
    kind: str, scim_id: str, created: datetime | None, modified: datetime, base: str
) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": (created or modified).isoformat(),
        "lastModified": modified.isoformat(),
        "location": f"{base}/{kind}s/{scim_id}",
    }


def _versioned(document: dict[str, Any]) -> dict[str, Any]:
    """A weak ETag over what the resource says (RFC 7644 §3.14): it changes when it does."""
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]
    document["meta"]["version"] = f'W/"{digest}"'
    return document


def projected(
    document: Mapping[str, Any], attributes: Sequence[str], excluded: Sequence[str]
) -> dict[str, Any]:
    """`attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) at the top level (a sub-path
    keeps its whole attribute); `id` and `schemas` are always returned."""

    def top(names: Sequence[str]) -> set[str]:
        return {URN.sub("", n.strip()).split(".")[0].lower() for n in names if n.strip()}

    wanted, dropped = top(attributes), top(excluded)
    always = {"id", "schemas"}
    return {
        key: value
        for key, value in document.items()
        if key.lower() in always
        or (key.lower() in wanted if wanted else key.lower() not in dropped)
    }


def list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def error_json(error: ScimError) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(error.status), "detail": error.detail}
    if error.scim_type is not None:
        body["scimType"] = error.scim_type
    return body


# --- in --------------------------------------------------------------------------------------


def check_schemas(body: Any, core: str) -> Mapping[str, Any]:
    """The body is a JSON object whose `schemas` are `core` and, for Users, the enterprise
    extension; anything else names a schema this server does not know."""
    if not isinstance(body, Mapping):
        raise ScimError(400, "the body is a JSON object (a SCIM resource)", "invalidSyntax")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise ScimError(400, f"schemas: a list of schema URIs, with {core!r}", "invalidSyntax")
    known = {core, ENTERPRISE_SCHEMA} if core == USER_SCHEMA else {core}
    unknown = [s for s in schemas if s not in known]
    if unknown:
        raise ScimError(
            400,
            f"schemas: unknown schema {unknown[0]!r}; this resource takes {sorted(known)}",
            "invalidValue",
        )
    if core not in schemas:
        raise ScimError(400, f"schemas: {core!r} is missing", "invalidValue")
    return body


def read_user(body: Any, previous: DirectoryPerson | None) -> UserIn:
    """A User body (POST, PUT, or a PATCH's result) as a person. `previous` is who they are
    now: which of the name attributes changed says which one the identity provider meant."""
    document = _keys(check_schemas(body, USER_SCHEMA), USER)
    user_name = document.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "userName is required: the person's email", "invalidValue")
    try:  # the manifests' own rule for an email
        email = Person.model_validate({"email": user_name}).email
    except ValidationError:
        raise ScimError(
            400,
            f"userName {user_name!r} is not an email address: Watchkeeper names people by "
            "email; map userName to the user's email in the identity provider",
            "invalidValue",
        ) from None
    if previous is not None and email != previous.email:
        raise ScimError(
            400,
            f"userName: {previous.email} cannot become {email}; manifests name people by email, "
            "so a new email is a new person (deactivate this one, create the other)",
            "mutability",
        )
    return UserIn(
        email,
        _name(document, previous.name if previous else ""),
        _active(document.get("active", True)),
        _external_id(document.get("externalId")),
    )


def read_group(body: Any, emails: Mapping[str, str]) -> GroupIn:
    """A Group body as a team; `emails`: each known person's email by SCIM id."""
    document = _keys(check_schemas(body, GROUP_SCHEMA), GROUP)
    display = document.get("displayName")
    if not isinstance(display, str) or not display.strip():
        raise ScimError(400, "displayName is required: the group's name", "invalidValue")
    name = team_name(display)
    members = document.get("members") or []
    if not isinstance(members, list):
        raise ScimError(400, "members: a list of {value: a User's id}", "invalidValue")
    found: list[str] = []
    for index, member in enumerate(members):
        value = member.get("value") if isinstance(member, Mapping) else None
        if not isinstance(value, str):
            raise ScimError(400, f"members[{index}].value: a User's id", "invalidValue")
        email = emails.get(value)
        if email is None:
            raise ScimError(
                400,
                f"members[{index}].value: no User {value!r} (members are Users, by their id)",
                "invalidValue",
            )
        if email not in found:
            found.append(email)
    return GroupIn(name, display.strip(), found, _external_id(document.get("externalId")))


def team_name(display: str) -> str:
    """A group's name as a team's (`Fraud ML` -> `fraud-ml`), as manifests name teams."""
    slug = re.sub(r"[^a-z0-9]+", "-", display.strip().lower()).strip("-")[:63].strip("-")
    try:  # the manifests' own rule for a team's name
        return Team.model_validate({"name": slug}).name
    except ValidationError:
        raise ScimError(
            400,
            f"displayName {display!r} gives no team name: it needs a letter or digit",
            "invalidValue",
        ) from None


def _keys(body: Mapping[str, Any], attributes: Mapping[str, Attribute]) -> dict[str, Any]:
    """Top-level keys in their canonical case (SCIM attribute names are case-insensitive);
    an extension's object and `urn:…:attr` keys are folded in as plain names."""
    found: dict[str, Any] = {}
    for key, value in body.items():
        bare = URN.sub("", key)
        attribute = attributes.get(bare.lower())
        if attribute is not None:
            found[attribute.name] = value
    return found


def _name(document: Mapping[str, Any], previous: str) -> str:
    """The first of displayName, name.formatted, and given and family names that says
    something new — a PATCH of one leaves the others as they were — else what it was; none
    at all (a PUT without one, a PATCH removing it) is no name."""
    name = document.get("name")
    parts = _keys(name, _NAME_PARTS) if isinstance(name, Mapping) else {}
    given = " ".join(
        str(parts[k]).strip() for k in ("givenName", "familyName") if isinstance(parts.get(k), str)
    )
    candidates = [document.get("displayName"), parts.get("formatted"), given]
    said = [c.strip() for c in candidates if isinstance(c, str) and c.strip()]
    for candidate in said:
        if candidate != previous:
            return candidate[:200]
    return said[0][:200] if said else ""


def _active(value: Any) -> bool:
    """A boolean; Entra ID sends "True" and "False" as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimError(400, f"active is {value!r}: true or false", "invalidValue")


def _external_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 254:
        raise ScimError(400, "externalId: a string of at most 254 characters", "invalidValue")
    return value
