"""The ingest shell: validate a batch, store what is good, dead-letter the rest, in one unit.

Idempotent on (system, id): a replayed batch (the SDK's spool after an outage) stores nothing
twice and says how many were duplicates. A schema-contract violation is not a rejection — the
item is stored and the monitor reports it.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.clock import as_utc
from watchkeeper.durations import parse_duration
from watchkeeper.errors import ActionError
from watchkeeper.expr import ExprError, compile_expr
from watchkeeper.ingest.items import (
    ObservationItem,
    Rejected,
    clean_text,
    keepable,
    validate_batch,
)
from watchkeeper.ingest.retention import (
    DEFAULT_RETENTION,
    HIGH_RISK,
    RAW_SAMPLE_SALT,
    Plan,
    next_run,
    plan,
    six_months_before,
)
from watchkeeper.monitor.partials import (
    Partial,
    Profiling,
    baseline_edges,
    build,
    merged,
    profiling_for,
)
from watchkeeper.monitor.signals import complete_windows, fields_of, load_matching, window_start
from watchkeeper.store import (
    NewObservation,
    ObservationRecord,
    Store,
    SystemRecord,
    Unit,
    applied_manifest,
    manifest_of,
)
from watchkeeper.triage.rules import in_sample

SYSTEM_NAME_MAX = 63  # the width of the system columns
PAGE = 1000  # observations read at a time by the explorer
EXPLORE_SCAN = 50_000  # rows the explorer reads a call before it answers with a cursor
UNKNOWN_NAMES = 100  # unknown system names /metrics labels one by one
RETENTION_CLAIM = "retention"  # the lease of today's run for unapplied names; a prefix per system
PURGE_BATCH, PURGE_BUDGET = 5_000, 100_000  # rows per write unit, rows per run in a tick
# A window with this many partials is merged into one by the ingest that sees it, so reading a
# window costs the same at any traffic. At 64 the day a tick reads could hold 63 batch partials
# of a thousand exact values each, and the tick at 500k a day took twice that at 5k; at 16 it
# takes the same, and ingest measured no dearer (benchmarks/tick_at_traffic.py).
COMPACT_AT = 16
THINNED_KEY = "raw-thinned"  # the days whose raw rows were thinned to the sample
DAY = timedelta(days=1)
PURGED = ("observations", "thinned", "feedback", "partials", "dead_letters")


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: list[Rejected] = field(default_factory=list)

    def outcomes(self) -> dict[str, int]:
        return {"stored": self.accepted, "duplicate": self.duplicates,
                "rejected": len(self.rejected)}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.to_dict() for r in self.rejected],
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _cursor(position: tuple[datetime, int]) -> str:
    """(ts, row id) as URL-safe text: microseconds since the epoch, a dash, the row id."""
    return f"{(position[0] - _EPOCH) // _MICROSECOND}-{position[1]}"


def _position(cursor: str | None) -> tuple[datetime, int] | None:
    """An explorer cursor back as (ts, row id); a cursor not made by `explore` is refused."""
    if not cursor:
        return None
    at, _, pk = cursor.partition("-")
    try:
        micros, row = int(at), int(pk)
        if not (0 <= micros < 2**63 and 0 <= row < 2**63):
            raise ValueError("out of range")
        return _EPOCH + micros * _MICROSECOND, row
    except (ValueError, OverflowError):
        raise ActionError("invalid", f"after: {cursor!r} is not a cursor this API gave") from None


def _observation_dict(record: ObservationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "ts": record.ts.isoformat(),
        "inputs": record.inputs,
        "output": record.output,
        "latency_ms": record.latency_ms,
        "model_version": record.model_version,
        "metadata": record.metadata,
        "feedback": record.feedback,
    }


def _require_system(unit: Unit, name: str) -> None:
    if unit.system(name) is None:
        raise ActionError("not_found", f"no system {name!r}; apply its manifest first")


@dataclass(frozen=True)
class _Target:
    """What ingest needs to know of a system: how far back an item may be dated, and which
    partials its observations make (None when its stored manifest is unreadable)."""

    keep: timedelta
    high_risk: bool
    profiling: Profiling | None
    edges: dict[str, tuple[float, ...]]

    def retention(self, now: datetime) -> timedelta:
        """How far back from `now` an item may be dated: the manifest's keep, or six calendar
        months for a high-risk system whose keep is shorter, since retention keeps those."""
        if self.high_risk:
            return max(self.keep, now - six_months_before(now))
        return self.keep


def _retention(record: SystemRecord) -> timedelta:
    """How far back an item of this system may be dated: retention would purge anything older
    at once, and a stray old item would become the system's baseline."""
    # Read from the stored document as it is: a manifest that a tightened rule made unreadable
    # must not make its system's observations bounce (nothing a client sends is lost).
    written = (record.manifest.get("spec") or {}).get("retention")
    if isinstance(written, dict):
        written = written.get("keep")
    try:
        return parse_duration(written) if isinstance(written, str) else DEFAULT_RETENTION
    except ValueError:
        return DEFAULT_RETENTION


def _partial(item: Any, profiling: Profiling, oldest: datetime, now: datetime) -> Partial:
    """One partial sent by a profiler, checked as ingest would have made it."""
    if not isinstance(item, dict):
        raise TypeError("a partial is an object with key, window_start, window_end, rows, state")
    key = item["key"]
    window = profiling.window_of(key) if isinstance(key, str) else None
    if window is None:
        raise ValueError(
            f"key {key!r} is not one this system's manifest makes (was a signal, a column's "
            "type or a contract changed since it was profiled?)"
        )
    start = as_utc(datetime.fromisoformat(str(item["window_start"])))
    end = as_utc(datetime.fromisoformat(str(item["window_end"])))
    if window_start(start, window) != start or end - start != window:
        raise ValueError(f"window {start.isoformat()}..{end.isoformat()} is not one {key!r} uses")
    if end <= oldest or start > now:
        raise ValueError(f"window {start.isoformat()} is outside retention (or in the future)")
    rows = item["rows"]
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise ValueError("rows must be a whole number of observations")
    state = item["state"]
    merged(key, [state])  # a state that does not merge is refused here, not at the next tick
    source = item.get("origin")
    if source is not None and not (isinstance(source, str) and 0 < len(source) <= 64):
        raise ValueError("origin, when given, is a text of at most 64 characters")
    return Partial(key, start, end, rows, state, source)


class IngestService:
    def __init__(self, store: Store) -> None:
        self.store = store
        # A manifest's plan by its digest: validating the manifest on every batch would cost
        # more than profiling the batch.
        self._plans: dict[str, Profiling | None] = {}
        self._edges: dict[tuple[str, str], dict[str, tuple[float, ...]]] = {}
        # What this process took in, by (system, kind, source, outcome), for /metrics: counters
        # a replica keeps for itself, as Prometheus expects (it sums replicas and restarts).
        self._tally: Counter[tuple[str, str, str, str]] = Counter()
        self._tally_lock = threading.Lock()
        self._unknown_names: set[str] = set()

    def _count(self, system: str, kind: str, source: str, **outcomes: int) -> None:
        with self._tally_lock:
            for outcome, n in outcomes.items():
                if not n:
                    continue
                # An unknown system's name is whatever a sender wrote: past a hundred, the rest
                # count together, so /metrics cannot be grown without bound.
                if outcome == "unknown_system" and system not in self._unknown_names:
                    if len(self._unknown_names) >= UNKNOWN_NAMES:
                        system = "(other)"
                    else:
                        self._unknown_names.add(system)
                self._tally[system, kind, source, outcome] += n

    def tally(self) -> dict[tuple[str, str, str, str], int]:
        """Items taken in since this process started, by (system, kind, source, outcome):
        outcome is stored, duplicate, rejected (kept as a dead letter), or unknown_system."""
        with self._tally_lock:
            return dict(self._tally)

    def warm(self) -> None:
        """Load what profiling a batch loads lazily, before the first batch arrives."""
        load_matching()

    def _target(self, name: str) -> _Target:
        with self.store.read() as unit:
            record = unit.system(name)
            if record is None:
                raise ActionError("not_found", f"no system {name!r}; apply its manifest first")
            # The baseline's edges are made once: read until they exist, then kept.
            edges = self._edges.get((name, record.digest))
            if edges is None:
                edges = baseline_edges(unit.monitoring.baseline_profiles(name))
                if edges:
                    self._edges[name, record.digest] = edges
        if record.digest not in self._plans:
            try:
                self._plans[record.digest] = profiling_for(manifest_of(record))
            except ValueError:
                self._plans[record.digest] = None
        high_risk = (record.manifest.get("metadata") or {}).get("eu_ai_act") == HIGH_RISK
        return _Target(_retention(record), high_risk, self._plans[record.digest], edges)

    def observations(
        self, system: str, items: Sequence[Any], now: datetime, *, source: str = "api"
    ) -> BatchResult:
        """Store the new observations with the partials they make, in one unit: the monitor
        reads windows from partials, so a row stored without its partial would go unseen."""
        target = self._target(system)
        accepted, rejected = validate_batch(items, now, retention=target.retention(now))
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
            versions = {v for i in new if (v := rows[i]["model_version"])}
            if versions:  # a serious incident's evidence hold records a new one (Art. 73(6))
                from watchkeeper.alerting.serious import model_versions_seen

                model_versions_seen(unit, system, versions, now)
            if profiling and len(new) < len(items_by_id):
                partials = build(profiling, [items_by_id[i] for i in new], target.edges)
            unit.ingest.add_partials(system, partials, now)
            unit.ingest.add_dead_letters(
                system, source, [(r.index, r.raw, r.error) for r in rejected], now
            )
            ends = {(p.key, p.window_start): p.window_end for p in partials}
            crowded = unit.ingest.crowded_windows(system, sorted(ends), COMPACT_AT)
        if crowded:
            self._compact(system, [(key, start, ends[key, start]) for key, start in crowded], now)
        result = BatchResult(len(new), len(accepted) - len(new), rejected)
        self._count(system, "observation", source, **result.outcomes())
        return result

    def _compact(
        self, system: str, windows: list[tuple[str, datetime, datetime]], now: datetime
    ) -> None:
        """Merge the partials of windows that many batches reached into one each, so a window
        is read from a bounded number of rows at any traffic. Best effort, after the batch is
        stored: another replica doing the same first leaves this one nothing to do."""
        groups = []
        with self.store.read() as unit:
            for key, start, end in windows:
                parts = unit.ingest.partials(system, [key], start, end).get((key, start), [])
                if len(parts) > 1:
                    state = merged(key, [state for _, _, state in parts])
                    rows = sum(n for _, n, _ in parts)
                    partial = Partial(key, start, end, rows, state.to_dict())
                    groups.append(([pk for pk, _, _ in parts], partial))
        self.store.compact_partials(system, groups, now)

    def profiling(self, system: str) -> tuple[Profiling, dict[str, tuple[float, ...]]]:
        """What a profiler elsewhere (`wk profile`) needs to make this system's partials: its
        keys and windows, and the baseline's bin edges."""
        target = self._target(system)
        if target.profiling is None:
            raise ActionError(
                "invalid", f"system {system!r} has a manifest this version cannot read"
            )
        return target.profiling, target.edges

    def record_partials(self, system: str, items: Sequence[Any], now: datetime) -> dict[str, Any]:
        """Store partials profiled elsewhere, all or none: each must be a key this system's
        manifest makes now (a changed column type or signal makes another), on that key's
        window, within retention, with a state that merges."""
        target = self._target(system)
        if target.profiling is None:
            raise ActionError(
                "invalid", f"system {system!r} has a manifest this version cannot read"
            )
        made, problems = [], []
        for index, item in enumerate(items):
            try:
                made.append(_partial(item, target.profiling, now - target.retention(now), now))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"partials[{index}]: {exc}")
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ActionError("invalid", "; ".join(problems[:5]) + more + "; nothing was stored")
        with self.store.write() as unit:
            _require_system(unit, system)
            stored = unit.ingest.add_partials(system, made, now)
        windows = {(p.window_start, p.window_end) for p in made}
        rows = sum(p.rows for p in made if p.key == "day")
        return {"partials": stored, "duplicates": len(made) - stored, "rows": rows,
                "windows": len(windows)}  # fmt: skip

    def feedback(
        self, system: str, items: Sequence[Any], now: datetime, *, source: str = "api"
    ) -> BatchResult:
        """Feedback may arrive before its observation: it is kept and joined when that comes."""
        accepted, rejected = validate_batch(
            items, now, kind="feedback", retention=self._target(system).retention(now)
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
        result = BatchResult(new, len(rows) - new, rejected)
        self._count(system, "feedback", source, **result.outcomes())
        return result

    def reject(
        self, system: str, source: str, reasons: Sequence[tuple[Any, str]], now: datetime
    ) -> None:
        """Keep items refused before validation (e.g. OTLP spans of a system not applied yet:
        they show under that name once its manifest is)."""
        name = clean_text(system)[:SYSTEM_NAME_MAX]
        kept = [(None, keepable(raw), clean_text(why)) for raw, why in reasons]
        with self.store.write() as unit:
            unit.ingest.add_dead_letters(name, source, kept, now)
            outcome = "rejected" if unit.system(name) else "unknown_system"
        self._count(name, "observation", source, **{outcome: len(kept)})

    def known_systems(self, names: Iterable[str]) -> set[str]:
        """Which of these names are applied systems."""
        wanted = set(names)
        with self.store.read() as unit:
            return {record.name for record in unit.systems() if record.name in wanted}

    def explore(
        self,
        system: str,
        since: datetime,
        until: datetime,
        *,
        where: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> dict[str, Any]:
        """Observations newest first, those `where` (the runbook's expression language) holds
        for; at most EXPLORE_SCAN rows are read a call, so a rare match in a busy system answers
        in bounded time with a cursor (`next`) to go on from, never a timeout."""
        try:
            test = compile_expr(where) if where else None
        except ExprError as exc:
            raise ActionError("invalid", f"where: {exc}") from None
        position = _position(after)
        since = as_utc(since)  # a time without a zone is UTC, as everywhere in the API
        found: list[dict[str, Any]] = []
        scanned = 0
        while len(found) < limit and scanned < EXPLORE_SCAN:
            with self.store.read() as unit:
                _require_system(unit, system)
                page = unit.ingest.observations_newest(system, since, until, position, PAGE)
            for key, record in page:
                position, scanned = key, scanned + 1
                if test is None or test(fields_of(record)) is True:
                    found.append(_observation_dict(record))
                    if len(found) == limit:
                        break
            if len(page) < PAGE and (not page or position == page[-1][0]):
                position = None  # read to the start of the range: nothing to go on from
                break
        cursor = None if position is None else _cursor(position)
        return {"observations": found, "scanned": scanned, "next": cursor}

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
    """A system's retention: its observations (with their feedback), the raw rows outside its
    sample once RAW_FULL_DAYS old, feedback whose observation never came, the window partials of
    the retention's past, and its dead letters."""

    def observations(unit: Unit) -> tuple[dict[str, int], bool]:
        gone, feedback = unit.ingest.purge_observations(p.system, p.before, p.keep, batch)
        return {"observations": gone, "feedback": feedback}, gone < batch

    def orphan_feedback(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_orphan_feedback(p.system, p.before, batch)
        return {"feedback": gone}, gone < batch

    thinning = _Thinning(p, batch)

    def partials(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_partials(p.system, p.before, p.keep, batch)
        return {"partials": gone}, gone < batch

    def dead_letters(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_dead_letters(p.before, batch, system=p.system)
        return {"dead_letters": gone}, gone < batch

    return [observations, thinning.step, orphan_feedback, partials, dead_letters]


class _Thinning:
    """Thins a system's raw rows to its sample, a day at a time from where the last run got to
    (each finished day is recorded, like a signal window), a page of rows a step."""

    def __init__(self, p: Plan, batch: int) -> None:
        self.plan, self.batch = p, batch
        self.after = 0  # the last row id looked at in the current day

    def step(self, unit: Unit) -> tuple[dict[str, int], bool]:
        p = self.plan
        if p.thin_before is None:
            return {}, True
        done = unit.monitoring.last_signal_window(p.system, THINNED_KEY)
        start = max(done or p.before, p.before)
        day = next(
            (d for d in complete_windows(start, p.thin_before, DAY) if not _within(d, p.keep)),
            None,
        )
        if day is None:
            return {}, True
        page = unit.ingest.observation_page(p.system, *day, self.after, self.batch)
        queued = unit.care.queued_observation_ids(p.system, [obs_id for _, obs_id in page])
        drop = [
            (pk, obs_id)
            for pk, obs_id in page
            if obs_id not in queued and not in_sample(obs_id, p.raw_sample, RAW_SAMPLE_SALT)
        ]
        gone, feedback = unit.ingest.drop_observations(p.system, drop)
        if len(page) < self.batch:
            row = {"signal": THINNED_KEY, "window_start": day[0], "window_end": day[1],
                   "value": None, "n": 0}  # fmt: skip
            unit.monitoring.save_signal_values(p.system, [row], day[1])
            self.after = 0
        else:
            self.after = page[-1][0]
        return {"thinned": gone, "feedback": feedback}, False


def _within(day: tuple[datetime, datetime], keep: tuple[datetime, datetime] | None) -> bool:
    return keep is not None and day[1] > keep[0] and day[0] < keep[1]


def _unapplied_dead_letters(before: datetime, applied: list[str], batch: int) -> PurgeStep:
    def step(unit: Unit) -> tuple[dict[str, int], bool]:
        gone = unit.ingest.purge_dead_letters(before, batch, system=None, applied=applied)
        return {"dead_letters": gone}, gone < batch

    return step
