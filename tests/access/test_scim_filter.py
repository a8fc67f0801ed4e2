"""SCIM's filters and PATCH operations as pure functions over resources as their JSON shows
them: the grammar of RFC 7644 §3.4.2.2, the operations of §3.5.2, and the shapes Okta and Entra
ID send."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from watchkeeper.server._scim_filter import FilterError, matches, parse_filter, parse_patch_path
from watchkeeper.server._scim_patch import PATCH_OP, ScimError, apply_patch
from watchkeeper.server._scim_resources import GROUP, USER, case_exact, read_group, read_user
from watchkeeper.store import DirectoryPerson

BABS = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "2819c223",
    "externalId": "00uAbC",
    "userName": "babs@corp.example",
    "displayName": "Babs Jensen",
    "emails": [
        {"value": "babs@corp.example", "type": "work", "primary": True},
        {"value": "b@home.example", "type": "home"},
    ],
    "active": True,
    "meta": {"lastModified": "2026-01-05T09:00:00+00:00"},
}
TEAM = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "id": "g1",
    "displayName": "Fraud ML",
    "members": [{"value": "u1", "type": "User"}, {"value": "u2", "type": "User"}],
}


def found(text: str, resource: dict[str, Any] = BABS) -> bool:
    return matches(resource, parse_filter(text), case_exact(USER))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "BABS@corp.example"', True),  # userName is caseExact false
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "babs@corp.example"', True),
        ('externalId eq "00uAbC"', True),
        ('externalId eq "00uabc"', False),  # externalId is caseExact
        ('id eq "2819C223"', False),
        ('displayName eq "Babs Jensen"', True),
        ('emails.value eq "b@home.example"', True),
        ('emails[type eq "work"].value eq "b@home.example"', False),
        ('emails[type eq "work" and value co "corp"]', True),
        ('userName sw "babs" and not (active eq false)', True),
        ('userName eq "x@y.example" or externalId eq "00uAbC"', True),
        ('userName eq "x@y.example" or externalId eq "00uAbC" and active eq false', False),
        ('(userName eq "x@y.example" or externalId eq "00uAbC") and active eq true', True),
        ("title pr", False),
        ("displayName pr", True),
        ('userName ne "babs@corp.example"', False),
        ('userName ew "@corp.example"', True),
        ('meta.lastModified gt "2026-01-01T00:00:00Z"', True),
        ('meta.lastModified lt "2026-01-01T00:00:00Z"', False),
        ("active eq true", True),
        ("active eq 1", False),
        ('USERNAME EQ "babs@corp.example"', True),
    ],
)
def test_filters_match_as_the_rfc_says(text: str, expected: bool) -> None:
    assert found(text) is expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("userName eq", "ends"),
        ('userName ~= "x"', "cannot read"),
        ('userName like "x"', "not a SCIM operator"),
        ('(userName eq "x"', "missing ')'"),
        ('emails[type eq "work"', "missing ']'"),
        ('userName eq "x" extra', "after a complete filter"),
        ("userName eq unquoted", "not a value"),
        ('not userName eq "x"', "parentheses"),
        ('"x" eq userName', "attribute name"),
    ],
)
def test_a_filter_that_cannot_be_read_says_why(text: str, says: str) -> None:
    with pytest.raises(FilterError, match=re.escape(says)):
        parse_filter(text)


def test_patch_paths() -> None:
    path = parse_patch_path('members[value eq "u1"]')
    assert (path.name, path.sub) == ("members", None) and path.where is not None
    path = parse_patch_path('emails[type eq "work"].value')
    assert (path.name, path.sub) == ("emails", "value")
    path = parse_patch_path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName")
    assert (path.name, path.sub, path.where) == ("name", "givenname", None)
    with pytest.raises(FilterError):
        parse_patch_path("name.formatted[value eq 1]")


def patched(resource: dict[str, Any], attributes: Any, *operations: dict[str, Any]) -> Any:
    return apply_patch(
        resource, {"schemas": [PATCH_OP], "Operations": list(operations)}, attributes
    )


def test_okta_deactivates_with_a_value_object_and_entra_with_a_string() -> None:
    okta = patched(BABS, USER, {"op": "replace", "value": {"active": False}})
    assert read_user(okta, None).active is False
    entra = patched(BABS, USER, {"op": "Replace", "path": "active", "value": "False"})
    assert read_user(entra, None).active is False
    back = patched(entra, USER, {"op": "replace", "path": "active", "value": "True"})
    assert read_user(back, None).active is True
    assert BABS["active"] is True  # the resource given is never changed


def test_a_name_change_in_any_of_its_attributes_is_the_new_name() -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    babs = DirectoryPerson(
        "babs@corp.example",
        "Babs Jensen",
        True,
        "2819c223",
        "00uAbC",
        "scim",
        now,
        now,
        False,
        None,
    )
    for operation in (
        {"op": "replace", "path": "displayName", "value": "Barbara Jensen"},
        {"op": "replace", "path": "name.formatted", "value": "Barbara Jensen"},
        {"op": "add", "value": {"name": {"givenName": "Barbara", "familyName": "Jensen"}}},
        {
            "op": "replace",
            "value": {"urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Barbara Jensen"},
        },
    ):
        assert read_user(patched(BABS, USER, operation), babs).name == "Barbara Jensen", operation
    kept = patched(BABS, USER, {"op": "replace", "path": "active", "value": False})
    assert read_user(kept, babs).name == "Babs Jensen"
    gone = patched(BABS, USER, {"op": "remove", "path": "displayName"})
    assert read_user(gone, babs).name == ""


def test_attributes_watchkeeper_does_not_keep_are_accepted_and_ignored() -> None:
    entra = patched(
        BABS,
        USER,
        {"op": "Add", "path": "title", "value": "Analyst"},
        {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@corp.example"},
        {
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "value": "Risk",
        },
    )
    assert entra == BABS


def test_group_members_are_added_and_removed_in_both_shapes() -> None:
    added = patched(TEAM, GROUP, {"op": "Add", "path": "members", "value": [{"value": "u3"}]})
    assert [m["value"] for m in added["members"]] == ["u1", "u2", "u3"]
    again = patched(added, GROUP, {"op": "add", "path": "members", "value": [{"value": "u3"}]})
    assert again == added  # adding a member twice is one member
    okta = patched(added, GROUP, {"op": "remove", "path": 'members[value eq "u1"]'})
    assert [m["value"] for m in okta["members"]] == ["u2", "u3"]
    entra = patched(
        added,
        GROUP,
        {"op": "Remove", "path": "members", "value": [{"value": "u2"}, {"value": "u3"}]},
    )
    assert [m["value"] for m in entra["members"]] == ["u1"]
    replaced = patched(
        TEAM, GROUP, {"op": "replace", "path": "members", "value": [{"value": "u9"}]}
    )
    assert [m["value"] for m in replaced["members"]] == ["u9"]
    emptied = patched(TEAM, GROUP, {"op": "remove", "path": "members"})
    assert "members" not in emptied
    group = read_group(replaced, {"u9": "nine@corp.example"})
    assert (group.name, group.display_name, group.members) == (
        "fraud-ml", "Fraud ML", ["nine@corp.example"]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "remove"}, "noTarget"),
        ({"op": "move", "path": "active", "value": True}, "invalidSyntax"),
        ({"op": "replace", "path": "nosuch", "value": 1}, "invalidPath"),
        ({"op": "replace", "path": "members[value eq", "value": 1}, "invalidPath"),
        ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
        ({"op": "replace", "value": "not an object"}, "invalidValue"),
        ({"op": "add", "path": "displayName"}, "invalidValue"),
        ({"op": "remove", "path": "active"}, "invalidValue"),
        ({"op": "replace", "path": "name.nosuch", "value": "x"}, "invalidPath"),
    ],
)
def test_a_bad_operation_is_the_rfcs_error(operation: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(ScimError) as raised:
        patched(BABS, USER, operation)
    assert (raised.value.status, raised.value.scim_type) == (400, scim_type)


def test_replacing_a_member_nobody_matches_is_no_target() -> None:
    with pytest.raises(ScimError) as raised:
        patched(
            TEAM, GROUP, {"op": "replace", "path": 'members[value eq "u7"].type', "value": "User"}
        )
    assert raised.value.scim_type == "noTarget"


@pytest.mark.parametrize(
    ("body", "scim_type", "says"),
    [
        ({**BABS, "schemas": ["urn:example:other"]}, "invalidValue", "unknown schema"),
        ({**BABS, "schemas": []}, "invalidValue", "is missing"),
        ({**BABS, "userName": "babs"}, "invalidValue", "not an email"),
        ({**BABS, "userName": None}, "invalidValue", "required"),
        ({**BABS, "active": "maybe"}, "invalidValue", "true or false"),
        ({**BABS, "externalId": 7}, "invalidValue", "externalId"),
        ([], "invalidSyntax", "JSON object"),
    ],
)
def test_a_bad_user_says_what_and_where(body: Any, scim_type: str, says: str) -> None:
    with pytest.raises(ScimError, match=says) as raised:
        read_user(body, None)
    assert raised.value.scim_type == scim_type


def test_the_enterprise_extension_is_a_known_schema_and_userName_is_an_email() -> None:
    body = {
        **BABS,
        "schemas": [*BABS["schemas"], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    }
    user = read_user({**body, "userName": " Babs@Corp.Example "}, None)
    assert (user.email, user.name, user.active, user.external_id) == (
        "babs@corp.example", "Babs Jensen", True, "00uAbC"
    )  # fmt: skip
