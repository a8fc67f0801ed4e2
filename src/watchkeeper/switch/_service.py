"""The kill switch's shell: authority-checked, reasoned, versioned flips, each audited and
announced (so every server process wakes its long-polls at commit)."""

from __future__ import annotations

from datetime import datetime

from watchkeeper.access import PLAYBOOK_PREFIX, AccessService, Action
from watchkeeper.errors import ActionError
from watchkeeper.store import Store, SwitchRecord
from watchkeeper.switch._state import CHANNEL, STATES, SwitchChange, SwitchState, state_of

MAX_REASON = 2000


class SwitchService:
    def __init__(self, store: Store, access: AccessService) -> None:
        self.store = store
        self.access = access

    def state(self, system: str) -> SwitchState:
        with self.store.read() as unit:
            record = unit.system(system)
            if record is None:
                raise ActionError("not_found", f"no system {system!r}")
            return state_of(record, unit.switch(system))

    def versions(self) -> dict[str, int]:
        """Every flipped switch's version: a cheap scan for noticing moves made elsewhere."""
        with self.store.read() as unit:
            return {s.system: s.version for s in unit.switches()}

    def set(self, system: str, state: str, reason: str, actor: str, now: datetime) -> SwitchChange:
        """Flip as a person: only the system's active kill authorities may, always with a
        reason. Local mode goes through here too, so the authority holds on either face."""
        reason = _valid(state, reason)
        action: Action = "switch.disable" if state == "disabled" else "switch.enable"
        self.access.authorize(actor, action, now, system=system, target=f"{system}/switch")
        return self._flip(system, state, reason, actor, now, {})

    def auto_disable(self, system: str, playbook: str, reason: str, now: datetime) -> SwitchChange:
        """Disable on behalf of a runbook playbook (actor `playbook:NAME`); refused, and the
        refusal audited, unless that playbook says `auto_disable: true`."""
        reason = _valid("disabled", reason)
        actor = f"{PLAYBOOK_PREFIX}{playbook}"
        self.access.authorize(
            actor, "switch.disable", now, system=system, target=f"{system}/switch"
        )
        return self._flip(
            system, "disabled", reason, actor, now, {"automatic": True, "playbook": playbook}
        )

    def _flip(
        self,
        system: str,
        state: str,
        reason: str,
        actor: str,
        now: datetime,
        note: dict[str, object],
    ) -> SwitchChange:
        with self.store.write() as unit:
            record = unit.system(system)
            if record is None:
                raise ActionError("not_found", f"no system {system!r}")
            current = state_of(record, unit.switch(system))
            if current.state == state:
                return SwitchChange(current, changed=False)
            flipped = SwitchRecord(system, state, current.version + 1, reason, actor, now)
            unit.save_switch(flipped)
            unit.audit(
                now=now,
                actor=actor,
                action="switch.changed",
                target=f"{system}/switch",
                system=system,
                before={"state": current.state, "version": current.version},
                after={"state": state, "version": flipped.version, **note},
                reason=reason,
            )
            unit.notify(CHANNEL, system)
            return SwitchChange(state_of(record, flipped), changed=True)


def _valid(state: str, reason: str) -> str:
    if state not in STATES:
        raise ActionError("invalid", f"state must be enabled or disabled, not {state!r}")
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(
            "invalid", "a reason is required: say why (it goes into the audit trail and to the SDK)"
        )
    if len(reason) > MAX_REASON:
        raise ActionError(
            "invalid", f"the reason is {len(reason)} characters; at most {MAX_REASON}"
        )
    return reason
