"""The ingest shell: validate a batch, store what is good, dead-letter the rest, in one unit.

Idempotent on (system, id): a replayed batch (the SDK's spool after an outage) stores nothing
twice and says how many were duplicates. A schema-contract violation is not a rejection — the
item is stored and the monitor reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchkeeper.errors import ActionError
from watchkeeper.ingest.items import Rejected, clean_text, keepable, validate_batch
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import Store, Unit
from watchkeeper.store._ingest import NewObservation

SYSTEM_NAME_MAX = 63  # the width of the system columns


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: list[Rejected] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.to_dict() for r in self.rejected],
        }


def _require_system(unit: Unit, name: str) -> None:
    if unit.system(name) is None:
        raise ActionError("not_found", f"no system {name!r}; apply its manifest first")


class IngestService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def observations(
        self, system: str, items: Sequence[Any], now: datetime, *, source: str = "api"
    ) -> BatchResult:
        accepted, rejected = validate_batch(items, now)
        rows: dict[str, NewObservation] = {}
        for item in accepted:
            if item.id not in rows:
                inputs, output, meta = item.encoded
                rows[item.id] = {
                    "obs_id": item.id,
                    "ts": item.ts,
                    "inputs": inputs,
                    "output": output,
                    "latency_ms": item.latency_ms,
                    "model_version": item.model_version,
                    "meta": meta,
                }
        with self.store.write() as unit:
            _require_system(unit, system)
            new = unit.add_observations(system, rows.values(), now)
            unit.add_dead_letters(
                system, source, [(r.index, r.raw, r.error) for r in rejected], now
            )
        return BatchResult(new, len(accepted) - new, rejected)

    def feedback(
        self, system: str, items: Sequence[Any], now: datetime, *, source: str = "api"
    ) -> BatchResult:
        """Feedback may arrive before its observation: it is kept and joined when that comes."""
        accepted, rejected = validate_batch(items, now, kind="feedback")
        rows = [
            {
                "observation_id": f.observation_id,
                "ts": f.ts,
                "label": f.label,
                "score": f.score,
                "thumbs_up": f.thumbs_up,
                "meta": f.metadata,
            }
            for f in accepted
        ]
        with self.store.write() as unit:
            _require_system(unit, system)
            new = unit.add_feedback(system, rows, now)
            unit.add_dead_letters(
                system, f"{source}:feedback", [(r.index, r.raw, r.error) for r in rejected], now
            )
        return BatchResult(new, len(rows) - new, rejected)

    def reject(
        self, system: str, source: str, reasons: Sequence[tuple[Any, str]], now: datetime
    ) -> None:
        """Keep items refused before validation (e.g. OTLP spans of a system not applied yet:
        they show under that name once its manifest is)."""
        name = clean_text(system)[:SYSTEM_NAME_MAX]
        kept = [(None, keepable(raw), clean_text(why)) for raw, why in reasons]
        with self.store.write() as unit:
            unit.add_dead_letters(name, source, kept, now)

    def known_systems(self, names: Iterable[str]) -> set[str]:
        """Which of these names are applied systems."""
        wanted = set(names)
        with self.store.read() as unit:
            return {record.name for record in unit.systems() if record.name in wanted}

    def dead_letters(self, system: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.read() as unit:
            _require_system(unit, system)
            return unit.dead_letters(system, limit)

    def purge(self, now: datetime) -> Mapping[str, int]:
        """Apply each system's retention (spec.retention, default 180d)."""
        removed: dict[str, int] = {}
        with self.store.write() as unit:
            for record in unit.systems():
                retention = SystemManifest.model_validate(record.manifest).spec.retention
                removed[record.name] = unit.purge_observations(record.name, now - retention)
        return removed
