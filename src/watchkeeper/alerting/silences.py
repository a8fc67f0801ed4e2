"""Silences and maintenance windows as stored: creating one (audited, with its reason) and
reading them back for the pure muting decision in `mute`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from watchkeeper.alerting.mute import Silence
from watchkeeper.errors import ActionError
from watchkeeper.store import SilenceRecord, Unit, applied_manifest


def from_records(records: Iterable[SilenceRecord]) -> list[Silence]:
    return [
        Silence(
            r.id, r.matchers or {}, r.starts_at, r.ends_at, r.created_by, r.reason, r.system, r.kind
        )
        for r in records
    ]


def _check(starts_at: datetime, ends_at: datetime, reason: str) -> None:
    """A silence keeps pages from people, so it must end, and say why."""
    if ends_at <= starts_at:
        raise ActionError("invalid", "a silence must end after it starts")
    if not reason.strip():
        raise ActionError("invalid", "a silence needs a reason")


def add(
    unit: Unit,
    *,
    system: str | None,
    matchers: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
    actor: str,
    reason: str,
    kind: str,
    now: datetime,
) -> int:
    """A silence of one system (which must exist) or of every system (`system` None)."""
    _check(starts_at, ends_at, reason)
    if system is not None:
        applied_manifest(unit, system)
    silence = unit.alerting.add_silence(
        system,
        kind=kind,
        matchers=matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
        reason=reason,
    )
    unit.audit(
        now=now,
        actor=actor,
        action=f"{kind}.created",
        target=f"{kind}/{silence.id}",
        system=system,
        after={
            "matchers": matchers,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
        },
        reason=reason,
    )
    return silence.id
