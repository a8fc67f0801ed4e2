"""The kill switch's shell: authority-checked, reasoned, versioned flips, each audited and
announced (so every server process wakes its long-polls at commit)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from watchkeeper.access import PLAYBOOK_PREFIX, AccessService, Action
from watchkeeper.errors import ActionError
from watchkeeper.store import Store, SwitchRecord
from watchkeeper.switch._notice import flip_message, told
from watchkeeper.switch._state import CHANNEL, STATES, SwitchChange, SwitchState, state_of

if TYPE_CHECKING:
    from watchkeeper.alerting.courier import Courier

MAX_REASON = 2000
log = logging.getLogger(__name__)


class SwitchService:
    def __init__(
        self,
        store: Store,
        access: AccessService,
        courier: Callable[[], Courier] | None = None,
    ) -> None:
        """`courier` is built only once a flip has something to tell, in the thread that tells
        it: `wk kill` answers before loading what delivery needs."""
        self.store = store
        self.access = access
        self.courier = courier
        self._telling: list[threading.Thread] = []

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
            change = SwitchChange(state_of(record, flipped), changed=True)
        self._tell(change.state, actor, told(record.manifest), now)
        return change

    def _tell(self, state: SwitchState, actor: str, names: list[str], now: datetime) -> None:
        """Tell the owner and the kill authorities, off the flipping thread: the flip took
        effect at commit, and a mail server that is slow or down must not hold `wk kill`'s
        answer (a delivery retries for seconds). `drain` waits for what is on its way."""
        make = self.courier
        if make is None:
            return

        def deliver() -> None:
            try:
                courier = make()
                message = flip_message(state, actor, courier.public_url)
                courier.send(message, courier.people(names), now=now, purpose="switch")
            except Exception:  # a notice that failed must not pass silently, nor kill a thread
                log.exception("telling %s of the flip of %s failed", names, state.system)

        thread = threading.Thread(target=deliver, name=f"switch-notice-{state.system}")
        self._telling = [t for t in self._telling if t.is_alive()] + [thread]
        thread.start()

    def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the flips' notices still being delivered."""
        for thread in self._telling:
            thread.join(timeout)


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
