"""`may` as a table: who may do what, and what each refusal says is missing."""

from __future__ import annotations

import pytest

from watchkeeper.access import ACTIONS, Directory, may
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import PersonRecord, TeamRecord

PEOPLE = {
    "olga@x.example": dict(),
    "kim@x.example": dict(),
    "tess@x.example": dict(),
    "quinn@x.example": dict(),
    "uma@x.example": dict(),
    "adam@x.example": dict(admin=True),
    "ivy@x.example": dict(active=False),
    "ida@x.example": dict(active=False, admin=True),
}
DIRECTORY = Directory.of(
    [PersonRecord(e, "", o.get("active", True), o.get("admin", False)) for e, o in PEOPLE.items()],
    [TeamRecord("oncall", ["tess@x.example"])],
)


def system(**playbooks: dict[str, object]) -> SystemManifest:
    return SystemManifest.model_validate(
        {
            "apiVersion": "watchkeeper/v1",
            "kind": "AISystem",
            "metadata": {"name": "bot"},
            "spec": {
                "charter": {
                    "owner": "olga@x.example",
                    "quality_monitor": "quinn@x.example",
                    "kill_authority": ["kim@x.example", "oncall", "ivy@x.example"],
                },
                "runbook": {"playbooks": playbooks},
            },
        }
    )


BOT = system()


@pytest.mark.parametrize(
    ("actor", "action", "role", "allowed"),
    [
        ("olga@x.example", "system.apply", None, True),
        ("adam@x.example", "system.apply", None, True),
        ("kim@x.example", "system.apply", None, False),
        ("quinn@x.example", "system.apply", None, False),
        ("kim@x.example", "switch.disable", None, True),
        ("tess@x.example", "switch.disable", None, True),  # through team oncall
        ("tess@x.example", "switch.enable", None, True),
        ("tess@x.example", "switch.drill", None, True),
        ("olga@x.example", "switch.drill", None, False),  # a drill takes a kill's authority
        ("ivy@x.example", "switch.drill", None, False),
        ("olga@x.example", "switch.disable", None, False),  # the owner is not a kill authority
        ("adam@x.example", "switch.disable", None, False),  # nor is an admin
        ("ivy@x.example", "switch.disable", None, False),  # named, but has left
        ("quinn@x.example", "role.ack", "quality_monitor", True),
        ("quinn@x.example", "role.ack", "all", True),
        ("quinn@x.example", "role.ack", "owner", False),
        ("tess@x.example", "role.ack", "kill_authority", True),
        ("uma@x.example", "role.ack", "all", False),
        ("adam@x.example", "role.ack", "owner", False),
        ("adam@x.example", "person.deactivate", None, True),
        ("olga@x.example", "person.deactivate", None, False),
        ("adam@x.example", "token.create", None, True),
        ("kim@x.example", "token.create", None, False),
        ("adam@x.example", "people.apply", None, True),
        ("olga@x.example", "people.apply", None, False),
        ("ida@x.example", "people.apply", None, False),  # an admin who left is no admin
        ("uma@x.example", "read", None, True),
        ("ivy@x.example", "read", None, False),
        ("stranger@x.example", "read", None, False),
    ],
)
def test_who_may_do_what(actor: str, action: str, role: str | None, allowed: bool) -> None:
    decision = may(actor, action, BOT, DIRECTORY, role=role)  # type: ignore[arg-type]
    assert decision.allowed is allowed, decision.reason
    assert decision.reason


def test_refusals_say_what_is_missing() -> None:
    assert "only kim@x.example, tess@x.example may disable" in (
        may("olga@x.example", "switch.disable", BOT, DIRECTORY).reason
    )
    assert (
        "spec.charter.kill_authority"
        in may("uma@x.example", "switch.enable", BOT, DIRECTORY).reason
    )
    assert "only its owner (olga@x.example) or an admin" in (
        may("kim@x.example", "system.apply", BOT, DIRECTORY).reason
    )
    assert "held by quinn@x.example" in (
        may("uma@x.example", "role.ack", BOT, DIRECTORY, role="quality_monitor").reason
    )
    assert "only kim@x.example, tess@x.example may drill" in (
        may("uma@x.example", "switch.drill", BOT, DIRECTORY).reason
    )
    assert "inactive" in may("ivy@x.example", "switch.disable", BOT, DIRECTORY).reason
    assert "not a person known" in may("nobody@x.example", "read", None, DIRECTORY).reason
    assert "only admins may issue API tokens" in (
        may("kim@x.example", "token.create", None, DIRECTORY).reason
    )


def test_a_new_system_is_judged_by_the_owner_it_names() -> None:
    assert may("olga@x.example", "system.apply", BOT, DIRECTORY).allowed
    assert not may("uma@x.example", "system.apply", BOT, DIRECTORY).allowed


def test_a_playbook_disables_only_where_the_runbook_pre_authorises_it() -> None:
    bot = system(harm={"auto_disable": True}, drop={"auto_disable": False})
    assert may("playbook:harm", "switch.disable", bot, DIRECTORY).allowed
    refused = may("playbook:drop", "switch.disable", bot, DIRECTORY)
    assert not refused.allowed
    assert "auto_disable is false" in refused.reason
    assert "no playbook 'ghost'" in may("playbook:ghost", "switch.disable", bot, DIRECTORY).reason
    assert not may("playbook:harm", "switch.enable", bot, DIRECTORY).allowed
    assert not may("playbook:harm", "switch.drill", bot, DIRECTORY).allowed
    assert not may("playbook:harm", "system.apply", bot, DIRECTORY).allowed


# --- the system's own people: incidents, triage, reviews, decisions, care, knowledge, data -------

ANSWERED = SystemManifest.model_validate(
    {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot"},
        "spec": {
            "charter": {
                "owner": "olga@x.example",
                "quality_monitor": "quinn@x.example",
                "retraining_decider": "deciders",
                "data_liaison": "dan@x.example",
                "kill_authority": ["kim@x.example", "oncall", "ivy@x.example"],
            },
            "runbook": {"escalation": {"levels": [{"notify": ["pat@x.example"]}]}},
        },
    }
)
PEOPLE_TOO = Directory.of(
    [
        *DIRECTORY.people.values(),
        *(PersonRecord(e, "", True, False) for e in ("rita@x.example", "dan@x.example")),
        *(PersonRecord(e, "", True, False) for e in ("pat@x.example", "tara@x.example")),
    ],
    [*DIRECTORY.teams.values(), TeamRecord("deciders", ["rita@x.example"])],
)
ANSWERABLE = [
    "incident.ack",
    "incident.resolve",
    "incident.serious",
    "care.log",
    "knowledge.record",
    "postmortem.write",
    "observations.write",
    "feedback.write",
    "flag.write",
]


@pytest.mark.parametrize("action", ANSWERABLE)
@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        ("olga@x.example", True),
        ("rita@x.example", True),  # retraining decider, through the team `deciders`
        ("dan@x.example", True),
        ("tess@x.example", True),  # kill authority through the team `oncall`
        ("pat@x.example", True),  # on the escalation path only
        ("adam@x.example", True),
        ("uma@x.example", False),
        ("tara@x.example", False),
        ("ivy@x.example", False),  # named, but has left
    ],
)
def test_those_who_answer_for_a_system_act_on_it(actor: str, action: str, allowed: bool) -> None:
    decision = may(actor, action, ANSWERED, PEOPLE_TOO)  # type: ignore[arg-type]
    assert decision.allowed is allowed, decision.reason


@pytest.mark.parametrize(
    ("actor", "action", "assignee", "allowed"),
    [
        ("tara@x.example", "triage.verdict", "tara@x.example", True),
        ("tess@x.example", "triage.verdict", "oncall", True),  # a team assignee is its members
        ("dan@x.example", "triage.verdict", "tara@x.example", True),  # any role holder
        ("pat@x.example", "triage.verdict", "tara@x.example", False),  # the path is not enough
        ("adam@x.example", "triage.verdict", None, True),
        ("olga@x.example", "review.sign", None, True),
        ("quinn@x.example", "review.sign", None, False),  # another role holder signs nothing
        ("adam@x.example", "review.sign", None, True),
        ("rita@x.example", "decision.close", "deciders", True),  # the team it is assigned to
        ("olga@x.example", "decision.close", "deciders", False),
        ("adam@x.example", "decision.close", "deciders", True),
        ("rita@x.example", "decision.close", "kim@x.example", False),  # someone else's call
        ("rita@x.example", "decision.close", "ivy@x.example", True),  # ivy left: the decider
        ("rita@x.example", "decision.close", None, True),  # assigned to nobody: the decider
        ("dan@x.example", "system.eval", None, False),
        ("quinn@x.example", "system.eval", None, True),
    ],
)
def test_items_and_decisions_are_their_assignees(
    actor: str, action: str, assignee: str | None, allowed: bool
) -> None:
    decision = may(actor, action, ANSWERED, PEOPLE_TOO, assignee=assignee)  # type: ignore[arg-type]
    assert decision.allowed is allowed, decision.reason


def test_a_refusal_names_who_may_instead() -> None:
    assert may("uma@x.example", "observations.write", ANSWERED, PEOPLE_TOO).reason == (
        "uma@x.example may not write observations of bot: only someone holding a role in its "
        "charter or on its escalation path (olga@x.example, quinn@x.example, deciders, "
        "dan@x.example, kim@x.example, oncall, ivy@x.example, pat@x.example) or an admin may"
    )
    assert (
        "only the decision's assignee, else its retraining decider (kim@x.example)"
        in (
            may("rita@x.example", "decision.close", ANSWERED, PEOPLE_TOO, assignee="kim@x.example")
        ).reason
    )


def test_every_action_has_a_rule() -> None:
    for action in ACTIONS:
        assert may("adam@x.example", action, ANSWERED, PEOPLE_TOO).reason
