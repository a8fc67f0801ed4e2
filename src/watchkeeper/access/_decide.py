"""Who may do what: one pure function over the people directory and a system's manifest.

Every refusal names what is missing (the role, the person, the setting), because the message is
shown to the refused person as is and stored in the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from watchkeeper.charter.roles import Directory, holding_roles
from watchkeeper.manifest import ROLES, SystemManifest

Action = Literal[
    "read",
    "system.apply",
    "system.register",
    "system.silence",
    "system.eval",
    "portfolio.silence",
    "people.apply",
    "role.ack",
    "switch.disable",
    "switch.enable",
    "person.deactivate",
    "person.reactivate",
    "token.create",
    "token.list",
    "token.revoke",
    "scheduler.tick",
]
PLAYBOOK_PREFIX = "playbook:"
_ANSWERABLE = ("owner", "quality_monitor", "kill_authority")
_EVALUATORS = ("owner", "quality_monitor", "retraining_decider")
_ADMIN_ONLY = {
    "people.apply": "apply people and teams",
    "person.deactivate": "deactivate people",
    "person.reactivate": "reactivate people",
    "portfolio.silence": "silence every system at once (name a system to silence only it)",
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
    registrars: Sequence[str] = (),
    subject: str | None = None,
) -> Decision:
    """Whether `actor` may take `action` on `system`.

    `system.apply` re-applies a stored system (pass the stored manifest: its current owner
    decides); `system.register` records a new one (pass the submitted manifest): admins and
    the `registrars` (people or teams the operator named) may. For `role.ack`, `role` is the
    role (or `all`) being acknowledged; for `token.list` and `token.revoke`, `subject` is the
    person whose tokens they are.
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
    if action in ("token.list", "token.revoke"):
        return _own_tokens(actor, person.admin, action, subject)
    if system is None:
        raise ValueError(f"{action} needs the system's manifest")
    charter = system.spec.charter
    if action == "system.register":
        return _register(actor, person.admin, system, directory, registrars)
    if action == "system.silence":
        return _silence(actor, person.admin, system, directory)
    if action == "system.eval":
        return _evaluate(actor, person.admin, system, directory)
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


def may_apply_anything(
    actor: str, owners: Sequence[str], directory: Directory, registrars: Sequence[str]
) -> Decision:
    """Whether any manifest could be the actor's to apply — asked before a submission is
    parsed, so someone who may apply nothing cannot make the server parse YAML for them."""
    person = directory.people.get(actor)
    if person is None or not person.active:
        return Decision(False, f"{actor} is not an active person here")
    granted = _granted(actor, person.admin, directory, registrars)
    if granted:
        return granted
    if actor in _members(directory, list(owners)):
        return Decision(True, "owns a system")
    named = ", ".join(registrars) or "none set"
    return Decision(
        False,
        f"{actor} may apply nothing: only a system's owner, an admin or the registrars named "
        f"in WATCHKEEPER_REGISTRARS ({named}) may apply manifests",
    )


def _register(
    actor: str,
    admin: bool,
    system: SystemManifest,
    directory: Directory,
    registrars: Sequence[str],
) -> Decision:
    """A new system is a new thing for the portfolio to answer for (and, with evals, code a
    server may be asked about): the operator decides who may add one, not the manifest."""
    granted = _granted(actor, admin, directory, registrars)
    if granted:
        return granted
    named = ", ".join(registrars) or "none set"
    return Decision(
        False,
        f"{actor} may not register the new system {system.name}: only admins and the "
        f"registrars named in WATCHKEEPER_REGISTRARS ({named}) may register systems; "
        "re-applying a system one owns needs no such right",
    )


def _granted(
    actor: str, admin: bool, directory: Directory, registrars: Sequence[str]
) -> Decision | None:
    """The operator's grants to add systems: admins, and the registrars named in settings."""
    if admin:
        return Decision(True, "admin")
    if actor in _members(directory, list(registrars)):
        return Decision(True, "registrar (WATCHKEEPER_REGISTRARS)")
    return None


def _silence(actor: str, admin: bool, system: SystemManifest, directory: Directory) -> Decision:
    """Muting a system's alerts keeps them from everyone it would page, so only those who
    answer for it may: the owner, the quality monitor, the kill authorities (who act on its
    alerts) and the people on its escalation path (who receive them)."""
    charter = system.spec.charter
    answerable = [
        *(ref for role in _ANSWERABLE for ref in charter.holders(role)),
        *(ref for level in system.spec.runbook.escalation.levels for ref in level.notify),
    ]
    return _one_of(
        actor,
        admin,
        _members(directory, answerable),
        f"answers for {system.name}",
        f"silence {system.name}: only its owner, quality monitor, kill authorities, the people "
        "on its escalation path, or an admin may",
    )


def _evaluate(actor: str, admin: bool, system: SystemManifest, directory: Directory) -> Decision:
    """An eval run is a quality signal that alerts and playbooks act on — up to disabling the
    system — so only those who answer for its quality record one: its owner, quality monitor
    and retraining decider (whose call it informs), or an admin."""
    charter = system.spec.charter
    evaluators = [ref for role in _EVALUATORS for ref in charter.holders(role)]
    return _one_of(
        actor,
        admin,
        _members(directory, evaluators),
        f"answers for the quality of {system.name}",
        f"record eval runs of {system.name}: only its owner, quality monitor, retraining "
        "decider or an admin may",
    )


def _one_of(actor: str, admin: bool, allowed: set[str], why: str, refusal: str) -> Decision:
    """The people named for something, or an admin; `refusal` completes "<actor> may not ..."."""
    if actor in allowed:
        return Decision(True, why)
    if admin:
        return Decision(True, "admin")
    return Decision(False, f"{actor} may not {refusal}")


def _own_tokens(actor: str, admin: bool, action: Action, subject: str | None) -> Decision:
    verb = "list" if action == "token.list" else "revoke"
    if subject == actor:
        return Decision(True, "their own tokens")
    if admin:
        return Decision(True, "admin")
    return Decision(
        False,
        f"{actor} may {verb} only their own API tokens; only admins may {verb} "
        f"{'everyone' if subject is None else subject}'s",
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
