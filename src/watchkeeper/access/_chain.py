"""Checking the whole audit trail: the hash chain itself, then its end against the stored head.

The chain alone cannot show that its newest entries were deleted (what is left still links up),
so the store keeps the newest link apart and every append builds on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.audit import AuditEntry, Verification, verify
from watchkeeper.store import AuditHead


def verify_log(entries: Sequence[AuditEntry], head: AuditHead | None) -> Verification:
    """The chain from its first entry (seq 1) through the stored head, first break named."""
    if entries and entries[0].seq != 1:
        first = entries[0].seq
        return Verification(False, 0, first, f"entries 1..{first - 1} are missing")
    result = verify(entries)
    if not result.ok:
        return result
    last = entries[-1] if entries else None
    if head is None:
        if last is None:
            return result
        return Verification(False, result.checked, last.seq, "the chain's head record is missing")
    if last is None or last.seq < head.seq:
        first_missing = last.seq + 1 if last else 1
        return Verification(
            False,
            result.checked,
            first_missing,
            f"entries {first_missing}..{head.seq} are missing (deleted from the end of the log)",
        )
    if last.seq != head.seq or last.hash != head.hash:
        return Verification(
            False, result.checked, last.seq, "differs from the chain's recorded head (rewritten?)"
        )
    return result
