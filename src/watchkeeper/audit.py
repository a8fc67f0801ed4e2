"""The hash-chained audit log: pure hashing and verification over plain entries.

Each entry carries the hash of the one before, so changing or deleting any row breaks the chain
at that row. The store appends (under a lock, so two writers never fork the chain); `verify`
walks it and names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    system: str | None
    before: Any
    after: Any
    reason: str | None
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "system": self.system,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def entry_hash(
    prev_hash: str,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    system: str | None,
    before: Any,
    after: Any,
    reason: str | None,
) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor, action, target, system, before, after, reason],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "broken_at": self.broken_at,
            "reason": self.reason,
        }


def verify(entries: Iterable[AuditEntry]) -> Verification:
    """Walk the chain in order; the first entry whose link or content does not hold is named."""
    prev = GENESIS
    expected_seq: int | None = None
    checked = 0
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            return Verification(
                False, checked, entry.seq, f"entries {expected_seq}..{entry.seq - 1} are missing"
            )
        if entry.prev_hash != prev:
            return Verification(
                False, checked, entry.seq, "does not link to the entry before it (deleted?)"
            )
        recomputed = entry_hash(
            entry.prev_hash,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            system=entry.system,
            before=entry.before,
            after=entry.after,
            reason=entry.reason,
        )
        if recomputed != entry.hash:
            return Verification(
                False, checked, entry.seq, "content was changed after it was written"
            )
        prev = entry.hash
        expected_seq = entry.seq + 1
        checked += 1
    return Verification(True, checked)
