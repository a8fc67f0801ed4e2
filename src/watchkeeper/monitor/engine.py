"""The monitor's shell: for each live system, evaluate every due window once and store what the
checks found. `tick(now)` calls `evaluate` per system; `wk check` calls `check`, which stores
nothing.

Each evaluation reads and judges inside a read unit, then stores its results in one short write
unit: user regexes and expressions, drift statistics and embeddings never run while a write lock
is held, so a kill-switch flip never waits behind monitoring.

Per signal, windows are evaluated in order from where the last evaluation stopped (so a tick that
runs late catches up, and a re-run changes nothing). Drift and contract checks run on daily
windows against the baseline's profiles, computed once when the baseline period is complete, so
long histories are never rescanned. Silence is a finding, never health.

A window is read as the merge of the partials ingest left for it (`partials`), never as its raw
rows, so a tick costs the same at any traffic; a window with no partials at all (data stored
before partials existed) is profiled from its rows by the same functions. Feedback signals are
the exception: feedback changes an observation after it was profiled, so they read the
observations that have feedback — as many as people or labels give, not as the traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from fractions import Fraction
from functools import reduce
from typing import Any, cast

import numpy as np

from watchkeeper.clock import as_utc
from watchkeeper.durations import format_duration
from watchkeeper.errors import ActionError
from watchkeeper.evals import EvalRun
from watchkeeper.jsonvalue import plain
from watchkeeper.manifest import AlertRule, Severity, Signal, SystemManifest
from watchkeeper.monitor import checks
from watchkeeper.monitor import estimate as estimation
from watchkeeper.monitor.calibration import (
    DriftCalibration,
    Noise,
    calibrate_drift,
    cusum_limit,
    measure_noise,
)
from watchkeeper.monitor.contract import ContractTally, contract_breaks
from watchkeeper.monitor.drift import ColumnDrift, no_verdict, summarize
from watchkeeper.monitor.embedder import INSTALL_HINT, load_embedder
from watchkeeper.monitor.embedding import (
    Embedder,
    EmbeddingProfile,
    embedding_drift,
    embedding_profile,
)
from watchkeeper.monitor.explain import Explained, drift_entry, signal_entries
from watchkeeper.monitor.findings import CheckKind, Finding
from watchkeeper.monitor.partials import (
    EMBEDDED_OUTPUT,
    Column,
    ColumnKind,
    Day,
    NumericColumn,
    Partial,
    Presence,
    State,
    Texts,
    baseline_edges,
    build,
    column_from_dict,
    column_state,
    merge_columns,
    merge_texts,
    merged,
    profiling_for,
)
from watchkeeper.monitor.profiles import CategoricalProfile, NumericProfile, Profile, from_dict
from watchkeeper.monitor.signals import (
    SignalState,
    complete_windows,
    compute,
    signal_value,
    window_start,
)
from watchkeeper.monitor.stats import reviewed_error_rate
from watchkeeper.monitor.trend import DEFAULT_LIMIT, DEFAULT_SLACK
from watchkeeper.store import FindingRecord, Store, SystemRecord, Unit

DAY = timedelta(days=1)
MAX_WINDOWS = 400  # per signal per evaluation: a long outage catches up over a few ticks
DEFAULT_SILENCE = timedelta(days=1)
# Below these, "normal" is noise: a column's baseline needs this many values, a signal's this
# many data points behind its windows (an eval run counts one); short of it the check has no
# verdict and a finding says why.
MIN_BASELINE_VALUES = 30
MIN_BASELINE_SAMPLES = 2
EVAL_GRACE = timedelta(days=1)  # a scheduled run may land a tick late without being "overdue"
# Embedding is the one costly step of a check; a stable sample keeps a busy day's cost bounded.
EMBED_PER_WINDOW = 500
EMBED_BASELINE = 5_000
# Drift pools up to a week of daily profiles; a month of them is kept for the dashboard and for
# explaining a finding, the baseline's for as long as the baseline stands.
KEEP_WINDOW_PROFILES = timedelta(days=31)


@dataclass(frozen=True)
class Evaluation:
    system: str
    windows: int
    findings: list[Finding] = field(default_factory=list)
    new: list[Finding] = field(default_factory=list)
    evaluated_rules: frozenset[str] = frozenset()
    baseline_end: datetime | None = None
    # Per statistical check: its threshold, its share of the alarm budget and the smallest
    # shift it can see (`wk check --explain`).
    calibration: list[Explained] = field(default_factory=list)
    alarm_budget: str = ""


@dataclass
class _Results:
    """What one evaluation computed and will store: it is gathered in a read phase, so the one
    write unit that stores it is short and evaluates nothing."""

    values: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    period: tuple[datetime, datetime] | None = None
    window_profiles: list[dict[str, Any]] = field(default_factory=list)
    # Windows read from several partials: their ids, and the one partial that replaces them.
    compact: list[tuple[list[int], Partial]] = field(default_factory=list)


@dataclass(frozen=True)
class _Day:
    """One day as the daily checks see it: how many observations, and each key's merged state."""

    rows: int
    states: dict[str, State]


def baseline_period(
    manifest: SystemManifest, first_data: datetime | None
) -> tuple[datetime, datetime] | None:
    """The period "normal" is measured over: given dates, or the first N days of data counted
    from the start of the first data's day (UTC), so the baseline is whole daily windows."""
    baseline = manifest.spec.runbook.baseline
    if baseline.from_ and baseline.to:
        start = as_utc(datetime.combine(baseline.from_, datetime.min.time()))
        return start, as_utc(datetime.combine(baseline.to, datetime.min.time()))
    if first_data is None:
        return None
    start = window_start(first_data, DAY)
    return start, start + (baseline.first or timedelta(days=14))


class MonitorService:
    def __init__(
        self, store: Store, embedder: Callable[[], Embedder | None] = load_embedder
    ) -> None:
        # A loader, not a model: importing the model's libraries takes seconds, and only
        # systems that watch embedding drift should pay for it.
        self.store, self.embedder = store, embedder

    def live_systems(self) -> list[str]:
        with self.store.read() as unit:
            return [r.name for r in unit.systems() if r.manifest["spec"]["lifecycle"] == "live"]

    def check(self, system: str, now: datetime) -> Evaluation:
        """What the checks conclude for the current windows, recording nothing: the tick alone
        stores findings, so every stored finding reaches alerting."""
        evaluation, _ = self._compute(system, now)
        return evaluation

    def evaluate(self, system: str, now: datetime) -> Evaluation:
        """Evaluate every due window and store the results. Its findings include those stored
        earlier but never taken in by alerting (their tick failed in between)."""
        evaluation, results = self._compute(system, now)
        with self.store.write() as unit:
            unit.monitoring.save_signal_values(system, results.values, now)
            if results.profiles and results.period:
                unit.monitoring.save_baseline_profiles(
                    system, results.profiles, *results.period, now
                )
            unit.monitoring.save_window_profiles(system, results.window_profiles, now)
            if evaluation.baseline_end is not None:
                unit.monitoring.purge_window_profiles(
                    system, now - KEEP_WINDOW_PROFILES, evaluation.baseline_end
                )
            flags = unit.monitoring.save_findings([_row(f) for f in evaluation.findings], now)
            owed = [_finding(f) for f in unit.monitoring.unalerted_findings(system)]
        # Its own unit, after: a race with another compactor must not undo the findings.
        self.store.compact_partials(system, results.compact, now)
        new = [f for f, is_new in zip(evaluation.findings, flags, strict=True) if is_new]
        current = {f.fingerprint for f in evaluation.findings}
        stale = [f for f in owed if f.fingerprint not in current]
        return replace(evaluation, findings=evaluation.findings + stale, new=new)

    def signal_windows(
        self, system: str, only: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Each signal's newest `limit` windows as stored — value, n, and an estimated metric's
        interval — with, for an estimated metric, the metric realized on the labels that have
        come since (computed now: labels arrive months after their window was estimated)."""
        with self.store.read() as unit:
            record = unit.system(system)
            if record is None:
                raise ActionError("not_found", f"no system {system!r}")
            signals = SystemManifest.model_validate(record.manifest).spec.runbook.signals
            if only is not None and only not in signals:
                known = ", ".join(sorted(signals)) or "none"
                raise ActionError("not_found", f"{system} has no signal {only!r} (it has: {known})")
            listed = []
            for name, signal in sorted(signals.items()):  # JSONB keeps no key order
                if only is not None and name != only:
                    continue
                windows = stored_windows(unit, system, name, signal, limit)
                for window in windows:
                    for key in ("window_start", "window_end"):
                        window[key] = window[key].isoformat()
                listed.append(
                    {
                        "signal": name,
                        "kind": signal.kind,
                        "metric": signal.metric,
                        "window": format_duration(signal.window),
                        "windows": windows,
                    }
                )
            return listed

    def record_failures(self, failures: Sequence[checks.Failure], now: datetime) -> None:
        """Store each failing step as a finding of its system. Nothing to alert on: no rule
        names it, so it is marked taken in at once."""
        found = [checks.failure(f, now) for f in failures if f.system is not None]
        if not found:
            return
        with self.store.write() as unit:
            unit.monitoring.save_findings([_row(f) for f in found], now)
            unit.monitoring.mark_alerted([(f.fingerprint, f.window_start) for f in found], now)

    def _compute(self, system: str, now: datetime) -> tuple[Evaluation, _Results]:
        """Every read and every judgement, in a read unit: user expressions and regexes, drift
        statistics and embeddings run while no write lock is held."""
        with self.store.read() as unit:
            record = unit.system(system)
            if record is None:
                raise ActionError("not_found", f"no system {system!r}")
            run = _Run(unit, record, now, self.embedder)
            run.signals()
            run.drift_and_contracts()
            run.silence()
            run.evals_overdue()
        evaluation = Evaluation(
            system,
            run.windows,
            run.findings,
            [],
            frozenset(run.evaluated),
            run.baseline[1] if run.baseline else None,
            run.explained,
            str(run.budget),
        )
        return evaluation, run.results


class _Run:
    """One system's evaluation, reading through one read unit and keeping what it will store."""

    def __init__(
        self,
        unit: Unit,
        record: SystemRecord,
        now: datetime,
        embedder: Callable[[], Embedder | None],
    ) -> None:
        self.unit, self.record, self.now, self.embedder = unit, record, now, embedder
        self.manifest = SystemManifest.model_validate(record.manifest)
        self.name = record.name
        self.runbook = self.manifest.spec.runbook
        # Data profiled elsewhere (`wk profile`) has partials and no rows: it starts on the first
        # day they cover. (The first row, where there is one, is never thinned: it lies in the
        # baseline period.)
        self.first = unit.ingest.first_observation_at(self.name) or unit.ingest.first_partial_at(
            self.name
        )
        runs = unit.care.eval_runs(self.name, limit=1_000_000)
        if runs and (self.first is None or runs[-1].started_at < self.first):
            self.first = runs[-1].started_at
        self.baseline = baseline_period(self.manifest, self.first)
        self.findings: list[Finding] = []
        self.windows = 0
        self.evaluated: set[str] = set()
        self.results = _Results()
        self.budget = self.runbook.alarm_budget
        self.budgeted = budgeted_checks(self.manifest)
        self.explained: list[Explained] = []
        self.profiling = profiling_for(self.manifest)
        self._daily_states: dict[datetime, _Day] = {}
        self._baseline_stored: dict[str, dict[str, Any]] | None = None
        self._model: list[Embedder | None] = []
        # Each watched column's daily profiles by window start: stored, baseline and this run's.
        self._days: dict[str, dict[datetime, Profile]] | None = None
        self._baseline_days: dict[str, dict[datetime, Profile]] = {}

    def _read(
        self, keys: list[str], windows: Sequence[tuple[datetime, datetime]]
    ) -> dict[tuple[str, datetime], State]:
        """Each key's merged state per window, for the windows that have partials; a window
        merged from several is queued to be stored as one."""
        if not windows:
            return {}
        found = self.unit.ingest.partials(self.name, keys, windows[0][0], windows[-1][1])
        ends = dict(windows)
        states = {}
        for (key, start), parts in found.items():
            if start not in ends:
                continue
            states[key, start] = merged(key, [state for _, _, state in parts])
            if len(parts) > 1:
                rows = sum(n for _, n, _ in parts)
                partial = Partial(key, start, ends[start], rows, states[key, start].to_dict())
                self.results.compact.append(([pk for pk, _, _ in parts], partial))
        return states

    def _rules(self, signal: str) -> list[AlertRule]:
        return [r for r in self.runbook.alerts if r.signal == signal]

    def signals(self) -> None:
        for name, signal in self.runbook.signals.items():
            since = self.unit.monitoring.last_signal_window(self.name, name)
            if signal.kind == "estimated":
                rows = self._estimated_rows(name, signal, since) if self.first else []
            elif signal.source == "eval":
                rows = self._eval_rows(name, signal, since)
            elif self.first is None:
                continue
            elif signal.source == "triage":
                rows = self._triage_rows(
                    name, signal, since or window_start(self.first, signal.window)
                )
            else:
                rows = self._observation_rows(
                    name, signal, since or window_start(self.first, signal.window)
                )
            if rows:
                self._judge(name, rows)
            elif signal.source == "eval" or self.first is not None:
                self._explain(name, self.unit.monitoring.signal_series(self.name, name))

    def _observation_rows(self, name: str, signal: Signal, since: datetime) -> list[dict[str, Any]]:
        windows = list(complete_windows(since, self.now, signal.window))[-MAX_WINDOWS:]
        feedback = signal.source == "feedback"
        key = "" if feedback else self.profiling.key("signal", name)
        states = {} if feedback else self._read([key], windows)
        rows = []
        for start, end in windows:
            state = states.get((key, start))
            if isinstance(state, SignalState):
                value = signal_value(signal, state)
            else:
                observations = self.unit.ingest.observations(
                    self.name, start, end, with_feedback=feedback
                )
                value = compute(signal, observations)
            rows.append(_value_row(name, start, end, value.value, value.n))
        return rows

    def _estimated_rows(
        self, name: str, signal: Signal, since: datetime | None
    ) -> list[dict[str, Any]]:
        """The metric estimated in each whole window, once the baseline is over and its labelled
        rows calibrate the scores; the baseline's own windows too, for the level a drop is
        measured from. Nothing is estimated while the calibration cannot be made: the finding
        says what is missing."""
        if self.baseline is None or self.first is None or self.now < self.baseline[1]:
            return []
        start = since or window_start(self.first, signal.window)
        windows = list(complete_windows(start, self.now, signal.window))[-MAX_WINDOWS:]
        # Most ticks fall inside a window: they must not re-read the labelled baseline and refit
        # (0.36 s a system at 200 rows a day, growing with the baseline).
        if not windows:
            return []
        calibration = self._calibration(name, signal)
        if calibration is None:
            return []
        assert signal.metric is not None and signal.score is not None
        rows = []
        for begin, end in windows:
            scored = estimation.scored(signal, self.unit.ingest.observations(self.name, begin, end))
            try:
                scores = estimation.checked_scores(scored.scores)
            except estimation.EstimateError as exc:
                self.findings += checks.cannot_estimate(self.name, name, str(exc), begin, end)
                rows.append(_value_row(name, begin, end, None, 0))
                continue
            got = estimation.estimate(
                signal.metric, calibration.apply(scores), scored.predicted, scores,
                seed=int(begin.timestamp()),
            )  # fmt: skip
            detail = {"low": got.low, "high": got.high, "calibrated": calibration.fitted}
            rows.append(_value_row(name, begin, end, got.value, got.n, detail))
        return rows

    def _calibration(self, name: str, signal: Signal) -> estimation.Calibration | None:
        """The baseline's labelled rows calibrate the scores (read each evaluation: labels of
        the baseline may arrive months late, and a calibration waits for them)."""
        assert self.baseline is not None
        start, end = self.baseline
        labelled = self.unit.ingest.observations(self.name, start, end, with_feedback=True)
        try:
            return estimation.calibrate_on(signal, labelled)
        except estimation.EstimateError as exc:
            self.findings += checks.cannot_estimate(self.name, name, str(exc), start, end)
            return None

    def _eval_rows(self, name: str, signal: Signal, since: datetime | None) -> list[dict[str, Any]]:
        """One value per eval run of the suite (its `field`, default the pass rate)."""
        metric = signal.field or "pass_rate"
        runs = [
            r
            for r in reversed(self.unit.care.eval_runs(self.name, signal.suite, limit=MAX_WINDOWS))
            if since is None or r.started_at > since
        ]
        rows = []
        for run in runs:
            value = EvalRun.from_dict(run.run).summary.metrics().get(metric)
            rows.append(_value_row(name, run.started_at, run.started_at, value, 1))
        return rows

    def _triage_rows(self, name: str, signal: Signal, since: datetime) -> list[dict[str, Any]]:
        """The reviewed error rate of the random sample, per window, once the window is older
        than the triage deadline — by then its items should have verdicts."""
        settled = self.now - self.runbook.triage.deadline
        items = self.unit.care.triage_items(self.name, status="done", limit=100_000)
        rows = []
        for start, end in list(complete_windows(since, settled, signal.window))[-MAX_WINDOWS:]:
            verdicts = [
                i.verdict
                for i in items
                if i.condition == "sample" and i.verdict and start <= i.observed_at < end
            ]
            rate = reviewed_error_rate(verdicts)
            rows.append(_value_row(name, start, end, rate.rate, rate.reviewed))
        return rows

    def _judge(self, name: str, rows: list[dict[str, Any]]) -> None:
        self.results.values += rows
        self.windows += len(rows)
        if any(r["value"] is not None for r in rows):
            # A window without data clears nothing: silence is judged on its own.
            self.evaluated.update(r.name for r in self._rules(name))
        series = _with_pending(
            self.unit.monitoring.signal_series(self.name, name, until=rows[-1]["window_end"]), rows
        )
        level, noise, alpha = self._explain(name, series)
        for row in rows:
            start, end = row["window_start"], row["window_end"]
            upto = [(v, n) for s, _, v, n in series if s <= start]
            value, n = upto[-1] if upto else (None, 0)
            sampling = checks.Sampling(n, noise, alpha) if noise.rate or level else None
            self._signal_checks(
                name, checks.Window(self.name, start, end), value, [v for v, _ in upto],
                level[0] if level else None, sampling,
            )  # fmt: skip

    def _explain(
        self, name: str, series: list[tuple[datetime, datetime, float | None, int]]
    ) -> tuple[tuple[float, Noise] | None, Noise, float]:
        """The signal's baseline level and noise, and its checks' share of the budget; each
        check's calibration is kept for `--explain`."""
        signal = self.runbook.signals[name]
        level = self._baseline_level(name, signal, series)
        alpha = self.budget.per_window(signal.window, self.budgeted)
        noise = level[1] if level else Noise(rate=_is_rate(signal))
        self.explained += signal_entries(
            name, self.runbook.healthy.get(name), self._rules(name), level, noise, alpha,
            self._trend_limit(alpha), self.budget, signal.window,
        )  # fmt: skip
        return level, noise, alpha

    def _baseline_level(
        self, name: str, signal: Signal, series: list[tuple[datetime, datetime, float | None, int]]
    ) -> tuple[float, Noise] | None:
        """The signal's level over the baseline and its window-to-window noise there."""
        if self.baseline is None or self.now < self.baseline[1]:
            return None
        start, end = self.baseline
        within = [
            (v, n) for s, e, v, n in series if s >= start and e <= end and v is not None and n
        ]
        samples = sum(n for _, n in within)
        if samples < MIN_BASELINE_SAMPLES:
            subject = f"signal {name}"
            self.findings += checks.baseline_too_small(
                self.name, subject, samples, MIN_BASELINE_SAMPLES, "data points", start, end
            )
            return None
        return float(np.mean([v for v, _ in within])), measure_noise(within, _is_rate(signal))

    def _trend_limit(self, alpha: float) -> float:
        """A trend's CUSUM limit: its share of the budget, and never below the tested default."""
        return max(DEFAULT_LIMIT, cusum_limit(alpha, DEFAULT_SLACK))

    def _signal_checks(
        self,
        name: str,
        window: checks.Window,
        value: float | None,
        series: list[float | None],
        baseline: float | None,
        sampling: checks.Sampling | None,
    ) -> None:
        bound = self.runbook.healthy.get(name)
        rules = self._rules(name)
        if bound is not None:
            plain = [r for r in rules if r.condition_free]
            for finding in checks.bounds(window, name, bound, value, sampling):
                if finding.check != "bounds":
                    self.findings.append(finding)
                    continue
                for rule in _or_none(plain):
                    self.findings.append(_with_rule(finding, rule))
        numbers = [np.nan if v is None else v for v in series]
        compared = sampling
        if sampling is not None and baseline is not None:
            compared = replace(sampling, baseline_error=sampling.noise.baseline_error(baseline))
        for rule in rules:
            self.findings += checks.relative_change(window, rule, baseline, value, compared)
            self.findings += checks.threshold(window, rule, value, sampling)
            if rule.trend:
                limit = None
                if bound is not None:
                    limit = bound.min if rule.trend == "down" else bound.max
                trend_limit = self._trend_limit(sampling.alpha) if sampling else DEFAULT_LIMIT
                self.findings += checks.trend(window, rule, numbers, baseline, limit, trend_limit)

    def drift_and_contracts(self) -> None:
        if self.baseline is None or self.now < self.baseline[1]:
            return
        reference = self._baseline_profiles()
        alpha = self.budget.per_window(DAY, self.budgeted)
        calibrations = {}
        for column, days in self._baseline_days.items():
            if column in reference and days:
                calibrations[column] = calibrate_drift(column, list(days.values()), alpha)
        for rule in self.runbook.alerts:
            if rule.drift:
                self.explained += [
                    drift_entry(rule.name, calibrations[c], self.budget)
                    for c in rule.drift
                    if c in calibrations
                ]
                self._daily(
                    f"drift:{rule.name}",
                    [rule.name],
                    lambda w, day, r=rule: self._drift(w, day, r, reference, calibrations),
                )
        for upstream in self.manifest.spec.upstream:
            self._daily(
                f"contract:{upstream.name}",
                [r.name for r in self.runbook.alerts if r.contract == upstream.name],
                lambda w, day, u=upstream: self._contract(w, day, u, reference),
            )

    def _due_days(self, key: str) -> list[tuple[datetime, datetime]]:
        assert self.baseline is not None
        since = self.unit.monitoring.last_signal_window(self.name, key) or self.baseline[1]
        return list(complete_windows(since, self.now, DAY))[-MAX_WINDOWS:]

    def _daily(self, key: str, rules: list[str], check: Any) -> None:
        rows = []
        due = self._due_days(key)
        self._days_of(due)
        for start, end in due:
            day = self._daily_states[start]
            value = check(checks.Window(self.name, start, end), day) if day.rows else None
            rows.append(_value_row(key, start, end, value, day.rows))
        self.results.values += rows
        if any(r["n"] for r in rows):
            self.evaluated.update(rules)

    def _days_of(self, days: Sequence[tuple[datetime, datetime]]) -> list[_Day]:
        """Each day's merged states (read once per run): from its partials, or, for a day
        stored before partials existed, made from its rows by the same functions."""
        wanted = [d for d in days if d[0] not in self._daily_states]
        keys = [k for k in self.profiling.keys.values() if not k.startswith("signal:")]
        read = self._read(keys, wanted)
        edges = baseline_edges(self._stored_baseline())
        for start, end in wanted:
            if ("day", start) in read:
                states = {k: v for (k, s), v in read.items() if s == start}
                day = states["day"]
                assert isinstance(day, Day)
                self._daily_states[start] = _Day(day.rows, states)
                continue
            observations = self.unit.ingest.observations(self.name, start, end)
            made = build(self.profiling, observations, edges)
            states = {p.key: merged(p.key, [p.state]) for p in made}
            self._daily_states[start] = _Day(len(observations), states)
        return [self._daily_states[start] for start, _ in days]

    def _stored_baseline(self) -> dict[str, dict[str, Any]]:
        """The stored baseline profiles, read once a run."""
        if self._baseline_stored is None:
            self._baseline_stored = self.unit.monitoring.baseline_profiles(self.name)
        return self._baseline_stored

    def _column(self, day: _Day, column: str) -> Column | None:
        state = day.states.get(self.profiling.key("column", column))
        return state if isinstance(state, NumericColumn | CategoricalProfile | Presence) else None

    def _baseline_profiles(self) -> dict[str, Any]:
        """The baseline's profile of every watched column, made once and stored. A column with
        fewer than MIN_BASELINE_VALUES values in the period gets none — a finding says so — and
        is made again on later runs, so late data or a corrected period can still fill it."""
        assert self.baseline is not None
        stored = self._stored_baseline()
        wanted = self.profiling.columns
        missing = [c for c in wanted if c not in stored]
        embedder = self.model()
        # Keyed by model: a baseline embedded by another model is not comparable, so a new
        # model gets a baseline of its own.
        embedded = _baseline_key(embedder) if embedder else None
        if missing or (embedded and embedded not in stored):
            days = self._days_of(list(complete_windows(*self.baseline, DAY)))
            made = {}
            for column in missing:
                parts = [c for c in (self._column(d, column) for d in days) if c is not None]
                made_profile = _reference(parts, wanted[column])
                if made_profile.count >= MIN_BASELINE_VALUES:
                    made[column] = made_profile.to_dict()
                else:
                    self.findings += checks.baseline_too_small(
                        self.name, column, made_profile.count, MIN_BASELINE_VALUES, "values",
                        *self.baseline,
                    )  # fmt: skip
            texts = _texts_of(days, EMBED_BASELINE)
            if embedder and embedded and embedded not in stored and texts.sample:
                made[embedded] = _embed(embedder, texts, EMBED_BASELINE).to_dict()
            self.results.profiles.update(made)
            self.results.period = self.baseline
            stored = {**stored, **made}
        profiles: dict[str, Any] = {c: _stored(d) for c, d in stored.items() if c in wanted}
        self._baseline_days = self._profile_baseline_days(
            {c: p for c, p in profiles.items() if not isinstance(p, Presence)}
        )
        if embedded in stored:
            profiles[EMBEDDED_OUTPUT] = EmbeddingProfile.from_dict(stored[embedded])
        return profiles

    def _profile_baseline_days(
        self, profiles: dict[str, Profile]
    ) -> dict[str, dict[datetime, Profile]]:
        """Each watched column's profile per day of the baseline, on the baseline's edges, made
        once and stored: drift calibrates on how much the baseline's days differ."""
        assert self.baseline is not None
        start, end = self.baseline
        stored = self.unit.monitoring.window_profiles(self.name, window_start(start, DAY), end)
        days = {c: {s: from_dict(p) for s, p in stored.get(c, [])} for c in profiles}
        missing = [c for c in profiles if not days[c]]
        if missing:
            windows = list(complete_windows(start, end, DAY))
            for (day, day_end), states in zip(windows, self._days_of(windows), strict=True):
                if not states.rows:
                    continue
                for column in missing:
                    made = self._on_reference(states, column, profiles[column])
                    days[column][day] = made
                    self._pending_profile(column, day, day_end, made)
        return days

    def _on_reference(self, day: _Day, column: str, reference: Profile) -> Profile:
        """The day's profile of `column`, binned on the reference's edges."""
        state = self._column(day, column)
        if isinstance(state, NumericColumn) and isinstance(reference, NumericProfile):
            return state.on(reference.edges)
        if isinstance(state, CategoricalProfile):
            return state
        return _empty(reference)

    def _pending_profile(self, column: str, start: datetime, end: datetime, made: Profile) -> None:
        self.results.window_profiles.append(
            {"column": column, "window_start": start, "window_end": end, "profile": made.to_dict()}
        )

    def _recent(
        self, column: str, reference: Profile, start: datetime, end: datetime, day: _Day,
        longest: int,
    ) -> list[Profile | None]:  # fmt: skip
        """The column's profiles of this day and the `longest - 1` days before it, oldest first
        (None for a day without data): stored ones, the baseline's, and this run's."""
        if self._days is None:
            since = window_start(self.now, DAY) - (MAX_WINDOWS + longest) * DAY
            stored = self.unit.monitoring.window_profiles(self.name, since, self.now)
            self._days = {c: {s: from_dict(p) for s, p in rows} for c, rows in stored.items()}
            for c, baseline_days in self._baseline_days.items():
                self._days.setdefault(c, {}).update(baseline_days)
        days = self._days.setdefault(column, {})
        if start not in days:
            days[start] = self._on_reference(day, column, reference)
            self._pending_profile(column, start, end, days[start])
        return [days.get(start - back * DAY) for back in range(longest - 1, -1, -1)]

    def model(self) -> Embedder | None:
        """The model, loaded (once) only when some rule watches embedding drift."""
        if not _embedding_rules(self.manifest):
            return None
        if not self._model:
            self._model.append(self.embedder())
        return self._model[0]

    def _drift(
        self,
        window: checks.Window,
        day: _Day,
        rule: AlertRule,
        reference: dict[str, Any],
        calibrations: dict[str, DriftCalibration],
    ) -> float:
        """How many of the rule's columns drifted in this window: inputs by their calibrated
        check, the embedded output by its own verdict."""
        drifted = 0
        for column in rule.drift or []:
            if column == EMBEDDED_OUTPUT:
                verdict = self._embedding_drift(window, day, reference)
                found = checks.drift(window, rule, summarize([verdict]))
            elif column not in calibrations:
                # The baseline had too few values of it; its finding says so.
                continue
            else:
                calibration = calibrations[column]
                recent = self._recent(
                    column, reference[column], window.start, window.end, day,
                    max(calibration.scales),
                )  # fmt: skip
                found = checks.calibrated_drift(
                    window, rule, calibration, calibration.score(recent)
                )
            self.findings += found
            drifted += bool(found)
        return float(drifted)

    def _embedding_drift(
        self, window: checks.Window, day: _Day, reference: dict[str, Any]
    ) -> ColumnDrift:
        embedder = self.model()
        if embedder is None:
            # Said in a finding of its own: a drift check that cannot run must not look healthy.
            self.findings += checks.embedding_unavailable(window, EMBEDDED_OUTPUT, INSTALL_HINT)
            reason = f"no embedding model: {INSTALL_HINT}"
            return no_verdict(EMBEDDED_OUTPUT, "embedding", 0, 0, {}, reason)
        ref = reference.get(EMBEDDED_OUTPUT)
        if ref is None:
            reason = "the baseline period has no text outputs"
            return no_verdict(EMBEDDED_OUTPUT, "embedding", 0, 0, {}, reason)
        texts = _texts_of([day], EMBED_PER_WINDOW)
        return embedding_drift(EMBEDDED_OUTPUT, ref, _embed(embedder, texts, EMBED_PER_WINDOW, ref))

    def _contract(
        self,
        window: checks.Window,
        day: _Day,
        upstream: Any,
        reference: dict[str, Any],
    ) -> float:
        null_rates = {}
        for column in upstream.contract:
            ref = reference.get(column)
            # A column without a baseline profile has no known presence: not "always there".
            if ref is not None and ref.count + ref.null_count:
                null_rates[column] = ref.null_count / (ref.count + ref.null_count)
        tally = day.states.get(self.profiling.key("contract", upstream.name))
        breaks = (
            contract_breaks(upstream.contract, tally, baseline_null_rates=null_rates)
            if isinstance(tally, ContractTally)
            else []
        )
        rule = next((r for r in self.runbook.alerts if r.contract == upstream.name), None)
        liaison = self.manifest.spec.charter.data_liaison
        self.findings += checks.contract(window, upstream, breaks, liaison, rule)
        return float(len(breaks))

    def evals_overdue(self) -> None:
        since = self.record.live_since or self.record.applied_at
        for suite in self.manifest.spec.evals:
            if suite.every is None:
                continue
            last = next(iter(self.unit.care.eval_runs(self.name, suite.suite, limit=1)), None)
            self.findings += checks.eval_overdue(
                self.name,
                suite.suite,
                last.started_at if last else None,
                since,
                suite.every + EVAL_GRACE,
                self.now,
            )

    def silence(self) -> None:
        sources = {s.source for s in self.runbook.signals.values()}
        rules = [r for r in self.runbook.alerts if r.absent is not None]
        if not rules and not sources & {"observation", "output", "feedback"}:
            return
        since = self.record.live_since or self.record.applied_at
        latest = [self.unit.ingest.last_observation_at(self.name, until=self.now)]
        for state in self.unit.ingest.latest_day_partials(self.name, self.now):
            latest.append(Day.from_dict(state).last)
        last = max((t for t in latest if t is not None and t <= self.now), default=None)
        self.evaluated.update(r.name for r in rules)
        for rule in _or_none(rules):
            allowed = rule.absent if rule and rule.absent else DEFAULT_SILENCE
            self.findings += checks.silence(
                self.name,
                "observations",
                last,
                since,
                self.now,
                allowed,
                rule.severity if rule else "warning",
                rule.name if rule else None,
            )


def budgeted_checks(manifest: SystemManifest) -> int:
    """How many statistical checks share the system's alarm budget: each watched input of a
    drift rule, each healthy bound, and each drop, rise, below, above and trend condition.
    Contracts, silence and overdue evals are facts, not estimates, and spend none of it."""
    runbook = manifest.spec.runbook
    count = len(runbook.healthy)
    for rule in runbook.alerts:
        count += len(rule.drift or [])
        count += sum(
            v is not None for v in (rule.drop, rule.rise, rule.below, rule.above, rule.trend)
        )
    return max(1, count)


def _is_rate(signal: Signal) -> bool:
    return signal.kind == "rate" or signal.source == "triage"


def _embedding_rules(manifest: SystemManifest) -> list[AlertRule]:
    return [r for r in manifest.spec.runbook.alerts if EMBEDDED_OUTPUT in (r.drift or [])]


def _baseline_key(embedder: Embedder) -> str:
    return f"{EMBEDDED_OUTPUT}@{embedder.name}"


def _embed(
    embedder: Embedder, texts: Texts, limit: int, reference: EmbeddingProfile | None = None
) -> EmbeddingProfile:
    """Profile the sampled text outputs (at most `limit`, lowest id hash first: the same sample
    on every run, and no one hour of the day favoured)."""
    vectors = embedder.embed(texts.texts(limit))
    return embedding_profile(vectors, embedder.name, reference=reference, null_count=texts.nulls)


def _texts_of(days: Sequence[_Day], keep: int) -> Texts:
    """The days' text samples as one, keeping the `keep` lowest hashes."""
    found = Texts()
    for day in days:
        state = day.states.get("texts")
        if isinstance(state, Texts):
            found = merge_texts(found, state, keep)
    return found


def _reference(parts: Sequence[Column], kind: ColumnKind) -> Profile | Presence:
    """The baseline's profile of a column from its days' states: numeric ones on edges from
    the baseline's own quantiles."""
    whole = reduce(merge_columns, parts) if parts else column_state([], kind, None)
    return whole.reference() if isinstance(whole, NumericColumn) else whole


def _stored(data: dict[str, Any]) -> Profile | Presence:
    """A stored baseline profile (a contract's column may be kept as its presence alone)."""
    made = column_from_dict(data) if data.get("kind") == "presence" else from_dict(data)
    assert not isinstance(made, NumericColumn)
    return made


def _empty(reference: Profile) -> Profile:
    """A day's profile of a column it has no state for, comparable with `reference`."""
    if isinstance(reference, NumericProfile):
        edges = reference.edges
        zero = Fraction(0)
        return NumericProfile(edges, (0,) * (len(edges) + 1), 0, 0, zero, zero, None, None)
    return CategoricalProfile({}, 0)


def _value_row(
    signal: str,
    start: datetime,
    end: datetime,
    value: float | None,
    n: int,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "signal": signal,
        "window_start": start,
        "window_end": end,
        "value": value,
        "n": n,
        "detail": detail,
    }


def _or_none(rules: Sequence[AlertRule]) -> Sequence[AlertRule | None]:
    """The rules a finding is reported under; with none, it is still reported, under no rule."""
    return rules or [None]


def _with_rule(finding: Finding, rule: AlertRule | None) -> Finding:
    if rule is None:
        return finding
    return replace(finding, rule=rule.name, severity=rule.severity)


def _with_pending(
    stored: list[tuple[datetime, datetime, float | None, int]], rows: list[dict[str, Any]]
) -> list[tuple[datetime, datetime, float | None, int]]:
    """A signal's series as it will read once `rows` are stored: a stored window wins, as the
    store's insert-if-absent decides."""
    series = {s[0]: s for s in stored}
    for r in rows:
        series.setdefault(
            r["window_start"], (r["window_start"], r["window_end"], r["value"], r["n"])
        )
    return [series[start] for start in sorted(series)]


def _finding(stored: FindingRecord) -> Finding:
    """A stored finding as the monitor made it (the store keeps its kind and severity as text)."""
    return Finding(
        stored.system, cast(CheckKind, stored.check), stored.subject,
        cast(Severity, stored.severity), stored.summary, stored.window_start, stored.window_end,
        rule=stored.rule, evidence=stored.evidence or {},
    )  # fmt: skip


def _row(finding: Finding) -> dict[str, Any]:
    return {
        "system": finding.system,
        "fingerprint": finding.fingerprint,
        "check": finding.check,
        "subject": finding.subject,
        "rule": finding.rule,
        "severity": finding.severity,
        "summary": finding.summary,
        "window_start": finding.window_start,
        "window_end": finding.window_end,
        "evidence": plain(finding.evidence),
    }


def stored_windows(
    unit: Unit, system: str, name: str, signal: Signal, limit: int
) -> list[dict[str, Any]]:
    """A signal's newest `limit` windows as stored, with an estimated metric's interval and the
    metric realized on the labels that have come since — computed at reading, since labels
    arrive months after their window was estimated. The one reading both `wk signals` and the
    period report show."""
    windows = unit.monitoring.signal_windows(system, name, limit=limit)
    for window in windows:
        detail = window.pop("detail") or {}
        window.update(low=detail.get("low"), high=detail.get("high"), realized=None, realized_n=0)
        if signal.kind == "estimated":
            labelled = unit.ingest.observations(
                system, window["window_start"], window["window_end"], with_feedback=True
            )
            window.update(estimation.realized_on(signal, labelled))
    return windows
