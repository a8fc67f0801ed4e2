"""False alarms and detection delay of the live drift check on real data (issue 15), side by side
with the per-column p < 0.05 tests it replaced, in the same run on the same windows.

Data: two real, timestamped tables from PyPI packages (benchmarks/_real_data.py: NYC flights
2013, Minneapolis police stops 2017). Per data set and window size (rows drawn from each real
day), per seed:

- the 14 baseline days and 90 live days of the data's stationary stretch: a false-alarm day is a
  live day on which any watched column alarms;
- the same live days with a clear shift (one numeric column moved by one baseline standard
  deviation) and a subtle lasting one (one category's share up 6 points, e.g. 17% -> 23%) from
  live day 30 on: the delay is the windows until the first alarm from day 30 (1 = that day);
- the real shift after the stretch (a timetable change; a change in what stops are for),
  monitored from the same baseline: its delay, and the alarm days in between.

"Today" is what the live monitor ran before issue 15: each column's Evidently-default verdict of
the day against the baseline profile (`profile_drift`: KS / chi-square p < 0.05 on small
samples), alarming when any column drifts. "Budget" is `watchkeeper.monitor.calibration` at the
default alarm budget of 1 per 90 days for the system's watched columns.

    .venv/bin/python benchmarks/alarm_budget.py --seeds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _real_data import (
    RealData,
    Row,
    flights,
    mpls_stops,
    sample_day,
    shift_category,
    shift_numeric,
)

from watchkeeper.manifest import Runbook
from watchkeeper.monitor.calibration import calibrate_drift, drift_path
from watchkeeper.monitor.profiles import Profile, merge_all, profile, profile_drift

SIZES = (50, 200, 1000)
ONSET = 30  # live day on which an injected shift begins
AFTER = 14  # days watched after a real shift
NEVER = None

Days = list[list[Row]]


def profiles(
    data: RealData, days: Days, edges: dict[str, tuple[float, ...]]
) -> dict[str, list[Profile]]:
    """Each watched column's profile per day, numeric ones on the baseline's edges."""
    made: dict[str, list[Profile]] = {}
    for column, kind in data.columns.items():
        if kind == "numeric":
            made[column] = [
                profile(
                    np.array([np.nan if r[column] is None else float(r[column]) for r in day]),  # type: ignore[arg-type]
                    kind="numeric",
                    edges=edges[column],
                )
                for day in days
            ]
        else:
            made[column] = [profile([r[column] for r in day], kind="categorical") for day in days]
    return made


def baseline_edges(data: RealData, days: Days) -> dict[str, tuple[float, ...]]:
    edges = {}
    for column, kind in data.columns.items():
        if kind == "numeric":
            values = np.array(
                [float(r[column]) for day in days for r in day if r[column] is not None]  # type: ignore[arg-type]
            )
            reference = profile(values, kind="numeric")
            edges[column] = reference.edges  # type: ignore[union-attr]
    return edges


class Monitors:
    """Both monitors, calibrated on one baseline: each gives, per live day, whether it alarms."""

    def __init__(self, data: RealData, baseline: Days) -> None:
        self.data = data
        self.edges = baseline_edges(data, baseline)
        self.baseline = profiles(data, baseline, self.edges)
        alpha = Runbook().alarm_budget.per_window(timedelta(days=1), len(data.columns))
        self.calibrations = {
            c: calibrate_drift(c, days, alpha) for c, days in self.baseline.items()
        }
        self.reference = {c: merge_all(days) for c, days in self.baseline.items()}

    def budget(self, live: Days) -> list[bool]:
        made = profiles(self.data, live, self.edges)
        alarms = [False] * len(live)
        for column, calibration in self.calibrations.items():
            history = self.baseline[column][-6:] + made[column]
            for day, verdict in enumerate(drift_path(calibration, history)[6:]):
                alarms[day] |= verdict.alarm
        return alarms

    def today(self, live: Days) -> list[bool]:
        made = profiles(self.data, live, self.edges)
        alarms = [False] * len(live)
        for column, days in made.items():
            for day, current in enumerate(days):
                alarms[day] |= profile_drift(column, self.reference[column], current).drifted
        return alarms


def delay(alarms: Sequence[bool], onset: int) -> int | None:
    return next((day - onset + 1 for day in range(onset, len(alarms)) if alarms[day]), NEVER)


def run(data: RealData, rows: int, seeds: int) -> dict[str, list[float | None]]:
    results: dict[str, list[float | None]] = {}

    def add(key: str, value: float | None) -> None:
        results.setdefault(key, []).append(value)

    days = [day for _, day in data.days]
    stretch = list(data.stationary)
    base_ix, live_ix = stretch[:14], stretch[14:104]
    for seed in range(seeds):
        rng = np.random.default_rng([seed, rows])

        def draw(day: list[Row], rng: np.random.Generator = rng) -> list[Row]:
            return sample_day(day, rows, rng)

        baseline = [draw(days[i]) for i in base_ix]
        live = [draw(days[i]) for i in live_ix]
        monitors = Monitors(data, baseline)
        subtle, clear = data.subtle, data.clear
        shifted_subtle = live[:ONSET] + [
            draw(shift_category(days[i], subtle.column, subtle.value, subtle.to_share, rng))
            for i in live_ix[ONSET:]
        ]
        shifted_clear = live[:ONSET] + [
            shift_numeric(day, clear.column, clear.by) for day in live[ONSET:]
        ]
        for name, monitor in (("budget", monitors.budget), ("today", monitors.today)):
            add(f"{name}.false", sum(monitor(live)) * 90 / len(live))
            add(f"{name}.clear", delay(monitor(shifted_clear), ONSET))
            add(f"{name}.subtle", delay(monitor(shifted_subtle), ONSET))
        for shift in data.shifts:
            # Watch from the end of the stretch to two weeks past the real shift.
            watched = [
                draw(days[i]) for i in range(live_ix[-1] + 1, min(len(days), shift.day + AFTER))
            ]
            onset = shift.day - live_ix[-1] - 1
            if not 0 <= onset < len(watched):
                continue
            for name, monitor in (("budget", monitors.budget), ("today", monitors.today)):
                alarms = monitor(watched)
                add(f"{name}.real", delay(alarms, onset))
                add(f"{name}.before", sum(alarms[:onset]))
            break
    return results


def summary(values: list[float | None], mean: bool = False) -> str:
    if mean:
        present = [v for v in values if v is not None]
        return f"{statistics.fmean(present):.2f}" if present else "-"
    caught = sorted(v for v in values if v is not None)
    missed = len(values) - len(caught)
    if not caught:
        return f"never ({missed}/{len(values)})"
    text = f"{statistics.median(caught):g}"
    if len(caught) > 1 and caught[0] != caught[-1]:
        text += f" ({caught[0]:g}-{caught[-1]:g})"
    return text + (f", missed {missed}/{len(values)}" if missed else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        "| data | rows a day | false-alarm days per 90, budget / today | clear shift, windows to "
        "catch, budget / today | subtle shift, budget / today | real shift, budget / today "
        "(alarm days before it) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for load in (flights, mpls_stops):
        started = time.perf_counter()
        data = load()
        for rows in sizes:
            r = run(data, rows, args.seeds)
            median_day = statistics.median(len(day) for _, day in data.days)
            note = " (rows repeat: days are smaller)" if median_day < rows else ""
            print(
                f"| {data.name} | {rows}{note} | {summary(r['budget.false'], True)} / "
                f"{summary(r['today.false'], True)} | {summary(r['budget.clear'])} / "
                f"{summary(r['today.clear'])} | {summary(r['budget.subtle'])} / "
                f"{summary(r['today.subtle'])} | {summary(r.get('budget.real', []))} "
                f"({summary(r.get('budget.before', []), True)}) / "
                f"{summary(r.get('today.real', []))} "
                f"({summary(r.get('today.before', []), True)}) |",
                flush=True,
            )
        print(f"<!-- {data.name}: {time.perf_counter() - started:.0f} s -->", file=sys.stderr)


if __name__ == "__main__":
    main()
