"""The live monitor's steady daily tick at 5k, 50k and 500k observations a day: time and peak
memory, read from window partials (this release) beside the same tick read from raw rows (how the
monitor read every window before partials; still its path for rows stored without them).

    .venv/bin/python benchmarks/tick_at_traffic.py [--per-day 5000,50000,500000] [--batch 1000]

For each level: a fresh SQLite file, one system watching what a platform team watches (a mean, a p95
and a rate signal with bounds and rules, drift on three inputs and latency, an upstream contract), a
3-day baseline and two more days, ingested in-process through `IngestService` in batches of
`--batch`. The monitor ticks after each day; the tick measured is the fifth day's, in a fresh
process (wall time of `MonitorService.evaluate`, and the process's peak RSS minus its RSS just
before the tick), three times on fresh copies of the file: the median is reported. Then the file is
copied, its partials deleted, and the same tick measured again on the copy: the raw path. Storage
per day is read from SQLite's `dbstat` (pages of each table and its indexes) after the tick, divided
by the days: raw rows, window partials, and what a day costs once `raw_sample: 10%` has thinned its
rows (a tenth of the raw rows, all its partials). After the tick, the same process runs the fifth
day's triage scan (three rules: negative feedback, low confidence, a 0.5% spot check), which reads
that day's raw rows a page at a time: its time follows the traffic, its memory does not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DAY = timedelta(days=1)
START = datetime(2026, 3, 2, tzinfo=UTC)
BASELINE_DAYS = 3
DAYS = BASELINE_DAYS + 2
MANIFEST = {
    "apiVersion": "watchkeeper/v1",
    "kind": "AISystem",
    "metadata": {"name": "bench-bot"},
    "spec": {
        "lifecycle": "live",
        "charter": {"owner": "ana@bench.example"},
        "upstream": [
            {
                "name": "crm",
                "contact": "ana@bench.example",
                "contract": {
                    "channel": {"type": "category", "values": ["email", "chat", "phone"]},
                    "customer_tier": {"type": "integer", "required": True},
                    "ticket": {"type": "string"},
                },
            }
        ],
        "runbook": {
            "baseline": {"from": "2026-03-02", "to": "2026-03-05"},
            "signals": {
                "latency": {"from": "observation", "kind": "mean", "field": "latency_ms"},
                "p95": {
                    "from": "observation",
                    "kind": "quantile",
                    "q": 0.95,
                    "field": "latency_ms",
                },
                "refunds": {"from": "output", "kind": "rate", "field": "label", "match": "refund"},
            },
            "healthy": {"latency": {"max": 900}, "refunds": {"max": 0.6}},
            "alerts": [
                {"name": "slow", "signal": "p95", "rise": "30%"},
                {"name": "refund-wave", "signal": "refunds", "rise": "50%"},
                {
                    "name": "inputs-moved",
                    "drift": ["channel", "customer_tier", "latency_ms", "region"],
                },
                {"name": "crm-broke", "contract": "crm"},
            ],
            "triage": {
                "rules": [
                    {"name": "thumbs-down", "negative_feedback": True, "priority": 4},
                    {"name": "unsure", "field": "output.confidence", "below": 0.02},
                    {"name": "spot-check", "sample": "0.5%"},
                ]
            },
        },
    },
}
PEOPLE = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [{"email": "ana@bench.example"}],
}
LABELS = ["shipping", "refund", "account", "other"]


def items(day: int, per_day: int, start: int, count: int, rng: random.Random) -> list[Any]:
    base = START + day * DAY
    step = DAY / per_day
    return [
        {
            "id": f"{day}-{i}",
            "ts": (base + i * step).isoformat(),
            "inputs": {
                "ticket": f"Where is my order #{rng.randint(1, 99999)}?",
                "channel": rng.choice(["email", "chat", "phone"]),
                "customer_tier": rng.randint(1, 3),
                "region": rng.choice(["eu", "us", "apac"]),
            },
            "output": {"label": rng.choice(LABELS), "confidence": round(rng.random(), 4)},
            "latency_ms": round(rng.gammavariate(4, 60), 1),
            "model_version": "triage-2026.03",
        }
        for i in range(start, start + count)
    ]


def prepare(db: str, per_day: int, batch: int) -> dict[str, float]:
    """Ingest and tick every day but the last tick; returns seconds spent ingesting per row."""
    from watchkeeper.app import build
    from watchkeeper.manifest import load_text
    from watchkeeper.settings import Settings

    app = build(Settings(db=db))
    app.charter.apply(
        load_text("\n---\n".join(json.dumps(d) for d in (PEOPLE, MANIFEST))), "ops", START
    )
    app.ingest.warm()  # as `wk serve` does before it answers
    rng = random.Random(7)
    spent = 0.0
    for day in range(DAYS):
        now = START + (day + 1) * DAY
        for first in range(0, per_day, batch):
            chunk = items(day, per_day, first, min(batch, per_day - first), rng)
            began = time.perf_counter()
            app.ingest.observations("bench-bot", chunk, now)
            spent += time.perf_counter() - began
        if day < DAYS - 1:
            app.monitor.evaluate("bench-bot", now)
            app.triage.scan_system(now, "bench-bot")
    app.store.close()
    return {"ingest_us_per_row": spent / (per_day * DAYS) * 1e6}


def storage(path: Path) -> dict[str, float]:
    """MiB a day of raw rows (observations and their indexes) and of window partials."""
    tables = {"raw": ("observations", "uq_observation_id", "ix_observations_system_ts"),
              "partials": ("window_partials", "ix_window_partials_system_key_start")}  # fmt: skip
    with sqlite3.connect(path) as connection:
        sizes = dict(connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    return {
        kind: sum(sizes.get(n, 0) for n in names) / DAYS / 2**20 for kind, names in tables.items()
    }


def child(db: str) -> None:
    """The measured tick, alone in its process."""
    from watchkeeper.app import build
    from watchkeeper.settings import Settings

    app = build(Settings(db=db))
    app.monitor.live_systems()
    before = _rss_mib()
    began = time.perf_counter()
    evaluation = app.monitor.evaluate("bench-bot", START + DAYS * DAY)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    queued = app.triage.scan_system(START + DAYS * DAY, "bench-bot")
    scan = time.perf_counter() - began
    scan_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "tick_mib": peak - before,
                      "findings": sorted(f.summary for f in evaluation.findings),
                      "scan_seconds": scan, "scan_peak_mib": scan_peak,
                      "queued": queued}))  # fmt: skip


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(db: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", db], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def steady(path: Path, runs: int = 3) -> dict[str, Any]:
    """The tick from partials `runs` times, each on a fresh copy of the file and in a fresh
    process: the run of median time (a tick of a tenth of a second moves by half on a shared
    machine; the median of three is steadier than any one)."""
    results = []
    for run in range(runs):
        copy = path.with_name(f"run{run}.db")
        shutil.copy(path, copy)
        results.append(measure(f"sqlite:///{copy}"))
    return sorted(results, key=lambda r: float(r["seconds"]))[runs // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-day", default="5000,50000,500000")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print("| observations a day | tick from partials: s / peak MiB (tick's own) | "
          "tick from raw rows: s / peak MiB (tick's own) | ingest µs per row | "
          "MiB a day: raw rows / partials / at raw_sample 10% | "
          "triage scan of the day: s / peak MiB (queued) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|")
    for per_day in (int(n) for n in args.per_day.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "wk.db"
            db = f"sqlite:///{path}"
            made = prepare(db, per_day, args.batch)
            raw_path = Path(folder) / "raw.db"
            shutil.copy(path, raw_path)
            with sqlite3.connect(raw_path) as connection:
                connection.execute("DELETE FROM window_partials")
            profiled = steady(path)
            raw = measure(f"sqlite:///{raw_path}")
            assert raw["findings"] == profiled["findings"], (raw, profiled)
            size = storage(path)
            print(
                f"| {per_day:,} | {profiled['seconds']:.2f} / {profiled['peak_mib']:.0f} "
                f"({profiled['tick_mib']:.0f}) | {raw['seconds']:.2f} / {raw['peak_mib']:.0f} "
                f"({raw['tick_mib']:.0f}) | {made['ingest_us_per_row']:.1f} | "
                f"{size['raw']:.1f} / {size['partials']:.2f} / "
                f"{size['raw'] / 10 + size['partials']:.1f} | "
                f"{profiled['scan_seconds']:.2f} / {profiled['scan_peak_mib']:.0f} "
                f"({profiled['queued']:,}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
