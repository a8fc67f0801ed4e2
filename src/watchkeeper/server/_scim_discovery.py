"""What this SCIM service provider takes (RFC 7644 §4, RFC 7643 §5–§7): its configuration, its
two resource types and their schemas, listing only the attributes Watchkeeper keeps, so a
client (or a conformance checker) builds its requests from what is really stored."""

from __future__ import annotations

from typing import Any

from watchkeeper.server._scim_resources import GROUP_SCHEMA, MAX_RESULTS, USER_SCHEMA

CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _attribute(
    name: str,
    kind: str = "string",
    *,
    description: str,
    required: bool = False,
    multi: bool = False,
    mutability: str = "readWrite",
    uniqueness: str = "none",
    case_exact: bool = False,
    subs: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
        **extra,
    }
    if subs is not None:
        found["subAttributes"] = subs
    return found


_USER_ATTRIBUTES = [
    _attribute(
        "userName",
        description="The person's email: how manifests name them. Set once: a new email is a "
        "new person.",
        required=True,
        mutability="immutable",
        uniqueness="server",
    ),
    _attribute(
        "displayName",
        description="The person's name, as Watchkeeper shows it; on input name.formatted, or "
        "name.givenName and name.familyName, stand for it",
    ),
    _attribute(
        "emails",
        "complex",
        description="The person's one email, which is their userName (set through userName)",
        multi=True,
        mutability="readOnly",
        subs=[
            _attribute("value", description="The email address", mutability="readOnly"),
            _attribute("type", description="work", mutability="readOnly"),
            _attribute("primary", "boolean", description="Always true", mutability="readOnly"),
        ],
    ),
    _attribute(
        "active",
        "boolean",
        description="false deprovisions: every role they held falls vacant, their tokens and "
        "sessions stop, and each affected system's owner is told",
    ),
]

_GROUP_ATTRIBUTES = [
    _attribute(
        "displayName",
        description="The group's name; the team's name in manifests is its slug (Fraud ML: "
        "fraud-ml)",
        required=True,
        uniqueness="server",
    ),
    _attribute(
        "members",
        "complex",
        description="The team's members: Users, by id",
        multi=True,
        subs=[
            _attribute("value", description="A User's id", mutability="immutable", case_exact=True),
            _attribute(
                "$ref",
                "reference",
                description="The User's URI",
                mutability="immutable",
                referenceTypes=["User"],
            ),
            _attribute(
                "type", description="User", mutability="immutable", canonicalValues=["User"]
            ),
        ],
    ),
]

_SCHEMAS = {
    USER_SCHEMA: ("User", "A person Watchkeeper's manifests can name", _USER_ATTRIBUTES),
    GROUP_SCHEMA: ("Group", "A team: a role may be held by a team", _GROUP_ATTRIBUTES),
}


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token an admin issues with `wk token create --scim`",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": name,
            "name": name,
            "endpoint": f"/{name}s",
            "description": description,
            "schema": urn,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"},
        }
        for urn, (name, description, _) in _SCHEMAS.items()
    ]


def schemas(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": urn,
            "name": name,
            "description": description,
            "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
        }
        for urn, (name, description, attributes) in _SCHEMAS.items()
    ]
