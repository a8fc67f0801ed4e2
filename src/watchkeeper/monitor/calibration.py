"""Checks calibrated to an alarm budget: how the live monitor decides without paging on noise.

A one-off comparison may test each column at p < 0.05. A monitor that tests seven columns every
day at that level raises a false alarm every few days, and its owner learns to ignore it. Here the
owner states what they accept (`alarm_budget: 1 per 90d`, all of a system's statistical checks
together) and each check is calibrated on the baseline to its share of that:

* **Drift** accumulates evidence across windows instead of judging each day alone. A window's
  column is compared with the baseline by a chi-square over a few buckets (equal-mass bins of a
  numeric column, the common categories of a categorical one), sized so each holds about five
  rows at the usual window size. Real data varies from day to day more than sampling explains
  (weekdays differ from weekends), so the statistic is scaled down by the over-dispersion measured
  on the baseline's own days, each compared with the rest (leave one out). The scaled statistic
  becomes a z-score (Wilson-Hilferty) and feeds a one-sided CUSUM, whose decision interval is
  chosen (Siegmund's approximation) so that its average run between false alarms matches the
  check's share of the budget. A clear shift crosses it in one window; a small lasting one
  builds up over a few.
* **Rates and values against bounds** are judged with their sampling error: a breach needs the
  whole interval (at the check's share of the budget) beyond the bound. A window whose value is
  beyond the bound but whose interval is not is "too few to tell", recorded and never paged.

Everything here is a pure function of counts and numbers, so the benchmark on real data and the
engine use the same code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, Literal

from watchkeeper.monitor.profiles import NumericProfile, Profile, merge_all

ROWS_PER_BUCKET = 10
MAX_NUMERIC_BUCKETS = 10
MAX_CATEGORY_BUCKETS = 20
# Leave-one-out over-dispersion needs a few baseline windows to mean anything.
MIN_BASELINE_WINDOWS = 5
# A false alarm's CUSUM stays over its limit for about this many windows before it falls back
# (1.7 measured on in-control normal steps): the budget counts alarm windows, so a run of them
# is counted whole.
ALARM_WINDOWS = 2.0
OTHER = "(other)"
_NORMAL = NormalDist()


# --- thresholds from a budget ---------------------------------------------------------------


def one_sided_z(alpha: float) -> float:
    """The z beyond which a standard normal lies with probability `alpha`."""
    return _NORMAL.inv_cdf(1.0 - min(max(alpha, 1e-12), 0.5))


def cusum_run_length(slack: float, limit: float) -> float:
    """Siegmund's approximation of a one-sided CUSUM's average run length between false alarms,
    for in-control standard normal steps, allowance `slack` and decision interval `limit`."""
    two_kb = 2 * slack * (limit + 1.166)
    return (math.exp(two_kb) - two_kb - 1) / (2 * slack * slack)


def cusum_limit(alpha: float, slack: float) -> float:
    """The decision interval at which a CUSUM's alarm windows come at a rate of `alpha` per
    window (each false alarm counted for the ALARM_WINDOWS it lasts)."""
    low, high = 0.0, 1.0
    while ALARM_WINDOWS / cusum_run_length(slack, high) > alpha:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        if ALARM_WINDOWS / cusum_run_length(slack, middle) > alpha:
            low = middle
        else:
            high = middle
    return high


# --- drift: buckets, over-dispersion, z, CUSUM ------------------------------------------------


@dataclass(frozen=True)
class Buckets:
    """How a column's profiles are grouped for the live test: for a numeric column, bucket j
    holds the profile bins `cuts[j]` up to `cuts[j + 1]`; for a categorical one, each label is a
    bucket and every other value falls in the last (OTHER, when present). Nulls are left out:
    the contract check watches them."""

    kind: Literal["numeric", "categorical"]
    cuts: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.cuts) - 1 if self.kind == "numeric" else len(self.labels)

    def counts(self, profile: Profile) -> list[int]:
        if isinstance(profile, NumericProfile):
            if self.kind != "numeric":
                raise ValueError("a numeric profile cannot be counted in categorical buckets")
            return [sum(profile.bins[a:b]) for a, b in zip(self.cuts, self.cuts[1:], strict=False)]
        if self.kind != "categorical":
            raise ValueError("a categorical profile cannot be counted in numeric buckets")
        kept = {label: 0 for label in self.labels}
        spill = self.labels[-1]
        for value, n in profile.counts.items():
            kept[value if value in kept and value != OTHER else spill] += n
        return list(kept.values())


def buckets_for(reference: Profile, window_rows: float) -> Buckets:
    """Buckets holding about ROWS_PER_BUCKET rows each in a window of `window_rows` rows: fewer
    rows, coarser buckets, so the chi-square's approximation holds."""
    if isinstance(reference, NumericProfile):
        wanted = int(min(MAX_NUMERIC_BUCKETS, max(2, window_rows // ROWS_PER_BUCKET)))
        total = sum(reference.bins)
        target = total / wanted
        cuts, mass, seen = [0], 0, 0
        for index, n in enumerate(reference.bins[:-1]):
            mass, seen = mass + n, seen + n
            # A bucket closes once it holds its share, unless what is left would make a bucket
            # too thin to count (the tails' last few values join the bucket before them).
            if mass >= target and total - seen >= target / 2:
                cuts.append(index + 1)
                mass = 0
        cuts.append(len(reference.bins))
        return Buckets("numeric", cuts=tuple(cuts))
    total = sum(reference.counts.values())
    ranked = sorted(reference.counts.items(), key=lambda item: (-item[1], item[0]))
    labels = [
        value
        for value, n in ranked[:MAX_CATEGORY_BUCKETS]
        if total and window_rows * n / total >= ROWS_PER_BUCKET
    ]
    rest = total - sum(reference.counts[v] for v in labels)
    if not labels:
        labels = [v for v, _ in ranked[:2]]
    elif (rest and window_rows * rest / total >= ROWS_PER_BUCKET) or len(labels) < 2:
        labels.append(OTHER)
    return Buckets("categorical", labels=tuple(labels))


def chi_square(observed: Sequence[int], expected_counts: Sequence[float]) -> tuple[float, int]:
    """Pearson's statistic of `observed` against a reference's counts (half a row added to each
    reference bucket, so an empty one is rare, not impossible), and its degrees of freedom."""
    n = sum(observed)
    smoothed = [c + 0.5 for c in expected_counts]
    total = sum(smoothed)
    statistic = 0.0
    for o, c in zip(observed, smoothed, strict=True):
        e = n * c / total
        statistic += (o - e) ** 2 / e
    return statistic, len(observed) - 1


SCALES = (1, 3, 7)  # windows pooled: one for a clear shift, a few and a week for subtle ones


@dataclass(frozen=True)
class Cell:
    """One test within a column's drift check: a bucket's share moving up or down, or (for a
    numeric column) its mean."""

    label: str
    z: float
    share: float  # this window's (pooled) share, or its mean
    baseline: float
    windows: int  # how many windows were pooled


@dataclass(frozen=True)
class DriftScore:
    rows: int  # rows in the latest window
    cells: tuple[Cell, ...]

    @property
    def worst(self) -> Cell:
        return max(self.cells, key=lambda c: abs(c.z))


@dataclass(frozen=True)
class DriftCalibration:
    """A column's live drift check, calibrated on the baseline's daily profiles."""

    column: str
    buckets: Buckets
    reference: tuple[int, ...]  # the baseline's rows per bucket
    dispersion: float  # how much more the baseline's days vary than sampling explains (>= 1)
    window_rows: float  # the usual rows per window (median over the baseline's days)
    alpha: float  # false alarms per window this column may raise
    # A numeric column's values, ranked against the baseline: each profile bin's mid-rank, the
    # ranks' variance per row, and how much more the baseline's days vary than that explains.
    ranks: tuple[float, ...] = ()
    rank_variance: float = 0.0
    rank_dispersion: float = 1.0
    scales: tuple[int, ...] = SCALES

    @property
    def tests(self) -> int:
        cells = 2 * len(self.buckets) + (2 if self.ranks else 0)
        return cells * len(self.scales)

    @property
    def min_rows(self) -> int:
        """Rows a pooled window needs for its shares' normal approximation: about five a
        bucket. A quiet day is still judged pooled with the days before it."""
        return ROWS_PER_BUCKET * len(self.buckets) // 2

    @property
    def critical(self) -> float:
        """The |z| a cell must pass: the column's alpha shared by all its tests (Bonferroni,
        which the overlap between tests makes conservative)."""
        return one_sided_z(self.alpha / self.tests)

    def labels(self) -> list[str]:
        if self.buckets.kind == "categorical":
            return list(self.buckets.labels)
        return [f"bucket {i + 1}/{len(self.buckets)}" for i in range(len(self.buckets))]

    def per_window(self, rows: float, dispersion: float) -> float:
        """Over-dispersion at a window of `rows`: day-to-day variation adds to the variance in
        proportion to the rows, so a busier window than the baseline's is scaled up."""
        return 1.0 + (dispersion - 1.0) * rows / max(self.window_rows, 1.0)

    def score(self, recent: Sequence[Profile | None]) -> DriftScore | None:
        """The evidence of drift in the latest window (last of `recent`: consecutive windows,
        oldest first, None for one without data), alone and pooled with those before it; None
        when the latest window has too few rows."""
        if not recent or recent[-1] is None:
            return None
        counts = [None if p is None else self.buckets.counts(p) for p in recent]
        latest = sum(counts[-1] or [])
        if not latest:
            return None
        total = sum(self.reference)
        cells = []
        labels = self.labels()
        for scale in self.scales:
            if len(recent) < scale:
                continue
            pooled = [c for c in counts[-scale:] if c is not None]
            profiles = [p for p in recent[-scale:] if p is not None]
            rows = sum(map(sum, pooled))
            if rows < self.min_rows:
                continue
            day = rows / len(pooled)
            within = self.per_window(day, self.dispersion)
            for j, label in enumerate(labels):
                p = (self.reference[j] + 0.5) / (total + 0.5 * len(labels))
                share = sum(c[j] for c in pooled) / rows
                error = math.sqrt(p * (1 - p) * (within / rows + self.dispersion / total))
                # A share's count is skewed (a rare bucket's most): corrected to the normal's
                # scale (Cornish-Fisher) so a rare bucket does not fire more than its budget.
                skew = (1 - 2 * p) / math.sqrt(rows * p * (1 - p) / within)
                z = (share - p) / error
                cells.append(Cell(label, _skew_corrected(z, skew), share, p, len(pooled)))
            if self.ranks:
                cells.append(self._rank_cell(profiles, day))
        return DriftScore(latest, tuple(cells)) if cells else None

    def _rank_cell(self, pooled: Sequence[Profile], day: float) -> Cell:
        """Where the window's values sit among the baseline's: a mean rank of 0.5 is no move;
        a shift of the whole distribution moves it, however skewed the column (Mann-Whitney on
        the profile's bins)."""
        bins = [sum(column) for column in zip(*(_bins(p) for p in pooled), strict=True)]
        rows = sum(bins)
        rank = sum(n * r for n, r in zip(bins, self.ranks, strict=True)) / max(rows, 1)
        within = self.per_window(day, self.rank_dispersion)
        total = sum(self.reference)
        error = math.sqrt(
            self.rank_variance * (within / max(rows, 1) + self.rank_dispersion / total)
        )
        return Cell("rank", (rank - 0.5) / error if error else 0.0, rank, 0.5, len(pooled))


def calibrate_drift(
    column: str, baseline_days: Sequence[Profile], alpha: float
) -> DriftCalibration:
    """Calibrate a column's drift check on the baseline's daily profiles (all built on the same
    edges), for a false-alarm probability of `alpha` per window."""
    days = [d for d in baseline_days if d.count]
    if not days:
        raise ValueError(f"{column}: the baseline has no values to calibrate on")
    sizes = sorted(d.count for d in days)
    window_rows = float(sizes[len(sizes) // 2])
    merged = merge_all(days)
    buckets = buckets_for(merged, window_rows)
    per_day = [buckets.counts(d) for d in days]
    reference = [sum(bucket) for bucket in zip(*per_day, strict=True)]
    ratios = []
    for counts in per_day:
        rest = [r - c for r, c in zip(reference, counts, strict=True)]
        if sum(counts) >= ROWS_PER_BUCKET and sum(rest):
            statistic, df = chi_square(counts, rest)
            # Part of the gap is the rest's own sampling error, which the test allows for.
            ratios.append(statistic / df / (1 + sum(counts) / sum(rest)))
    calibration = DriftCalibration(
        column=column,
        buckets=buckets,
        reference=tuple(reference),
        dispersion=_dispersion(ratios),
        window_rows=window_rows,
        alpha=alpha,
    )
    if isinstance(merged, NumericProfile):
        calibration = replace(calibration, **_rank_calibration(days, merged))
    return calibration


def _dispersion(ratios: Sequence[float]) -> float:
    """Variance over what sampling explains, from the baseline's days, never below 1."""
    if len(ratios) < MIN_BASELINE_WINDOWS:
        return 1.0
    return max(1.0, sum(ratios) / len(ratios))


def _rank_calibration(days: Sequence[Profile], merged: NumericProfile) -> dict[str, Any]:
    """Each bin's mid-rank among the baseline's values, the ranks' variance per row, and the
    over-dispersion of the baseline's daily mean ranks, each day against the others."""
    total = merged.count
    ranks, below = [], 0
    for n in merged.bins:
        ranks.append((below + n / 2) / total)
        below += n
    variance = sum(n * (r - 0.5) ** 2 for n, r in zip(merged.bins, ranks, strict=True)) / total
    ratios = []
    for day in days:
        bins = _bins(day)
        rows = sum(bins)
        if rows < ROWS_PER_BUCKET or rows == total or not variance:
            continue
        rank = sum(n * r for n, r in zip(bins, ranks, strict=True)) / rows
        rest = (0.5 * total - rank * rows) / (total - rows)
        ratios.append((rank - rest) ** 2 / (variance * (1 / rows + 1 / (total - rows))))
    return {
        "ranks": tuple(ranks),
        "rank_variance": variance,
        "rank_dispersion": _dispersion(ratios),
    }


def _bins(profile: Profile) -> tuple[int, ...]:
    if not isinstance(profile, NumericProfile):
        raise ValueError("a categorical profile has no ranks")
    return profile.bins


def _skew_corrected(z: float, skew: float) -> float:
    """A skewed count's z on the normal's scale (Cornish-Fisher). The expansion holds for mild
    skew only, which buckets of five rows or more keep; it is bounded so it never flips a
    sign or more than halves a z."""
    correction = max(-0.5, min(0.5, skew)) * (z * z - 1) / 6
    return z - max(-abs(z) / 2, min(abs(z) / 2, correction))


@dataclass(frozen=True)
class DriftDay:
    score: DriftScore | None
    alarm: bool


def drift_path(calibration: DriftCalibration, windows: Sequence[Profile | None]) -> list[DriftDay]:
    """The check over consecutive windows (None: a window without data)."""
    longest = max(calibration.scales)
    path = []
    for index in range(len(windows)):
        score = calibration.score(windows[max(0, index + 1 - longest) : index + 1])
        alarm = score is not None and abs(score.worst.z) > calibration.critical
        path.append(DriftDay(score, alarm))
    return path


def smallest_shift(calibration: DriftCalibration) -> str:
    """The smallest lasting shift the check finds, half the time, within a week and at once: a
    move in the share of the commonest value, or of a numeric column's mean in standard
    deviations."""
    rows = calibration.window_rows
    total = sum(calibration.reference)
    if rows <= 0 or not total:
        return "nothing: too few rows per window"
    z = calibration.critical
    week = max(calibration.scales)
    d = calibration.per_window(rows, calibration.dispersion)
    if calibration.ranks:
        # A shift of delta sd moves a normal column's mean rank by about delta / sqrt(4 pi).
        rd = calibration.rank_dispersion
        dr = calibration.per_window(rows, rd)
        at = [
            z
            * math.sqrt(calibration.rank_variance * (dr / (rows * w) + rd / total))
            * math.sqrt(4 * math.pi)
            for w in (week, 1)
        ]
        return f"its median moving about {at[0]:.2f} sd within a week, {at[1]:.2f} sd at once"
    label, count = max(zip(calibration.labels(), calibration.reference, strict=True),
                       key=lambda item: item[1])  # fmt: skip
    p = count / total
    at = [z * math.sqrt(p * (1 - p) * (d / (rows * w) + calibration.dispersion / total))
          for w in (week, 1)]  # fmt: skip
    return f"the share of {label!r} ({p:.0%}) moving {at[0]:.1%} within a week, {at[1]:.1%} at once"


# --- values and rates against a limit ---------------------------------------------------------


@dataclass(frozen=True)
class Noise:
    """A signal's window-to-window noise, measured on the baseline: for a rate, its binomial
    error scaled by the over-dispersion the baseline windows show; for any other value, the
    spread of the baseline's window values, scaled to a window's rows."""

    rate: bool
    dispersion: float = 1.0
    spread: float | None = None  # standard deviation between baseline windows
    window_rows: float = 0.0  # the usual rows per window
    windows: int = 0  # baseline windows with data
    baseline_rows: float = 0  # rows in them, all told

    def baseline_error(self, level: float) -> float:
        """The standard error of the baseline's own level, which a drop or rise is judged
        against."""
        if self.rate and self.baseline_rows:
            p = min(max(level, 0.0), 1.0)
            return math.sqrt(self.dispersion * p * (1 - p) / self.baseline_rows)
        if self.spread is not None and self.windows:
            return self.spread / math.sqrt(self.windows)
        return 0.0

    def error(self, value: float, rows: int) -> float | None:
        """The standard error of one window's value, or None when it cannot be told."""
        if self.rate:
            if rows <= 0:
                return None
            p = min(max(value, 0.0), 1.0)
            # Never below one row's worth of rate: a window of all-clean rows still has error.
            p = max(p * (1 - p), 1.0 / (rows + 1) * (1 - 1.0 / (rows + 1)))
            return math.sqrt(self.dispersion * p / rows)
        if self.spread is None:
            return None
        if rows <= 0 or self.window_rows <= 0:
            return self.spread
        return self.spread * math.sqrt(self.window_rows / rows)


def measure_noise(windows: Sequence[tuple[float, int]], rate: bool) -> Noise:
    """A signal's noise from its baseline windows' (value, rows)."""
    present = [(v, n) for v, n in windows if n > 0 and math.isfinite(v)]
    sizes = sorted(n for _, n in present)
    rows = float(sizes[len(sizes) // 2]) if sizes else 0.0
    counted = Noise(rate, window_rows=rows, windows=len(present), baseline_rows=sum(sizes))
    if len(present) < MIN_BASELINE_WINDOWS:
        return counted
    values = [v for v, _ in present]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    if not rate:
        return replace(counted, spread=math.sqrt(variance))
    sampling = sum(max(mean * (1 - mean), 1e-12) / n for _, n in present) / len(present)
    return replace(counted, dispersion=max(1.0, variance / sampling))


Side = Literal["above", "below"]


@dataclass(frozen=True)
class Judgement:
    """A window's value against a limit: `breach` only when the interval is wholly beyond it;
    `unsure` when the value is beyond but its interval is not ("too few to tell")."""

    breach: bool
    unsure: bool
    low: float
    high: float
    z: float


def judge(
    value: float,
    rows: int,
    limit: float,
    side: Side,
    noise: Noise,
    alpha: float,
    baseline_error: float = 0.0,
) -> Judgement:
    """Is `value` (measured over `rows`) beyond `limit` on `side`, beyond doubt at `alpha`? A
    rate's error is taken at the limit (a score test), which stays honest at 0 of n."""
    z = one_sided_z(alpha)
    error = noise.error(limit if noise.rate else value, rows)
    if error is None:
        # No noise measure (a short baseline, or a value with no sampling error): the value
        # itself decides, as a plain threshold would.
        low = high = value
    else:
        error = math.hypot(error, baseline_error)
        low, high = value - z * error, value + z * error
    beyond = value > limit if side == "above" else value < limit
    sure = low > limit if side == "above" else high < limit
    return Judgement(beyond and sure, beyond and not sure, low, high, z)


def detectable(limit: float, side: Side, noise: Noise, alpha: float, rows: float) -> float | None:
    """The true value at which a window of `rows` breaches `limit` half the time: the smallest
    breach the check can see. None when the noise is unknown (then any breach is seen)."""
    error = noise.error(limit, max(int(rows), 1))
    if error is None:
        return None
    seen = limit + (1.0 if side == "above" else -1.0) * one_sided_z(alpha) * error
    if noise.rate and not 0.0 <= seen <= 1.0:
        # A rate cannot go there: the check can never fire at this many rows.
        return math.inf if side == "above" else -math.inf
    return seen


def rows_needed(limit: float, side: Side, noise: Noise, alpha: float, largest: float) -> int | None:
    """The fewest rows per window at which a breach no larger than `largest` is seen."""
    for rows in (1 << i for i in range(1, 25)):
        seen = detectable(limit, side, noise, alpha, rows)
        if seen is None or abs(seen - limit) <= largest:
            low, high = rows // 2, rows
            while high - low > 1:
                middle = (low + high) // 2
                at = detectable(limit, side, noise, alpha, middle)
                low, high = (
                    (low, middle) if at is None or abs(at - limit) <= largest else (middle, high)
                )
            return high
    return None
