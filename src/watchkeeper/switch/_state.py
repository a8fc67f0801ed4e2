"""What a kill switch says at one moment, as the API and the SDK see it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from watchkeeper.store import DrillRecord, SwitchRecord, SystemRecord

CHANNEL = "wk_switch"
STATES = ("enabled", "disabled")


@dataclass(frozen=True)
class DrillMark:
    """The drill that made the switch's current version: who started it, when and why. A drill
    moves only the version; the state and its reason stay the last flip's, so a disabled
    system still says why it is off."""

    by: str
    at: datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "at": self.at.isoformat(), "reason": self.reason}


@dataclass(frozen=True)
class SwitchState:
    system: str
    state: str
    version: int
    reason: str | None
    changed_by: str | None
    changed_at: datetime | None
    fail_mode: str | None
    fallback: str | None
    drill: DrillMark | None = None  # set while the current version is a drill's

    @property
    def version_at(self) -> datetime | None:
        """When the switch took its current version: the drill's moment or the flip's (None:
        never moved). Confirmations are timed from here."""
        return self.drill.at if self.drill is not None else self.changed_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "state": self.state,
            "version": self.version,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "fail_mode": self.fail_mode,
            "fallback": self.fallback,
            "drill": self.drill.to_dict() if self.drill else None,
        }


@dataclass(frozen=True)
class SwitchChange:
    """The state after a flip, and whether the flip changed anything (a repeat does not)."""

    state: SwitchState
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.state.to_dict(), "changed": self.changed}


def state_of(
    system: SystemRecord, switch: SwitchRecord | None, drill: DrillRecord | None = None
) -> SwitchState:
    """A system never flipped is enabled at version 0; fail mode and fallback come from its
    manifest (spec.kill_switch), None where it declares none. `drill`, the system's newest,
    gives the version when it is newer than the last flip: every SDK adopts the new version
    (and so confirms it) while the state it serves by stays the same."""
    declared = system.manifest.get("spec", {}).get("kill_switch") or {}
    fail_mode, fallback = declared.get("fail_mode"), declared.get("fallback")
    flipped = (
        SwitchState(system.name, "enabled", 0, None, None, None, fail_mode, fallback)
        if switch is None
        else SwitchState(
            system.name,
            switch.state,
            switch.version,
            switch.reason,
            switch.changed_by,
            switch.changed_at,
            fail_mode,
            fallback,
        )
    )
    if drill is None or drill.version <= flipped.version:
        return flipped
    mark = DrillMark(drill.started_by, drill.started_at, drill.reason)
    return replace(flipped, version=drill.version, drill=mark)
