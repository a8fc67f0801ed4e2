"""The hash-chained audit log: pure hashing, sealing and verification over plain entries.

Each entry carries the hash of the one before, so changing or deleting any row breaks the chain
at that row. With the server's secret the hash is an HMAC, so whoever can write to the database
but does not hold the secret cannot re-hash the chain after an edit. The chain's newest link is
also signed into checkpoints kept outside the database, so a log cut short — even emptied —
cannot pass for a complete one. Entries written before a secret was set stay verifiable (as
plain hashes) as long as they come first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

GENESIS = "0" * 64
State = Literal["intact", "altered", "truncated", "unkeyed"]


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
    keyed: bool = False

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
            "keyed": self.keyed,
        }


def chain_key(secret: str) -> bytes:
    """A key of its own for the chain, so a signature made for an acknowledge link or a
    webhook body can never be passed off as an audit hash, nor the other way round."""
    return hmac.new(secret.encode(), b"watchkeeper audit chain v1", hashlib.sha256).digest()


def entry_hash(
    prev_hash: str,
    *,
    key: bytes | None = None,
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
    ).encode()
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment (seq, hash), signed; kept outside the database."""

    seq: int
    hash: str
    mac: str
    line: int = 0

    def valid(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _checkpoint_mac(key, self.seq, self.hash))


def _checkpoint_mac(key: bytes, seq: int, head: str) -> str:
    return hmac.new(key, f"checkpoint:{seq}:{head}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditSeal:
    """What seals the chain: the key (none without a secret) and where checkpoints go."""

    key: bytes | None = None
    checkpoints: Path | None = None

    def checkpoint_line(self, seq: int, head: str) -> str:
        if self.key is None:
            raise ValueError("checkpoints are signed: no key, no checkpoint")
        return f"{seq} {head} {_checkpoint_mac(self.key, seq, head)}\n"


def parse_checkpoints(text: str) -> list[Checkpoint]:
    """Every line of a checkpoint file; a line that does not parse keeps an empty signature,
    so it fails verification as forged rather than being skipped."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if len(parts) == 3 and parts[0].isascii() and parts[0].isdigit():
            found.append(Checkpoint(int(parts[0]), parts[1], parts[2], number))
        elif parts:
            found.append(Checkpoint(0, "", "", number))
    return found


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""
    state: State = "intact"
    unkeyed_through: int | None = None
    checkpoint: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "state": self.state,
            "checked": self.checked,
            "broken_at": self.broken_at,
            "reason": self.reason,
            "unkeyed_through": self.unkeyed_through,
            "checkpoint": self.checkpoint,
        }


def verify(entries: Iterable[AuditEntry], key: bytes | None = None) -> Verification:
    """Walk the chain in order; the first entry whose link or content does not hold is named.

    Unkeyed entries are accepted only before the first keyed one: after it, an unkeyed entry is
    what someone without the key would write when re-hashing an edited tail. Without a key,
    keyed entries' links are checked but their contents cannot be.
    """
    prev = GENESIS
    expected_seq: int | None = None
    checked = 0
    unkeyed_through: int | None = None
    seen_keyed = False
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            return Verification(
                False,
                checked,
                entry.seq,
                f"entries {expected_seq}..{entry.seq - 1} are missing",
                "altered",
                unkeyed_through,
            )
        if entry.prev_hash != prev:
            return _altered(checked, entry, "does not link to the entry before it (deleted?)")
        if entry.keyed:
            seen_keyed = True
        elif seen_keyed:
            return _altered(
                checked, entry, "is unkeyed after keyed entries (re-hashed without the secret?)"
            )
        else:
            unkeyed_through = entry.seq
        if (not entry.keyed or key is not None) and _recomputed(
            entry, key if entry.keyed else None
        ) != entry.hash:
            return _altered(checked, entry, "content was changed after it was written")
        prev = entry.hash
        expected_seq = entry.seq + 1
        checked += 1
    return Verification(True, checked, unkeyed_through=unkeyed_through)


def _recomputed(entry: AuditEntry, key: bytes | None) -> str:
    return entry_hash(
        entry.prev_hash,
        key=key,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        system=entry.system,
        before=entry.before,
        after=entry.after,
        reason=entry.reason,
    )


def _altered(checked: int, entry: AuditEntry, reason: str) -> Verification:
    return Verification(False, checked, entry.seq, reason, "altered")
