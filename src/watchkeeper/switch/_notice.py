"""What the people answerable for a system are told when its switch flips: a pure function of
the flip, so that every face (CLI, API, playbook) tells the same thing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchkeeper.access import PLAYBOOK_PREFIX
from watchkeeper.alerting.notifiers import Message
from watchkeeper.switch._state import SwitchState


def told(manifest: Mapping[str, Any]) -> list[str]:
    """The owner and every kill authority: whoever may have to undo the flip, or answer for it.
    A person who flips is a kill authority, so they are told too — a receipt, and a warning if
    it was not them."""
    charter = manifest.get("spec", {}).get("charter") or {}
    names = [charter.get("owner"), *(charter.get("kill_authority") or [])]
    return list(dict.fromkeys(name for name in names if name))


def flip_message(state: SwitchState, actor: str, public_url: str | None) -> Message:
    """The notice of one flip. A playbook's kill is critical: nobody chose it at that moment,
    so a kill authority must look now; a person's flip is a receipt (a warning when off)."""
    system, off = state.system, state.state == "disabled"
    by_playbook = actor.startswith(PLAYBOOK_PREFIX)
    if off:
        title = f"{system} was taken offline by {actor}"
        serving = (
            f"Serving code with the Watchkeeper SDK stops calling the model now and serves its "
            f"fallback: {state.fallback or '(none declared in spec.kill_switch.fallback)'}."
        )
        undo = (
            f'To bring it back (kill authorities only):\n  wk restore {system} --reason "why it '
            f'is safe again"'
        )
    else:
        title = f"{system} was put back online by {actor}"
        serving = "Serving code with the Watchkeeper SDK calls the model again now."
        undo = (
            f"To take it offline again (kill authorities only):\n  wk kill {system} --reason "
            f'"what is wrong"'
        )
    body = (
        f"{actor} switched {system} {'OFF' if off else 'ON'} (switch version {state.version}).\n"
        f"Reason: {state.reason}\n\n{serving}\n\n{undo}"
    )
    links: tuple[tuple[str, str], ...] = ()
    if public_url:
        links = (("Open the kill switch", f"{public_url.rstrip('/')}/systems/{system}#switch"),)
    return Message(
        "notice",
        system,
        title,
        "critical" if by_playbook else "warning" if off else "info",
        body,
        "",
        dedup_key=f"watchkeeper/{system}/switch/{state.version}",
        links=links,
        details={"switch": state.to_dict()},
    )
