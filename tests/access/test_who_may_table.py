"""The README's "who may do what" table, checked against `may` itself: each row's people are
exactly those `may` allows, in an organisation where everyone holds one thing, and its last
column says whether the local CLI checks the action (`TRUSTED_LOCALLY`). A rule changed in
code and not in the README, or the other way round, fails here."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from watchkeeper.access import ACTIONS, TRUSTED_LOCALLY, Action, Directory, may
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import PersonRecord

README = Path(__file__).parents[2] / "README.md"
HEADER = "| action | who may | enforced in local CLI mode |"

OWNER, MONITOR, DECIDER, LIAISON, KILLER = "olga", "quinn", "rita", "dan", "kim"
PATH, ASSIGNEE, REGISTRAR, SUBJECT, NOBODY, ADMIN = "pat", "ally", "reg", "sam", "uma", "adam"
PLAYBOOK = "playbook:harm"
PEOPLE = [OWNER, MONITOR, DECIDER, LIAISON, KILLER, PATH, ASSIGNEE, REGISTRAR, SUBJECT, NOBODY]
DIRECTORY = Directory.of(
    [PersonRecord(p, "", True, False) for p in PEOPLE] + [PersonRecord(ADMIN, "", True, True)]
)
SYSTEM = SystemManifest.model_validate(
    {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot"},
        "spec": {
            "charter": {
                "owner": OWNER,
                "quality_monitor": MONITOR,
                "retraining_decider": DECIDER,
                "data_liaison": LIAISON,
                "kill_authority": [KILLER],
            },
            "runbook": {
                "escalation": {"levels": [{"notify": [PATH]}]},
                "playbooks": {"harm": {"auto_disable": True}},
            },
        },
    }
)
ROLE = "quality_monitor"  # the role `role.ack` is asked about

# What each phrase of the table's middle column stands for here, given the assignee (if any) of
# the item or decision acted on.
TERMS: dict[str, Callable[[str | None], set[str]]] = {
    "anyone active": lambda _: {*PEOPLE, ADMIN},
    "owner": lambda _: {OWNER},
    "quality monitor": lambda _: {MONITOR},
    "retraining decider": lambda _: {DECIDER},
    "kill authorities": lambda _: {KILLER},
    "role holders": lambda _: {OWNER, MONITOR, DECIDER, LIAISON, KILLER},
    "escalation path": lambda _: {PATH},
    "admins": lambda _: {ADMIN},
    "registrars": lambda _: {REGISTRAR},
    "themselves": lambda _: {SUBJECT},
    "holders of that role": lambda _: {MONITOR},
    "pre-authorised playbooks": lambda _: {PLAYBOOK},
    "the item's assignee": lambda assignee: {assignee} if assignee else set(),
    "the decision's assignee (else the retraining decider)": (
        lambda assignee: {assignee} if assignee else {DECIDER}
    ),
}


def table() -> dict[str, tuple[str, str]]:
    """action -> (who may, enforced locally), from the README's rows."""
    lines = README.read_text(encoding="utf-8").splitlines()
    rows = itertools.takewhile(lambda line: line.startswith("|"), lines[lines.index(HEADER) + 2 :])
    found: dict[str, tuple[str, str]] = {}
    for row in rows:
        actions, who, local = (cell.strip() for cell in row.strip("|").split("|"))
        for action in re.findall(r"`([a-z.]+)`", actions):
            assert action not in found, f"{action} has two rows"
            found[action] = (who, local)
    return found


def allowed(action: Action, assignee: str | None) -> set[str]:
    return {
        actor
        for actor in [*PEOPLE, ADMIN, PLAYBOOK]
        if may(
            actor,
            action,
            SYSTEM,
            DIRECTORY,
            role=ROLE,
            registrars=(REGISTRAR,),
            subject=SUBJECT,
            assignee=assignee,
        ).allowed
    }


def claimed(who: str, assignee: str | None) -> set[str]:
    return {person for term in who.split(", ") for person in TERMS[term](assignee)}


def test_every_action_has_one_row() -> None:
    assert sorted(table()) == sorted(ACTIONS)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("assignee", [ASSIGNEE, None], ids=["assigned", "unassigned"])
def test_each_row_names_whom_may_allows(action: Action, assignee: str | None) -> None:
    who, _ = table()[action]
    assert claimed(who, assignee) == allowed(action, assignee)


@pytest.mark.parametrize("action", ACTIONS)
def test_each_row_says_whether_the_local_cli_decides_it(action: Action) -> None:
    _, local = table()[action]
    assert local == ("no" if action in TRUSTED_LOCALLY else "yes")
