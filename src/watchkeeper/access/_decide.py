"""Who may do what: one pure function over the people directory and a system's manifest.

Every refusal names what is missing (the role, the person, the setting), because the message is
shown to the refused person as is and stored in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from watchkeeper.charter.roles import Directory, holding_roles
from watchkeeper.manifest import ROLES, SystemManifest

Action = Literal[
    "read",
    "system.apply",
    "people.apply",
    "role.ack",
    "switch.disable",
    "switch.enable",
    "person.deactivate",
    "token.create",
    "scheduler.tick",
]
PLAYBOOK_PREFIX = "playbook:"
_ADMIN_ONLY = {
    "people.apply": "apply people and teams",
    "person.deactivate": "deactivate people",
    "token.create": "issue API tokens",
    "scheduler.tick": "run the scheduler by hand (servers tick by themselves)",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def may(
    actor: str,
    action: Action,
    system: SystemManifest | None,
    directory: Directory,
    *,
    role: str | None = None,
) -> Decision:
    """Whether `actor` may take `action` on `system`.

    For `system.apply`, pass the stored manifest when the system exists (its current owner
    decides) and the submitted one otherwise (whoever it names as owner may register it).
    For `role.ack`, `role` is the role (or `all`) being acknowledged.
    """
    if actor.startswith(PLAYBOOK_PREFIX):
        return _playbook(actor.removeprefix(PLAYBOOK_PREFIX), action, system)
    person = directory.people.get(actor)
    if person is None:
        return Decision(False, f"{actor} is not a person known to Watchkeeper; apply People first")
    if not person.active:
        return Decision(False, f"{actor} is inactive (has left): they may no longer act here")
    if action == "read":
        return Decision(True, "an active person may read")
    if action in _ADMIN_ONLY:
        if person.admin:
            return Decision(True, "admin")
        return Decision(False, f"{actor} is not an admin; only admins may {_ADMIN_ONLY[action]}")
    if system is None:
        raise ValueError(f"{action} needs the system's manifest")
    charter = system.spec.charter
    if action == "system.apply":
        if actor in _members(directory, [charter.owner] if charter.owner else []):
            return Decision(True, f"owner of {system.name}")
        if person.admin:
            return Decision(True, "admin")
        return Decision(
            False,
            f"{actor} may not apply {system.name}: only its owner "
            f"({charter.owner or 'nobody named'}) or an admin may",
        )
    if action == "role.ack":
        held = [r for r, _ in holding_roles(charter, directory, actor) if role in (r, "all")]
        if held:
            return Decision(True, f"holds {', '.join(dict.fromkeys(held))} on {system.name}")
        if role not in ROLES:
            return Decision(False, f"{actor} holds no role on {system.name}")
        named = ", ".join(charter.holders(role)) or "nobody"
        return Decision(
            False,
            f"{actor} does not hold {role} on {system.name} (held by {named}); a role holder "
            "acknowledges only their own role",
        )
    authorities = _members(directory, charter.kill_authority)
    if actor in authorities:
        return Decision(True, f"kill authority of {system.name}")
    return Decision(
        False,
        f"{actor} is not a kill authority of {system.name}; only "
        f"{', '.join(sorted(authorities)) or 'its kill authorities (none active)'} may "
        f"{'disable' if action == 'switch.disable' else 'enable'} it "
        "(spec.charter.kill_authority)",
    )


def _members(directory: Directory, refs: list[str]) -> set[str]:
    """Active people a list of names stands for (teams resolved to their active members)."""
    return {m for ref in refs for m in directory.members(ref) if directory.is_active(m)}


def _playbook(name: str, action: Action, system: SystemManifest | None) -> Decision:
    """A playbook acts only by pre-authorisation in the runbook, and only to disable."""
    if action != "switch.disable" or system is None:
        return Decision(
            False, f"playbook {name} may only disable a system's switch; people do the rest"
        )
    playbook = system.spec.runbook.playbooks.get(name)
    if playbook is None:
        return Decision(False, f"{system.name} has no playbook {name!r} in spec.runbook.playbooks")
    if not playbook.auto_disable:
        return Decision(
            False,
            f"playbook {name} of {system.name} does not pre-authorise automatic disabling "
            f"(spec.runbook.playbooks.{name}.auto_disable is false); a kill authority decides",
        )
    return Decision(True, f"pre-authorised by spec.runbook.playbooks.{name}.auto_disable")
