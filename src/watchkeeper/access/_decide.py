"""Who may do what: one pure function over the people directory and a system's manifest.

Every action a person or a playbook takes is decided here, whichever face asks (API, dashboard,
local CLI) and whichever stage then acts. A service token is a third kind of actor, decided
before the people's rules as a playbook is: it serves one system, and may only feed it and read
its kill switch. Teams stand for their active members, resolved in one place
(`Directory.members`). Every refusal names what is missing (the role, the person, the setting),
because the message is shown to the refused person as is and stored in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from watchkeeper.access._directory import Directory, holding_roles
from watchkeeper.manifest import ROLES, SystemManifest

Action = Literal[
    "read",
    "system.apply",
    "system.register",
    "people.apply",
    "person.deactivate",
    "person.reactivate",
    "token.create",
    "token.list",
    "token.revoke",
    "scheduler.tick",
    "portfolio.silence",
    "role.ack",
    "switch.disable",
    "switch.enable",
    "switch.drill",
    "system.silence",
    "system.eval",
    "system.rehearse",
    "incident.ack",
    "incident.resolve",
    "incident.serious",
    "triage.verdict",
    "review.sign",
    "decision.close",
    "care.log",
    "knowledge.record",
    "postmortem.write",
    "observations.write",
    "feedback.write",
    "flag.write",
]
ACTIONS: tuple[Action, ...] = get_args(Action)
PLAYBOOK_PREFIX = "playbook:"
SERVICE_PREFIX = "service:"
SCIM_PREFIX = "scim:"

# What a local CLI process (one that opens the database itself) does unchecked: whoever can open
# the database can rewrite it anyway, and these are how it is set up (manifests, people, tokens,
# a tick by hand) and fed (`wk ingest` files; the demo replays its systems' SDKs). Everything
# else names a person's decision, so it is checked — and a refusal recorded — whichever face asks.
TRUSTED_LOCALLY: frozenset[Action] = frozenset(
    {
        "read",
        "system.apply",
        "system.register",
        "people.apply",
        "person.deactivate",
        "person.reactivate",
        "token.create",
        "token.list",
        "token.revoke",
        "scheduler.tick",
        "observations.write",
        "feedback.write",
        "flag.write",
    }
)
_ADMIN_ONLY = {
    "people.apply": "apply people and teams",
    "person.deactivate": "deactivate people",
    "person.reactivate": "reactivate people",
    "portfolio.silence": "silence every system at once (name a system to silence only it)",
    "scheduler.tick": "run the scheduler by hand (servers tick by themselves)",
}

# The names (people or teams) a system's manifest gives for an action, given the assignee of the
# thing acted on (a triage item, a pending decision), if it has one.
Names = Callable[[SystemManifest, Directory, str | None], list[str]]


def _holding(*roles: str) -> Names:
    def names(system: SystemManifest, directory: Directory, assignee: str | None) -> list[str]:
        return [ref for role in roles for ref in system.spec.charter.holders(role)]

    return names


def _escalation_path(
    system: SystemManifest, directory: Directory, assignee: str | None
) -> list[str]:
    return [ref for level in system.spec.runbook.escalation.levels for ref in level.notify]


def _assignee(system: SystemManifest, directory: Directory, assignee: str | None) -> list[str]:
    return [assignee] if assignee else []


def _any_of(*parts: Names) -> Names:
    def names(system: SystemManifest, directory: Directory, assignee: str | None) -> list[str]:
        return [ref for part in parts for ref in part(system, directory, assignee)]

    return names


def _else(first: Names, fallback: Names) -> Names:
    """`first` while it stands for someone active; once they left (or their team emptied), or
    when nobody was named, `fallback` — so no decision is left that nobody may make."""

    def names(system: SystemManifest, directory: Directory, assignee: str | None) -> list[str]:
        named = first(system, directory, assignee)
        return named if _members(directory, named) else fallback(system, directory, assignee)

    return names


@dataclass(frozen=True)
class _Named:
    """An action on one system for the people its manifest names for it, and for admins."""

    names: Names
    who: str  # those people, in words, for a refusal
    doing: str  # completes "<actor> may not <doing> <system>"


_ROLE_HOLDERS = _holding(*ROLES)


def _answerable(doing: str) -> _Named:
    """Those who answer for a system: its role holders and the people its alerts page. Its
    incidents, care and knowledge are theirs; so is its data, which its alerts and playbooks act
    on up to disabling it (a service token is granted the writes of one system's data)."""
    return _Named(
        _any_of(_ROLE_HOLDERS, _escalation_path),
        "someone holding a role in its charter or on its escalation path",
        doing,
    )


_NAMED: dict[Action, _Named] = {
    # re-applying a stored system: its current owner decides (registering one: the operator)
    "system.apply": _Named(_holding("owner"), "its owner", "apply"),
    # muting alerts keeps them from everyone they would page: those who act on them decide
    "system.silence": _Named(
        _any_of(_holding("owner", "quality_monitor", "kill_authority"), _escalation_path),
        "its owner, quality monitor, kill authorities or the people on its escalation path",
        "silence",
    ),
    # an eval run is a quality signal that alerts and playbooks act on
    "system.eval": _Named(
        _holding("owner", "quality_monitor", "retraining_decider"),
        "its owner, quality monitor or retraining decider",
        "record eval runs of",
    ),
    # a rehearsal's record is what the gate reads for "what happens if quality drops 20%?"
    "system.rehearse": _answerable("rehearse the runbook of"),
    "incident.ack": _answerable("acknowledge incidents of"),
    "incident.resolve": _answerable("resolve incidents of"),
    "incident.serious": _answerable("classify as serious the incidents of"),
    "care.log": _answerable("log care given to"),
    "knowledge.record": _answerable("record knowledge about"),
    "postmortem.write": _answerable("write postmortems of incidents of"),
    "observations.write": _answerable("write observations of"),
    "feedback.write": _answerable("write feedback on"),
    "flag.write": _answerable("flag observations of"),
    "triage.verdict": _Named(
        _any_of(_ROLE_HOLDERS, _assignee),
        "someone holding a role in its charter or the item's assignee",
        "record triage verdicts on",
    ),
    # the periodic review is the owner's signature on the period report
    "review.sign": _Named(_holding("owner"), "its owner", "sign off the review of"),
    "decision.close": _Named(
        _else(_assignee, _holding("retraining_decider")),
        "the decision's assignee, else its retraining decider",
        "close pending decisions of",
    ),
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
    assignee: str | None = None,
) -> Decision:
    """Whether `actor` may take `action` on `system`.

    `system.apply` re-applies a stored system (pass the stored manifest: its current owner
    decides); `system.register` records a new one (pass the submitted manifest): admins and
    the `registrars` (people or teams the operator named) may. For `role.ack`, `role` is the
    role (or `all`) being acknowledged; for `token.create`, `token.list` and `token.revoke`,
    `subject` is the person whose tokens they are, or none with `system` for that system's
    service tokens; for `triage.verdict` and `decision.close`, `assignee` is who the item or
    the decision is assigned to (a person or a team), if anyone. A service actor
    (`service:<system>/<label>`) is decided by `may_serve` alone.
    """
    if actor.startswith(PLAYBOOK_PREFIX):
        return _playbook(actor.removeprefix(PLAYBOOK_PREFIX), action, system)
    if actor.startswith(SERVICE_PREFIX):
        return may_serve(actor, action, system.name if system else None)
    if actor.startswith(SCIM_PREFIX):
        return Decision(
            False,
            f"{actor} is a SCIM token: it provisions people and teams at /scim/v2, nothing else",
        )
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
    if action in _SERVICE_TOKENS:
        return _tokens(actor, person.admin, action, system, directory, subject)
    if system is None:
        raise ValueError(f"{action} needs the system's manifest")
    if action in _NAMED:
        return _named(actor, person.admin, _NAMED[action], system, directory, assignee)
    if action == "system.register":
        return _register(actor, person.admin, system, directory, registrars)
    if action == "role.ack":
        return _acknowledge(actor, system, directory, role)
    if action in ("switch.disable", "switch.enable", "switch.drill"):
        return _kill_authority(actor, action, system, directory)
    raise ValueError(f"no rule decides {action!r}")


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


def _named(
    actor: str,
    admin: bool,
    rule: _Named,
    system: SystemManifest,
    directory: Directory,
    assignee: str | None,
) -> Decision:
    """The people named for it first (an admin who is named acts as named), then admins."""
    refs = rule.names(system, directory, assignee)
    if actor in _members(directory, refs):
        return Decision(True, f"named for it in {system.name}'s manifest")
    if admin:
        return Decision(True, "admin")
    named = ", ".join(dict.fromkeys(refs)) or "nobody named"
    return Decision(
        False,
        f"{actor} may not {rule.doing} {system.name}: only {rule.who} ({named}) or an admin may",
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


def _acknowledge(
    actor: str, system: SystemManifest, directory: Directory, role: str | None
) -> Decision:
    """An acknowledgement says "I know this is mine": nobody, not even an admin, gives it for
    someone else."""
    charter = system.spec.charter
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


_SWITCH_VERBS = {"switch.disable": "disable", "switch.enable": "enable", "switch.drill": "drill"}


def _kill_authority(
    actor: str, action: Action, system: SystemManifest, directory: Directory
) -> Decision:
    """Taking a system offline (or back) is the kill authorities' call alone: the charter names
    them so that nobody else, an admin included, flips it."""
    authorities = _members(directory, system.spec.charter.kill_authority)
    if actor in authorities:
        return Decision(True, f"kill authority of {system.name}")
    return Decision(
        False,
        f"{actor} is not a kill authority of {system.name}; only "
        f"{', '.join(sorted(authorities)) or 'its kill authorities (none active)'} may "
        f"{_SWITCH_VERBS[action]} it "
        "(spec.charter.kill_authority)",
    )


_SERVICE_TOKENS: dict[Action, _Named] = {
    "token.create": _Named(_holding("owner"), "its owner", "issue service tokens for"),
    "token.list": _Named(_holding("owner"), "its owner", "list the service tokens of"),
    "token.revoke": _Named(_holding("owner"), "its owner", "revoke service tokens of"),
}


def _tokens(
    actor: str,
    admin: bool,
    action: Action,
    system: SystemManifest | None,
    directory: Directory,
    subject: str | None,
) -> Decision:
    """A person's tokens are theirs and the admins' (only admins issue one: it acts as its
    person). A service token — no `subject`, a `system` — is its system's owner's, who answers
    for the serving code that holds it, and the admins'."""
    if subject is None and system is not None:
        return _named(actor, admin, _SERVICE_TOKENS[action], system, directory, None)
    if action != "token.create":
        return _own_tokens(actor, admin, action, subject)
    if admin:
        return Decision(True, "admin")
    return Decision(
        False,
        f"{actor} is not an admin; only admins may issue API tokens to people (a system's "
        "owner may issue its service tokens: `wk token create --service SYSTEM`)",
    )


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


def service_actor(system: str, label: str) -> str:
    """How a service token acts, and is named in the audit trail: `service:<system>/<label>`
    (system names are slugs, so the first `/` ends the system)."""
    return f"{SERVICE_PREFIX}{system}/{label}"


def scim_actor(label: str) -> str:
    """How an identity provider's SCIM token acts, and is named in the audit trail."""
    return f"{SCIM_PREFIX}{label}"


def service_system(actor: str) -> str | None:
    """The one system a service actor serves; None for a person or a playbook."""
    if not actor.startswith(SERVICE_PREFIX):
        return None
    return actor.removeprefix(SERVICE_PREFIX).partition("/")[0]


# What serving code does, each for its own system only: all a service token is for.
_SERVING: dict[Action, str] = {
    "observations.write": "write observations of",
    "feedback.write": "write feedback on",
    "flag.write": "flag observations of",
    "read": "read the kill switch of",
}


def may_serve(actor: str, action: Action, system: str | None) -> Decision:
    """A service token feeds one system — its observations, feedback and flags — and reads that
    system's kill switch: its one read, asked with the system named (the API lets no other read
    reach it). Another system, any other read, any person's action: refused, naming the scope.
    Decided on names alone, so a token is never told whether another system exists."""
    scope = service_system(actor)
    if action in _SERVING and system is not None and system == scope:
        return Decision(True, f"service token of {scope}")
    if action not in _SERVING:
        return out_of_scope(actor, f"{action}, which people do")
    if system is None:
        return out_of_scope(actor, "read anything else" if action == "read" else action)
    return out_of_scope(actor, f"{_SERVING[action]} {system}")


def out_of_scope(actor: str, doing: str) -> Decision:
    """The refusal of a service token beyond its scope, saying what the scope is."""
    scope = service_system(actor)
    return Decision(
        False,
        f"{actor} is a service token of {scope}: it may only write observations, feedback and "
        f"flags of {scope} and read its kill switch, not {doing}",
    )
