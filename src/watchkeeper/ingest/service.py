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
from watchkeeper.ingest.items import (
    ObservationItem,
    Rejected,
    clean_text,
    keepable,
    validate_batch,
)
from watchkeeper.ingest.retention import DEFAULT_RETENTION, Plan, next_run, plan
from watchkeeper.monitor.partials import Profiling, build, profiling_for
from watchkeeper.store import (
    NewObservation,
    Store,
    SystemRecord,
    Unit,
    applied_manifest,
    manifest_of,
)

SYSTEM_NAME_MAX = 63  # the width of the system columns
RETENTION_CLAIM = "retention"  # the lease of today's run for unapplied names; a prefix per system
PURGE_BATCH, PURGE_BUDGET = 5_000, 100_000  # rows per write unit, rows per run in a tick
PURGED = ("observations", "feedback", "partials", "dead_letters")


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


@dataclass(frozen=True)
class _Target:
    """What ingest needs to know of a system: how far back an item may be dated, and which
    partials its observations make (None when its stored manifest is unreadable)."""

    retention: timedelta
    profiling: Profiling | None
    edges: dict[str, tuple[float, ...]]


def _retention(record: SystemRecord) -> timedelta:
    """How far back an item of this system may be dated: retention would purge anything older
    at once, and a stray old item would become the system's baseline."""
    # Read from the stored document as it is: a manifest that a tightened rule made unreadable
    # must not make its system's observations bounce (nothing a client sends is lost).
    written = (record.manifest.get("spec") or {}).get("retention")
    try:
        return parse_duration(written) if written else DEFAULT_RETENTION
    except ValueError:
        return DEFAULT_RETENTION


def _edges(stored: dict[str, dict[str, Any]]) -> dict[str, tuple[float, ...]]:
    """The baseline's bin edges of each numeric column, so partials bin on them from the start."""
    return {
        column: tuple(profile["edges"])
        for column, profile in stored.items()
        if isinstance(profile, dict) and profile.get("kind") == "numeric"
    }


class IngestService:
    def __init__(self, store: Store) -> None:
        self.store = store
        # A manifest's plan by its digest: validating the manifest on every batch would cost
        # more than profiling the batch.
        self._plans: dict[str, Profiling | None] = {}
        self._edges: dict[tuple[str, str], dict[str, tuple[float, ...]]] = {}

    def _target(self, name: str) -> _Target:
        with self.store.read() as unit:
            record = unit.system(name)
            if record is None:
                raise ActionError("not_found", f"no system {name!r}; apply its manifest first")
            # The baseline's edges are made once: read until they exist, then kept.
            edges = self._edges.get((name, record.digest))
            if edges is None:
                edges = _edges(unit.monitoring.baseline_profiles(name))
                if edges:
                    self._edges[name, record.digest] = edges
        if record.digest not in self._plans:
            try:
                self._plans[record.digest] = profiling_for(manifest_of(record))
            except ValueError:
                self._plans[record.digest] = None
        return _Target(_retention(record), self._plans[record.digest], edges)

    def observations(
        self, system: str, items: Sequence[Any], now: datetime, *, source: str = "api"
    ) -> BatchResult:
        """Store the new observations with the partials they make, in one unit: the monitor
        reads windows from partials, so a row stored without its partial would go unseen."""
        target = self._target(system)
        accepted, rejected = validate_batch(items, now, retention=target.retention)
        rows: dict[str, NewObservation] = {}
        items_by_id: dict[str, ObservationItem] = {}
        for item in accepted:
            if item.id not in rows:
                items_by_id[item.id] = item
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
        # Profiled before the write unit, so user expressions never run under its lock; only a
        # replay that overlaps stored rows is profiled again, for just its new rows.
        profiling = target.profiling
        partials = build(profiling, list(items_by_id.values()), target.edges) if profiling else []
        with self.store.write() as unit:
            _require_system(unit, system)
            new = unit.ingest.add_observations(system, rows.values(), now)
            if profiling and len(new) < len(items_by_id):
                partials = build(profiling, [items_by_id[i] for i in new], target.edges)
            unit.ingest.add_partials(system, partials, now)
            unit.ingest.add_dead_letters(
                system, source, [(r.index, r.raw, r.error) for r in rejected], now
            )
        return BatchResult(len(new), len(accepted) - len(new), rejected)

    def feedback(
        self, system: str, items: Sequence[Any], now: datetime, *, source: str = "api"
    ) -> BatchResult:
        """Feedback may arrive before its observation: it is kept and joined when that comes."""
        accepted, rejected = validate_batch(
            items, now, kind="feedback", retention=self._target(system).retention
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
    observation never came, the window partials of the same period, and its dead letters."""

    def observations(unit: Unit) -> tuple[dict[str, int], bool]:
        gone, feedback = unit.ingest.purge_observations(p.system, p.before, p.keep, batch)
        return {"observations": gone, "feedback": feedback}, gone < batch

    def orphan_feedback(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_orphan_feedback(p.system, p.before, batch)
        return {"feedback": gone}, gone < batch

    def partials(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_partials(p.system, p.before, p.keep, batch)
        return {"partials": gone}, gone < batch

    def dead_letters(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_dead_letters(p.before, batch, system=p.system)
        return {"dead_letters": gone}, gone < batch

    return [observations, orphan_feedback, partials, dead_letters]


def _unapplied_dead_letters(before: datetime, applied: list[str], batch: int) -> PurgeStep:
    def step(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_dead_letters(before, batch, system=None, applied=applied)
        return {"dead_letters": gone}, gone < batch

    return step
