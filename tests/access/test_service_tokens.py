"""Service tokens as `may` decides them: a third kind of actor that feeds one system and reads
its kill switch, and nothing else; and who may issue, list and revoke one (the system's owner
and admins), beside a person's tokens (themselves and admins; issued by admins alone)."""

from __future__ import annotations

import pytest

from watchkeeper.access import (
    ACTIONS,
    Directory,
    may,
    service_actor,
    service_system,
    token_name,
)
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import PersonRecord, TeamRecord

OWNER, MEMBER, OTHER, ADMIN, LEFT = (
    "olga@x.example",
    "tess@x.example",
    "uma@x.example",
    "adam@x.example",
    "ivy@x.example",
)
DIRECTORY = Directory.of(
    [
        PersonRecord(OWNER, "", True, False),
        PersonRecord(MEMBER, "", True, False),
        PersonRecord(OTHER, "", True, False),
        PersonRecord(ADMIN, "", True, True),
        PersonRecord(LEFT, "", False, True),
    ],
    [TeamRecord("checkout-team", [MEMBER])],
)


def system(name: str, owner: str) -> SystemManifest:
    return SystemManifest.model_validate(
        {
            "apiVersion": "watchkeeper/v1",
            "kind": "AISystem",
            "metadata": {"name": name},
            "spec": {
                "charter": {"owner": owner, "kill_authority": [OWNER]},
                "runbook": {"playbooks": {"harm": {"auto_disable": True}}},
            },
        }
    )


BOT = system("bot", OWNER)
SHOP = system("shop", "checkout-team")  # owned through a team
INGEST = service_actor("bot", "ingest")
SERVING = {"observations.write", "feedback.write", "flag.write", "read"}


def test_the_actor_names_its_system_and_label() -> None:
    assert INGEST == "service:bot/ingest"
    assert service_system(INGEST) == "bot"
    assert service_system(OWNER) is None and service_system("playbook:harm") is None


@pytest.mark.parametrize("action", sorted(SERVING))
def test_it_feeds_its_own_system_and_reads_its_switch(action: str) -> None:
    decision = may(INGEST, action, BOT, DIRECTORY)  # type: ignore[arg-type]
    assert decision.allowed, decision.reason


@pytest.mark.parametrize("action", sorted(SERVING))
def test_another_system_is_refused_naming_the_scope(action: str) -> None:
    decision = may(INGEST, action, SHOP, DIRECTORY)  # type: ignore[arg-type]
    assert not decision.allowed
    assert decision.reason.startswith(
        "service:bot/ingest is a service token of bot: it may only write observations, "
        "feedback and flags of bot and read its kill switch, not "
    )
    assert decision.reason.endswith(" shop")


@pytest.mark.parametrize("action", sorted(set(ACTIONS) - SERVING))
def test_every_persons_action_is_refused_even_on_its_own_system(action: str) -> None:
    """Its system's owner, a kill authority, a playbook: what they do is theirs alone — the
    switch above all, which a service token reads and never flips."""
    decision = may(INGEST, action, BOT, DIRECTORY, subject=OWNER)  # type: ignore[arg-type]
    assert not decision.allowed
    assert f"not {action}, which people do" in decision.reason


def test_reading_anything_but_its_switch_is_refused() -> None:
    decision = may(INGEST, "read", None, DIRECTORY)
    assert not decision.allowed and decision.reason.endswith("not read anything else")


@pytest.mark.parametrize(
    ("actor", "manifest", "allowed"),
    [
        (OWNER, BOT, True),
        (ADMIN, BOT, True),
        (OTHER, BOT, False),
        (MEMBER, SHOP, True),  # the owner is a team: its members
        (OWNER, SHOP, False),  # owning another system gives nothing here
        (LEFT, BOT, False),  # an admin who has left
    ],
)
@pytest.mark.parametrize("action", ["token.create", "token.list", "token.revoke"])
def test_a_systems_service_tokens_are_its_owners_and_the_admins(
    actor: str, manifest: SystemManifest, allowed: bool, action: str
) -> None:
    decision = may(actor, action, manifest, DIRECTORY)  # type: ignore[arg-type]
    assert decision.allowed is allowed, decision.reason


def test_a_refusal_says_who_may_issue_one() -> None:
    refused = may(OTHER, "token.create", SHOP, DIRECTORY)
    assert refused.reason == (
        "uma@x.example may not issue service tokens for shop: only its owner (checkout-team) "
        "or an admin may"
    )


def test_a_persons_token_stays_the_admins_to_issue_even_for_an_owner() -> None:
    """With `subject`, the token acts as that person: owning a system gives no right to it."""
    assert not may(OWNER, "token.create", BOT, DIRECTORY, subject=OTHER).allowed
    refused = may(OWNER, "token.create", None, DIRECTORY, subject=OTHER)
    assert "only admins may issue API tokens to people" in refused.reason
    assert "wk token create --service SYSTEM" in refused.reason
    assert may(ADMIN, "token.create", None, DIRECTORY, subject=OTHER).allowed
    assert may(OTHER, "token.revoke", BOT, DIRECTORY, subject=OTHER).allowed  # their own
    assert not may(OWNER, "token.revoke", BOT, DIRECTORY, subject=OTHER).allowed


@pytest.mark.parametrize("name", ["checkout-api", "a", "web_1.prod", "X" * 63])
def test_a_label_fits_the_actors_name(name: str) -> None:
    assert token_name(name) == name


@pytest.mark.parametrize("name", ["", "-lead", "two words", "a/b", "é", "x" * 64, "api\n"])
def test_a_label_that_would_blur_the_actors_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="letters, digits, dots, dashes or underscores"):
        token_name(name)
