"""The ingest shell: validate a batch, store what is good, dead-letter the rest, in one unit.

Idempotent on (system, id): a replayed batch (the SDK's spool after an outage) stores nothing
twice and says how many were duplicates. A schema-contract violation is not a rejection — the
item is stored and the monitor reports it.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.errors import ActionError
from watchkeeper.ingest.items import Rejected, clean_text, keepable, validate_batch
from watchkeeper.ingest.retention import DEFAULT_RETENTION, Plan, next_run, plan
from watchkeeper.manifest import SystemManifest
from watchkeeper.store import Store, Unit
from watchkeeper.store._ingest import NewObservation

SYSTEM_NAME_MAX = 63  # the width of the system columns
RETENTION_CLAIM = "retention"  # the lease that says today's retention run is taken
PURGE_BATCH, PURGE_BUDGET = 5_000, 100_000  # rows per write unit, rows per tick


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


def _retention(store: Store, name: str) -> timedelta:
    """How far back an item of this system may be dated: retention would purge anything older
    at once, and a stray old item would become the system's baseline."""
    with store.read() as unit:
        record = unit.system(name)
    if record is None:
        raise ActionError("not_found", f"no system {name!r}; apply its manifest first")
    return SystemManifest.model_validate(record.manifest).spec.retention


class IngestService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def observations(
        self, system: str, items: Sequence[Any], now: datetime, *, source: str = "api"
    ) -> BatchResult:
        accepted, rejected = validate_batch(items, now, retention=_retention(self.store, system))
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
        accepted, rejected = validate_batch(
            items, now, kind="feedback", retention=_retention(self.store, system)
        )
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

    def purge(
        self, now: datetime, *, batch: int = PURGE_BATCH, budget: int = PURGE_BUDGET
    ) -> dict[str, Any]:
        """Apply each system's retention (`spec.retention`, default 180d; see `retention`), at
        most once a day: the scheduler calls this every tick, and until tomorrow it costs one
        claim. The work goes in write units of at most `batch` rows each, and stops once
        `budget` rows went, so a huge backlog never holds one long write transaction nor one
        long tick; an unfinished run gives its claim back and the next tick goes on."""
        holder = f"{RETENTION_CLAIM}/{uuid.uuid4().hex}"
        with self.store.write() as unit:
            if not unit.acquire_lease(RETENTION_CLAIM, holder, now, next_run(now)):
                return {"due": False}
            plans = [
                plan(
                    SystemManifest.model_validate(record.manifest),
                    unit.first_observation_at(record.name),
                    now,
                )
                for record in unit.systems()
            ]
        pending = deque(_purge_steps(plans, now, batch))
        removed = dict.fromkeys(("observations", "feedback", "dead_letters"), 0)
        while pending and sum(removed.values()) < budget:
            with self.store.write() as unit:
                counts, done = pending[0](unit)
            for kind, count in counts.items():
                removed[kind] += count
            if done:
                pending.popleft()
        if pending:
            with self.store.write() as unit:
                unit.release_lease(RETENTION_CLAIM, holder, now)
        return {"due": True, **removed, "finished": not pending}


# One retention step: a batch in the given unit -> (rows removed per kind, nothing left).
PurgeStep = Callable[[Unit], tuple[dict[str, int], bool]]


def _purge_steps(plans: Sequence[Plan], now: datetime, batch: int) -> list[PurgeStep]:
    def observations(p: Plan) -> PurgeStep:
        def step(unit: Unit) -> tuple[dict[str, int], bool]:
            gone, feedback = unit.purge_observations(p.system, p.before, p.keep, batch)
            return {"observations": gone, "feedback": feedback}, gone < batch

        return step

    def orphan_feedback(p: Plan) -> PurgeStep:
        def step(unit: Unit) -> tuple[dict[str, int], bool]:
            gone = unit.purge_orphan_feedback(p.system, p.before, batch)
            return {"feedback": gone}, gone < batch

        return step

    def dead_letters(p: Plan) -> PurgeStep:
        def step(unit: Unit) -> tuple[dict[str, int], bool]:
            gone = unit.purge_dead_letters(p.before, batch, system=p.system)
            return {"dead_letters": gone}, gone < batch

        return step

    applied = [p.system for p in plans]

    def unapplied_dead_letters(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.purge_dead_letters(now - DEFAULT_RETENTION, batch, system=None, applied=applied)
        return {"dead_letters": gone}, gone < batch

    steps = [make(p) for p in plans for make in (observations, orphan_feedback, dead_letters)]
    return [*steps, unapplied_dead_letters]
