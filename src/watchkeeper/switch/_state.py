"""What a kill switch says at one moment, as the API and the SDK see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.store import SwitchRecord, SystemRecord

CHANNEL = "wk_switch"
STATES = ("enabled", "disabled")


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
        }


@dataclass(frozen=True)
class SwitchChange:
    """The state after a flip, and whether the flip changed anything (a repeat does not)."""

    state: SwitchState
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.state.to_dict(), "changed": self.changed}


def state_of(system: SystemRecord, switch: SwitchRecord | None) -> SwitchState:
    """A system never flipped is enabled at version 0; fail mode and fallback come from its
    manifest (spec.kill_switch), None where it declares none."""
    declared = system.manifest.get("spec", {}).get("kill_switch") or {}
    fail_mode, fallback = declared.get("fail_mode"), declared.get("fallback")
    if switch is None:
        return SwitchState(system.name, "enabled", 0, None, None, None, fail_mode, fallback)
    return SwitchState(
        system.name,
        switch.state,
        switch.version,
        switch.reason,
        switch.changed_by,
        switch.changed_at,
        fail_mode,
        fallback,
    )
