"""The ingest shell: validate a batch, store what is good, dead-letter the rest, in one unit.

Idempotent on (system, id): a replayed batch (the SDK's spool after an outage) stores nothing
twice and says how many were duplicates. A schema-contract violation is not a rejection — the
item is stored and the monitor reports it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.durations import parse_duration
from watchkeeper.errors import ActionError
from watchkeeper.ingest.items import Rejected, clean_text, keepable, validate_batch
from watchkeeper.ingest.retention import DEFAULT_RETENTION, Plan, next_run, plan
from watchkeeper.store import NewObservation, Store, Unit, applied_manifest

SYSTEM_NAME_MAX = 63  # the width of the system columns
RETENTION_CLAIM = "retention"  # the lease of today's run for unapplied names; a prefix per system
PURGE_BATCH, PURGE_BUDGET = 5_000, 100_000  # rows per write unit, rows per run in a tick
PURGED = ("observations", "feedback", "dead_letters")


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
    # Read from the stored document as it is: a manifest that a tightened rule made unreadable
    # must not make its system's observations bounce (nothing a client sends is lost).
    written = (record.manifest.get("spec") or {}).get("retention")
    try:
        return parse_duration(written) if written else DEFAULT_RETENTION
    except ValueError:
        return DEFAULT_RETENTION


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
            new = unit.ingest.add_observations(system, rows.values(), now)
            unit.ingest.add_dead_letters(
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
            new = unit.ingest.add_feedback(system, rows, now)
            unit.ingest.add_dead_letters(
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
            unit.ingest.add_dead_letters(name, source, kept, now)

    def known_systems(self, names: Iterable[str]) -> set[str]:
        """Which of these names are applied systems."""
        wanted = set(names)
        with self.store.read() as unit:
            return {record.name for record in unit.systems() if record.name in wanted}

    def dead_letters(self, system: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.read() as unit:
            _require_system(unit, system)
            return [letter.to_dict() for letter in unit.ingest.dead_letters(system, limit)]

    def purge(
        self, now: datetime, *, batch: int = PURGE_BATCH, budget: int = PURGE_BUDGET
    ) -> dict[str, Any]:
        """Retention for the whole portfolio at once, sharing one `budget`: each system's
        (`purge_system`), then the dead letters of names never applied (`purge_unapplied`).
        It raises on the first system that fails; the scheduler calls the parts itself, so one
        system's unreadable manifest never keeps the others' data past its retention."""
        with self.store.read() as unit:
            names = [record.name for record in unit.systems()]
        runs: list[dict[str, Any]] = []
        for name in names:
            runs.append(self.purge_system(now, name, batch=batch, budget=budget - _spent(runs)))
        runs.append(self.purge_unapplied(now, batch=batch, budget=budget - _spent(runs)))
        return combine_purges(runs)

    def purge_system(
        self, now: datetime, system: str, *, batch: int = PURGE_BATCH, budget: int = PURGE_BUDGET
    ) -> dict[str, Any]:
        """Apply a system's retention (`spec.retention`, default 180d; see `retention`)."""

        def steps(unit: Unit) -> list[PurgeStep]:
            manifest = applied_manifest(unit, system)
            return _purge_steps(
                plan(manifest, unit.ingest.first_observation_at(system), now), batch
            )

        return self._purge(_claim(system), now, steps, budget)

    def purge_unapplied(
        self, now: datetime, *, batch: int = PURGE_BATCH, budget: int = PURGE_BUDGET
    ) -> dict[str, Any]:
        """Dead letters kept under names no system has, after the default retention."""

        def steps(unit: Unit) -> list[PurgeStep]:
            applied = [record.name for record in unit.systems()]
            return [_unapplied_dead_letters(now - DEFAULT_RETENTION, applied, batch)]

        return self._purge(RETENTION_CLAIM, now, steps, budget)

    def _purge(
        self, claim: str, now: datetime, steps: Callable[[Unit], list[PurgeStep]], budget: int
    ) -> dict[str, Any]:
        """One retention run, at most once a day: the scheduler calls it every tick, and until
        tomorrow it costs one claim. The work goes in write units of at most a batch of rows
        each, and stops once `budget` rows went, so a huge backlog never holds one long write
        transaction nor one long tick; an unfinished run gives its claim back and the next
        tick goes on. A plan that cannot be made (an unreadable manifest) takes no claim."""
        removed = dict.fromkeys(PURGED, 0)
        if budget <= 0:
            return {"due": True, **removed, "finished": False}
        holder = f"{claim}/{uuid.uuid4().hex}"
        with self.store.write() as unit:
            if not unit.alerting.acquire_lease(claim, holder, now, next_run(now)):
                return {"due": False}
            pending = deque(steps(unit))
        while pending and sum(removed.values()) < budget:
            with self.store.write() as unit:
                counts, done = pending[0](unit)
            for kind, count in counts.items():
                removed[kind] += count
            if done:
                pending.popleft()
        if pending:
            with self.store.write() as unit:
                unit.alerting.release_lease(claim, holder, now)
        return {"due": True, **removed, "finished": not pending}


def combine_purges(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several retention runs as one report: rows removed, and whether every due run finished."""
    due = [run for run in runs if run["due"]]
    if not due:
        return {"due": False}
    removed = {kind: sum(run[kind] for run in due) for kind in PURGED}
    return {"due": True, **removed, "finished": all(run["finished"] for run in due)}


def _spent(runs: Sequence[dict[str, Any]]) -> int:
    return sum(run.get(kind, 0) for run in runs for kind in PURGED)


def _claim(system: str) -> str:
    """The lease that says today's retention run of this system is taken; a digest, so any
    system name fits the lease's name."""
    return f"{RETENTION_CLAIM}/{hashlib.blake2b(system.encode(), digest_size=16).hexdigest()}"


# One retention step: a batch in the given unit -> (rows removed per kind, nothing left).
PurgeStep = Callable[[Unit], tuple[dict[str, int], bool]]


def _purge_steps(p: Plan, batch: int) -> list[PurgeStep]:
    """A system's retention: its observations (with their feedback), feedback whose
    observation never came, and its dead letters."""

    def observations(unit: Unit) -> tuple[dict[str, int], bool]:
        gone, feedback = unit.ingest.purge_observations(p.system, p.before, p.keep, batch)
        return {"observations": gone, "feedback": feedback}, gone < batch

    def orphan_feedback(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_orphan_feedback(p.system, p.before, batch)
        return {"feedback": gone}, gone < batch

    def dead_letters(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_dead_letters(p.before, batch, system=p.system)
        return {"dead_letters": gone}, gone < batch

    return [observations, orphan_feedback, dead_letters]


def _unapplied_dead_letters(before: datetime, applied: list[str], batch: int) -> PurgeStep:
    def step(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_dead_letters(before, batch, system=None, applied=applied)
        return {"dead_letters": gone}, gone < batch

    return step
