"""Checking the whole audit trail: the chain itself, its end against the stored head, then the
signed checkpoints kept outside the database.

The chain alone cannot show that its newest entries were deleted (what is left still links up),
so the store keeps the newest link apart and every append builds on it. Both live in the
database, though: whoever empties the log can empty the head too. The checkpoints cannot be
rewritten without the secret and do not live in the database, so a log shorter than its newest
checkpoint is reported as truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from watchkeeper.audit import AuditEntry, Checkpoint, Verification, verify
from watchkeeper.store import AuditHead


def verify_log(
    entries: Sequence[AuditEntry],
    head: AuditHead | None,
    key: bytes | None = None,
    checkpoints: Sequence[Checkpoint] | None = None,
    source: str = "the checkpoint file",
) -> Verification:
    """The chain from its first entry (seq 1) through the stored head, first break named;
    with a key, also against `checkpoints` (None: no checkpoint file is configured)."""
    if entries and entries[0].seq != 1:
        first = entries[0].seq
        return Verification(False, 0, first, f"entries 1..{first - 1} are missing", "altered")
    result = verify(entries, key)
    if not result.ok:
        return result
    ended = _against_head(entries, head, result)
    if ended is not None:
        return ended
    if key is None:
        return replace(
            result,
            state="unkeyed",
            reason="no WATCHKEEPER_SECRET: the links hold, but this checks integrity only; "
            "whoever can write to the database could have re-hashed the whole log",
        )
    if checkpoints is None:
        return replace(
            result,
            reason="no checkpoint file is configured (WATCHKEEPER_AUDIT_CHECKPOINTS): a log "
            "cut short would not be detected",
        )
    return _against_checkpoints(entries, checkpoints, key, source, result)


def _against_head(
    entries: Sequence[AuditEntry], head: AuditHead | None, result: Verification
) -> Verification | None:
    last = entries[-1] if entries else None
    if head is None:
        if last is None:
            return None
        return replace(
            result,
            ok=False,
            broken_at=last.seq,
            reason="the chain's head record is missing",
            state="altered",
        )
    if last is None or last.seq < head.seq:
        first_missing = last.seq + 1 if last else 1
        return replace(
            result,
            ok=False,
            broken_at=first_missing,
            reason=f"entries {first_missing}..{head.seq} are missing (deleted from the end of "
            "the log)",
            state="truncated",
        )
    if last.seq != head.seq or last.hash != head.hash:
        return replace(
            result,
            ok=False,
            broken_at=last.seq,
            reason="differs from the chain's recorded head (rewritten?)",
            state="altered",
        )
    return None


def _against_checkpoints(
    entries: Sequence[AuditEntry],
    checkpoints: Sequence[Checkpoint],
    key: bytes,
    source: str,
    result: Verification,
) -> Verification:
    forged = next((c for c in checkpoints if not c.valid(key)), None)
    if forged is not None:
        return replace(
            result,
            ok=False,
            reason=f"checkpoint line {forged.line} of {source} does not carry a valid signature "
            "(edited or forged)",
            state="altered",
        )
    if not checkpoints:
        return replace(
            result,
            reason=f"no checkpoints in {source} yet: a log cut short could not be detected",
        )
    newest = max(checkpoints, key=lambda c: c.seq)
    hashes = {e.seq: e.hash for e in entries}
    last = entries[-1].seq if entries else 0
    if newest.seq > last:
        return replace(
            result,
            ok=False,
            broken_at=last + 1,
            checkpoint=newest.seq,
            reason=f"the log ends at entry {last}, but a checkpoint at entry {newest.seq} was "
            f"signed ({source}): entries {last + 1}..{newest.seq} are gone",
            state="truncated",
        )
    differing = sorted(c.seq for c in checkpoints if hashes.get(c.seq) != c.hash)
    if differing:
        return replace(
            result,
            ok=False,
            broken_at=differing[0],
            checkpoint=newest.seq,
            reason=f"differs from the checkpoint signed for it ({source})",
            state="altered",
        )
    return replace(result, checkpoint=newest.seq)
