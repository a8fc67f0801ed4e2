"""Exporting a bundle: gather, digest, tie it into the audit chain, and hand back plain data.

The export is itself audited (`evidence.exported`, carrying the bundle's root) in the same
transaction that read the records, so the chain segment the bundle holds ends at that entry:
whoever later holds the bundle against the deployment's chain sees exactly when it was made and
that nothing in it changed since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchkeeper.errors import ActionError
from watchkeeper.evidence._bundle import FORMAT, record_digest, root
from watchkeeper.evidence._frameworks import mapping
from watchkeeper.evidence._gather import Found, chain_record, cite, gather
from watchkeeper.evidence._verify import EXPORT_ACTION
from watchkeeper.store import Store, Unit

MAX_PERIOD_DAYS = 3660


class EvidenceService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def export(
        self, system: str, start: datetime, end: datetime, actor: str, now: datetime
    ) -> dict[str, Any]:
        """The bundle of `system` for [start, end) as plain JSON-ready data."""
        _check_period(start, end, now)
        with self.store.write() as unit:
            if unit.system(system) is None:
                raise ActionError("not_found", f"no system {system!r}")
            versions = unit.system_versions(system)
            if min(v.applied_at for v in versions) >= end:
                raise ActionError(
                    "invalid",
                    f"{system!r} was first applied {min(v.applied_at for v in versions):%Y-%m-%d}"
                    f", after the period ends ({end:%Y-%m-%d}): there is nothing to export",
                )
            found = gather(unit, system, start, end)
            entries = unit.audit_entries(system=system)
            found.append(chain_record(entries, start, end))
            cited = cite(found, entries)
            bundle = _bundle(unit, system, start, end, actor, now, found, cited)
            export = unit.audit(
                now=now,
                actor=actor,
                action=EXPORT_ACTION,
                target=f"{system}/evidence",
                system=system,
                after={
                    "root": bundle["root"],
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "records": len(found),
                },
            )
            first = min((s for seqs in cited.values() for s in seqs), default=export.seq)
            chain = unit.audit_range(first, export.seq)
        bundle["chain"] = {
            "head": {"seq": export.seq, "hash": export.hash},
            "keyed": export.keyed,
            "entries": [e.to_dict() for e in chain],
        }
        return bundle

    def origin(self, seq: int) -> dict[str, Any]:
        with self.store.read() as unit:
            genesis = unit.audit_range(1, 1)
            at = unit.audit_range(seq, seq) if seq > 0 else []
        return {
            "deployment": genesis[0].hash if genesis else None,
            "seq": seq,
            "hash": at[0].hash if at else None,
        }


def _check_period(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise ActionError(
            "invalid",
            f"the period is out of order: --from {start:%Y-%m-%d} is not before --to "
            f"{end:%Y-%m-%d}",
        )
    if start > now:
        raise ActionError("invalid", f"--from {start:%Y-%m-%d} is in the future")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ActionError("invalid", f"a period is at most {MAX_PERIOD_DAYS} days")


def _bundle(
    unit: Unit,
    system: str,
    start: datetime,
    end: datetime,
    actor: str,
    now: datetime,
    found: list[Found],
    cited: dict[str, list[int]],
) -> dict[str, Any]:
    records = []
    for f in found:
        record: dict[str, Any] = {
            "id": f.id,
            "kind": f.kind,
            "at": f.at.isoformat(),
            "title": f.title,
            "data": f.data,
            "audit": cited[f.id],
        }
        if f.gap:
            record["gap"] = f.gap
        record["digest"] = record_digest(record)
        records.append(record)
    genesis = unit.audit_range(1, 1)
    applied = unit.system(system)
    assert applied is not None
    bundle: dict[str, Any] = {
        "format": FORMAT,
        "deployment": genesis[0].hash if genesis else None,
        "system": system,
        "title": applied.manifest.get("metadata", {}).get("title") or system,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "exported_at": now.isoformat(),
        "exported_by": actor,
        "records": records,
        "mapping": mapping(records),
    }
    bundle["root"] = root(bundle)
    return bundle
