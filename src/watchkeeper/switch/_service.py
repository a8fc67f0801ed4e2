"""The kill switch's shell: authority-checked, reasoned, versioned flips, each audited and
announced (so every server process wakes its long-polls at commit); the roll call of the SDK
processes that report, with their long-polls, the version they hold; the wait after a flip for
those processes to confirm it, its outcome appended to the audit trail as `switch.confirmed`
when the wait ends; and drills, version moves without a flip that the same roll call confirms,
each recorded with its outcome and audited as `switch.drill`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from watchkeeper.access import PLAYBOOK_PREFIX, AccessService, Action
from watchkeeper.clock import Clock
from watchkeeper.errors import ActionError
from watchkeeper.store import DrillRecord, ProcessRecord, Store, SwitchRecord, SystemRecord, Unit
from watchkeeper.switch._confirm import LIVE_BEATS, Confirmation, confirmation, merged, needs_write
from watchkeeper.switch._drill import DEFAULT_DRILL_REASON, outcome
from watchkeeper.switch._notice import flip_message, told
from watchkeeper.switch._state import CHANNEL, STATES, SwitchChange, SwitchState, state_of

if TYPE_CHECKING:
    from watchkeeper.alerting.courier import Courier

MAX_REASON = 2000
MAX_HEARTBEAT = 300.0
"""The longest heartbeat (seconds) a process may promise: its silence is judged by it."""
MAX_WAIT = 30.0
"""The longest a flip waits for its confirmations (seconds)."""
_BATCH = 0.05  # gathers a burst of reports (every SDK re-polling after a flip) into one write
_CHECK = 0.05  # how often a waiting flip looks at the roll call
_FORGET_AFTER = timedelta(days=1)  # a process silent this long is gone (a new one gets a new id)
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
        self._telling_lock = threading.Lock()
        self._writing = threading.Lock()
        self._roll = threading.Lock()
        self._pending: dict[tuple[str, str], ProcessRecord] = {}
        self._written: dict[tuple[str, str], ProcessRecord] = {}
        self._forgotten_at: datetime | None = None
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None

    def state(self, system: str) -> SwitchState:
        with self.store.read() as unit:
            record = _system(unit, system)
            return state_of(record, unit.switch(system), _newest_drill(unit, system))

    def versions(self) -> dict[str, int]:
        """Every moved switch's version, flipped or drilled: a cheap scan for noticing moves
        made elsewhere."""
        with self.store.read() as unit:
            found = {s.system: s.version for s in unit.switches()}
            for system, drilled in unit.switch_processes.drill_versions().items():
                found[system] = max(found.get(system, 0), drilled)
            return found

    def set(
        self,
        system: str,
        state: str,
        reason: str,
        actor: str,
        now: datetime,
        justification: str | None = None,
    ) -> SwitchChange:
        """Flip as a person: only the system's active kill authorities may, always with a
        reason. Local mode goes through here too, so the authority holds on either face. A
        restore under a serious incident's evidence hold (EU AI Act Art. 73(6)) needs a
        `justification`, recorded on the incident; a kill never waits for one."""
        _known(state)
        reason = _reasoned(reason)
        action: Action = "switch.disable" if state == "disabled" else "switch.enable"
        self.access.authorize(actor, action, now, system=system, target=f"{system}/switch")
        return self._flip(system, state, reason, actor, now, {}, justification)

    def auto_disable(self, system: str, playbook: str, reason: str, now: datetime) -> SwitchChange:
        """Disable on behalf of a runbook playbook (actor `playbook:NAME`); refused, and the
        refusal audited, unless that playbook says `auto_disable: true`."""
        reason = _reasoned(reason)
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
        justification: str | None = None,
    ) -> SwitchChange:
        with self.store.write() as unit:
            record = _system(unit, system)
            unit.lock_switch(system)
            current = state_of(record, unit.switch(system), _newest_drill(unit, system))
            if current.state == state:
                return SwitchChange(current, changed=False)
            flipped = SwitchRecord(system, state, current.version + 1, reason, actor, now)
            if state == "enabled":  # a kill loads no alerting: it answers first
                from watchkeeper.alerting.serious import change_under_hold

                what = f"switch restored (version {flipped.version}): {reason}"
                change_under_hold(unit, system, "restore", what, justification, actor, now)
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
        with self._telling_lock:  # flips on several request threads at once
            self._telling = [t for t in self._telling if t.is_alive()] + [thread]
        thread.start()

    def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the flips' notices still being delivered, and write
        the reports heard and not yet stored."""
        deadline = time.monotonic() + timeout
        with self._telling_lock:
            telling = list(self._telling)
        for thread in telling:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._write_reports()

    # --- confirmations ----------------------------------------------------------------------

    def heard(self, report: ProcessRecord) -> None:
        """An SDK process reported with its poll. Stored in batches off the caller's path, and
        only what `needs_write` says: a poll costs a dictionary lookup, not a database write."""
        key = (report.system, report.process)
        with self._roll:
            pending = self._pending.get(key)
            last = self._written.get(key)
            if pending is None and not needs_write(last, report):
                return
            self._pending[key] = merged(pending or last, report)
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._write_forever, name="watchkeeper-switch-roll", daemon=True
                )
                self._writer.start()
        self._wake.set()

    def _write_forever(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(_BATCH)
            self._write_reports()

    def _write_reports(self) -> None:
        """One writer at a time, the taking and the writing together: `drain` returns only once
        a batch the background writer had already taken is stored too."""
        with self._writing:
            self._write_batch()

    def _write_batch(self) -> None:
        with self._roll:
            batch, self._pending = list(self._pending.values()), {}
        if not batch:
            return
        latest = max(r.last_seen for r in batch)
        forget = self._forgotten_at is None or latest - self._forgotten_at >= timedelta(hours=1)
        try:
            with self.store.write() as unit:
                unit.switch_processes.heard(batch)
                if forget:
                    unit.switch_processes.forget(latest - _FORGET_AFTER)
        except Exception:  # the next report of each process is written instead
            log.exception("cannot store %d SDK processes' switch reports", len(batch))
            return
        with self._roll:
            if forget:
                self._forgotten_at = latest
            for report in batch:
                self._written[(report.system, report.process)] = report
            silent = timedelta(seconds=LIVE_BEATS * MAX_HEARTBEAT)
            for key, known in list(self._written.items()):
                if latest - known.last_seen > silent:
                    del self._written[key]

    def confirmations(self, system: str, now: datetime) -> Confirmation:
        """The current switch's flip as the live SDK processes confirm it at `now`."""
        return self._confirmation(self.state(system), now)

    def _confirmation(self, flip: SwitchState, now: datetime) -> Confirmation:
        since = (flip.version_at or now) - timedelta(seconds=LIVE_BEATS * MAX_HEARTBEAT)
        with self.store.read() as unit:
            processes = unit.switch_processes.processes(flip.system, seen_since=since)
        return confirmation(flip, processes, now)

    def _await(self, flip: SwitchState, wait: float, clock: Clock) -> Confirmation:
        """The confirmation once every process live at the move reported its version, or when
        `wait` seconds (at most `MAX_WAIT`) are over. The wait is real time; the instants are
        `clock`'s."""
        deadline = time.monotonic() + min(wait, MAX_WAIT)
        while True:
            report = self._confirmation(flip, clock.now())
            if report.complete or time.monotonic() >= deadline:
                return report
            time.sleep(_CHECK)

    def await_confirmation(
        self, change: SwitchChange, actor: str, wait: float, clock: Clock
    ) -> Confirmation:
        """Wait up to `wait` seconds for every process live at the flip to report its version
        (`_await`), then append what was confirmed to the audit trail: by whom, in how long,
        and who straggled."""
        report = self._await(change.state, wait, clock)
        with self.store.write() as unit:
            unit.audit(
                now=report.at,
                actor=actor,
                action="switch.confirmed",
                target=f"{report.system}/switch",
                system=report.system,
                after={
                    "version": report.version,
                    "state": report.state,
                    "live": report.live,
                    "confirmed": report.confirmed,
                    "confirmed_in_ms": report.confirmed_in_ms,
                    "stragglers": [s.name() for s in report.stragglers],
                },
                reason=report.line(),
            )
        return report

    # --- drills -----------------------------------------------------------------------------

    def drill(
        self, system: str, reason: str | None, actor: str, now: datetime, wait: float, clock: Clock
    ) -> DrillRecord:
        """Exercise the switch: move its version at `now` without changing its state, wait up
        to `wait` seconds (at most `MAX_WAIT`) for every SDK process live at that moment to
        confirm, and record the outcome (audited as `switch.drill` when it starts, then
        `switch.drill.finished` with its outcome). Only those who may flip the
        switch may drill it, and a refusal is audited as a flip's is; without a reason, it is
        `DEFAULT_DRILL_REASON`."""
        reason = _reasoned(DEFAULT_DRILL_REASON if reason is None else reason)
        target = f"{system}/switch"
        self.access.authorize(actor, "switch.drill", now, system=system, target=f"{target}/drill")
        started, state = self._start_drill(system, reason, actor, now)
        finished = outcome(started, self._await(state, wait, clock))
        with self.store.write() as unit:
            unit.switch_processes.finish_drill(finished)
            unit.audit(
                now=finished.finished_at or now,
                actor=actor,
                action="switch.drill.finished",
                target=target,
                system=system,
                after={
                    "version": finished.version,
                    "state": finished.state,
                    "passed": finished.passed,
                    "live": finished.live,
                    "confirmed": finished.confirmed,
                    "confirmed_in_ms": finished.confirmed_in_ms,
                    "stragglers": [s["name"] for s in finished.stragglers],
                    "summary": finished.summary,
                },
                reason=reason,
            )
        return finished

    def _start_drill(
        self, system: str, reason: str, actor: str, now: datetime
    ) -> tuple[DrillRecord, SwitchState]:
        """The drill's version move, announced at commit and audited with it as a flip's is: a
        drill cut short (the server stopped, the command was interrupted) moved the version of
        every serving process, and the audit trail says so."""
        with self.store.write() as unit:
            record = _system(unit, system)
            unit.lock_switch(system)
            switch = unit.switch(system)
            current = state_of(record, switch, _newest_drill(unit, system))
            started = DrillRecord(system, current.version + 1, current.state, reason, actor, now)
            unit.switch_processes.start_drill(started)
            unit.audit(
                now=now,
                actor=actor,
                action="switch.drill",
                target=f"{system}/switch",
                system=system,
                before={"state": current.state, "version": current.version},
                after={"state": current.state, "version": started.version},
                reason=reason,
            )
            unit.notify(CHANNEL, system)
            return started, state_of(record, switch, started)

    def drills(self, system: str, limit: int = 20) -> list[DrillRecord]:
        """The system's drills, the newest first."""
        with self.store.read() as unit:
            _system(unit, system)
            return unit.switch_processes.drills(system, limit=limit)


def _system(unit: Unit, name: str) -> SystemRecord:
    record = unit.system(name)
    if record is None:
        raise ActionError("not_found", f"no system {name!r}")
    return record


def _newest_drill(unit: Unit, system: str) -> DrillRecord | None:
    return next(iter(unit.switch_processes.drills(system, limit=1)), None)


def _known(state: str) -> None:
    if state not in STATES:
        raise ActionError("invalid", f"state must be enabled or disabled, not {state!r}")


def _reasoned(reason: str) -> str:
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
