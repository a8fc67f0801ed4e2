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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pyarrow as pa

from watchkeeper.clock import as_utc
from watchkeeper.errors import ActionError
from watchkeeper.evals import EvalRun
from watchkeeper.jsonvalue import plain
from watchkeeper.manifest import AlertRule, Severity, Signal, SystemManifest
from watchkeeper.monitor import checks
from watchkeeper.monitor.calibration import (
    DriftCalibration,
    Noise,
    calibrate_drift,
    cusum_limit,
    measure_noise,
)
from watchkeeper.monitor.contract import check_contract
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
from watchkeeper.monitor.profiles import NumericProfile, Profile, from_dict, profile
from watchkeeper.monitor.signals import (
    Observation,
    complete_windows,
    compute,
    fields_of,
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
_NUMERIC_TYPES = {"number", "integer"}
# The text of each output, embedded: a drift column like `output_length`, for what is said.
EMBEDDED_OUTPUT = "output_embedding"
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


def baseline_period(
    manifest: SystemManifest, first_data: datetime | None
) -> tuple[datetime, datetime] | None:
    """The period "normal" is measured over: given dates, or the first N days of data."""
    baseline = manifest.spec.runbook.baseline
    if baseline.from_ and baseline.to:
        start = as_utc(datetime.combine(baseline.from_, datetime.min.time()))
        return start, as_utc(datetime.combine(baseline.to, datetime.min.time()))
    if first_data is None:
        return None
    return first_data, first_data + (baseline.first or timedelta(days=14))


def column_values(observations: Sequence[Observation], column: str) -> list[Any]:
    path = column if column.startswith(("output", "latency_ms", "metadata.")) else None
    if path is None:
        return [o.inputs.get(column) for o in observations]
    result = []
    for o in observations:
        value: Any = fields_of(o)
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        result.append(value)
    return result


def as_column(values: list[Any], numeric: bool) -> Any:
    if numeric:
        return np.array(
            [
                float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
                for v in values
            ],
            dtype=np.float64,
        )
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


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
        new = [f for f, is_new in zip(evaluation.findings, flags, strict=True) if is_new]
        current = {f.fingerprint for f in evaluation.findings}
        stale = [f for f in owed if f.fingerprint not in current]
        return replace(evaluation, findings=evaluation.findings + stale, new=new)

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
        self.first = unit.ingest.first_observation_at(self.name)
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
        self._cache: dict[tuple[datetime, datetime], list[Observation]] = {}
        self._model: list[Embedder | None] = []
        # Each watched column's daily profiles by window start: stored, baseline and this run's.
        self._days: dict[str, dict[datetime, Profile]] | None = None
        self._baseline_days: dict[str, dict[datetime, Profile]] = {}

    def _observations(self, start: datetime, end: datetime) -> list[Observation]:
        key = (start, end)
        if key not in self._cache:
            self._cache[key] = self.unit.ingest.observations(self.name, start, end)
        return self._cache[key]

    def _rules(self, signal: str) -> list[AlertRule]:
        return [r for r in self.runbook.alerts if r.signal == signal]

    def signals(self) -> None:
        for name, signal in self.runbook.signals.items():
            since = self.unit.monitoring.last_signal_window(self.name, name)
            if signal.source == "eval":
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
        rows = []
        for start, end in list(complete_windows(since, self.now, signal.window))[-MAX_WINDOWS:]:
            value = compute(signal, self._observations(start, end))
            rows.append(_value_row(name, start, end, value.value, value.n))
        return rows

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
                    lambda w, obs, r=rule: self._drift(w, obs, r, reference, calibrations),
                )
        for upstream in self.manifest.spec.upstream:
            self._daily(
                f"contract:{upstream.name}",
                [r.name for r in self.runbook.alerts if r.contract == upstream.name],
                lambda w, obs, u=upstream: self._contract(w, obs, u, reference),
            )

    def _due_days(self, key: str) -> list[tuple[datetime, datetime]]:
        assert self.baseline is not None
        since = self.unit.monitoring.last_signal_window(self.name, key) or self.baseline[1]
        return list(complete_windows(since, self.now, DAY))[-MAX_WINDOWS:]

    def _daily(self, key: str, rules: list[str], check: Any) -> None:
        rows = []
        for start, end in self._due_days(key):
            observations = self._observations(start, end)
            value = (
                check(checks.Window(self.name, start, end), observations) if observations else None
            )
            rows.append(_value_row(key, start, end, value, len(observations)))
        self.results.values += rows
        if any(r["n"] for r in rows):
            self.evaluated.update(rules)

    def _columns(self) -> dict[str, bool]:
        """Every column drift or contracts look at, and whether it is numeric."""
        kinds: dict[str, bool] = {}
        for upstream in self.manifest.spec.upstream:
            for column, spec in upstream.contract.items():
                kinds[column] = spec.type in _NUMERIC_TYPES
        for rule in self.runbook.alerts:
            for column in rule.drift or []:
                if column != EMBEDDED_OUTPUT:
                    kinds.setdefault(column, column in ("latency_ms", "output_length"))
        return kinds

    def _baseline_profiles(self) -> dict[str, Any]:
        """The baseline's profile of every watched column, made once and stored. A column with
        fewer than MIN_BASELINE_VALUES values in the period gets none — a finding says so — and
        is made again on later runs, so late data or a corrected period can still fill it."""
        assert self.baseline is not None
        stored = self.unit.monitoring.baseline_profiles(self.name)
        wanted = self._columns()
        missing = [c for c in wanted if c not in stored]
        embedder = self.model()
        # Keyed by model: a baseline embedded by another model is not comparable, so a new
        # model gets a baseline of its own.
        embedded = _baseline_key(embedder) if embedder else None
        if missing or (embedded and embedded not in stored):
            observations = self.unit.ingest.observations(self.name, *self.baseline)
            made = {}
            for column in missing:
                numeric = wanted[column]
                made_profile = profile(
                    as_column(column_values(observations, column), numeric),
                    kind="numeric" if numeric else "categorical",
                )
                if made_profile.count >= MIN_BASELINE_VALUES:
                    made[column] = made_profile.to_dict()
                else:
                    self.findings += checks.baseline_too_small(
                        self.name, column, made_profile.count, MIN_BASELINE_VALUES, "values",
                        *self.baseline,
                    )  # fmt: skip
            if embedder and embedded and embedded not in stored and _texts(observations, 1):
                made[embedded] = _embed(embedder, observations, EMBED_BASELINE).to_dict()
            self.results.profiles.update(made)
            self.results.period = self.baseline
            stored = {**stored, **made}
        profiles: dict[str, Any] = {c: from_dict(d) for c, d in stored.items() if c in wanted}
        self._baseline_days = self._profile_baseline_days(profiles)
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
            by_day: dict[datetime, list[Observation]] = {}
            for o in self.unit.ingest.observations(self.name, start, end):
                by_day.setdefault(window_start(o.ts, DAY), []).append(o)
            for column in missing:
                for day, observations in sorted(by_day.items()):
                    made = self._profile_column(column, profiles[column], observations)
                    days[column][day] = made
                    self._pending_profile(column, day, min(day + DAY, end), made)
        return days

    def _profile_column(
        self, column: str, reference: Profile, observations: Sequence[Observation]
    ) -> Profile:
        numeric = reference.kind == "numeric"
        return profile(
            as_column(column_values(observations, column), numeric),
            kind=reference.kind,
            edges=reference.edges if isinstance(reference, NumericProfile) else None,
        )

    def _pending_profile(self, column: str, start: datetime, end: datetime, made: Profile) -> None:
        self.results.window_profiles.append(
            {"column": column, "window_start": start, "window_end": end, "profile": made.to_dict()}
        )

    def _recent(
        self, column: str, reference: Profile, start: datetime, end: datetime,
        observations: Sequence[Observation], longest: int,
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
            days[start] = self._profile_column(column, reference, observations)
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
        observations: list[Observation],
        rule: AlertRule,
        reference: dict[str, Any],
        calibrations: dict[str, DriftCalibration],
    ) -> float:
        """How many of the rule's columns drifted in this window: inputs by their calibrated
        check, the embedded output by its own verdict."""
        drifted = 0
        for column in rule.drift or []:
            if column == EMBEDDED_OUTPUT:
                verdict = self._embedding_drift(window, observations, reference)
                found = checks.drift(window, rule, summarize([verdict]))
            elif column not in calibrations:
                # The baseline had too few values of it; its finding says so.
                continue
            else:
                calibration = calibrations[column]
                recent = self._recent(
                    column, reference[column], window.start, window.end, observations,
                    max(calibration.scales),
                )  # fmt: skip
                found = checks.calibrated_drift(
                    window, rule, calibration, calibration.score(recent)
                )
            self.findings += found
            drifted += bool(found)
        return float(drifted)

    def _embedding_drift(
        self, window: checks.Window, observations: list[Observation], reference: dict[str, Any]
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
        return embedding_drift(
            EMBEDDED_OUTPUT, ref, _embed(embedder, observations, EMBED_PER_WINDOW, ref)
        )

    def _contract(
        self,
        window: checks.Window,
        observations: list[Observation],
        upstream: Any,
        reference: dict[str, Any],
    ) -> float:
        others = {c for u in self.manifest.spec.upstream if u is not upstream for c in u.contract}
        null_rates = {}
        for column in upstream.contract:
            ref = reference.get(column)
            # A column without a baseline profile has no known presence: not "always there".
            if ref is not None and ref.count + ref.null_count:
                null_rates[column] = ref.null_count / (ref.count + ref.null_count)
        breaks = check_contract(
            upstream.contract,
            [(o.ts, o.inputs) for o in observations],
            known_fields=others,
            baseline_null_rates=null_rates,
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
        last = self.unit.ingest.last_observation_at(self.name, until=self.now)
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
    embedder: Embedder,
    observations: Sequence[Observation],
    limit: int,
    reference: EmbeddingProfile | None = None,
) -> EmbeddingProfile:
    """Profile the embedded text outputs, at most `limit` of them, chosen by a hash of the
    observation id: the same sample on every run, and no one hour of the day favoured."""
    texts = _texts(observations, limit)
    nulls = sum(not isinstance(o.output, str) for o in observations)
    vectors = embedder.embed(texts)
    return embedding_profile(vectors, embedder.name, reference=reference, null_count=nulls)


def _texts(observations: Sequence[Observation], limit: int) -> list[str]:
    chosen = [o for o in observations if isinstance(o.output, str)]
    if len(chosen) > limit:
        chosen = sorted(
            chosen, key=lambda o: hashlib.blake2b(o.id.encode(), digest_size=8).digest()
        )
    return [o.output for o in chosen[:limit]]


def _value_row(
    signal: str, start: datetime, end: datetime, value: float | None, n: int
) -> dict[str, Any]:
    return {"signal": signal, "window_start": start, "window_end": end, "value": value, "n": n}


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
