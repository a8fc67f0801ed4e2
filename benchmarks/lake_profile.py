"""`wk profile` on a lake: the same rows profiled by the local engine (pyarrow, one process) and
by Spark in local mode (`mapInPandas`, every core), side by side, with the partials each made
compared for equality of what the monitor reads.

    .venv/bin/python benchmarks/lake_profile.py [--rows 10000000] [--files 20]

The rows are generated once with numpy (a time over 30 days, a ticket text, a channel, a tier,
a label output, a latency) into `--files` Parquet files; the system watches a mean, a p95 and a
rate signal, drift on three columns and a contract on three. Each engine's wall time and its
process's CPU time are reported (Spark's Python workers are separate processes: their CPU shows
in wall time only), and rows per second of wall time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from tick_at_traffic import MANIFEST

from watchkeeper.ingest.lake import Columns, profile
from watchkeeper.manifest import SystemManifest
from watchkeeper.monitor.partials import merged, profiling_for

START = datetime(2026, 3, 2, tzinfo=UTC)


def write(folder: Path, rows: int, files: int) -> None:
    rng = np.random.default_rng(7)
    per_file = rows // files
    for n in range(files):
        seconds = rng.integers(0, 30 * 86_400, per_file)
        table = pa.table({
            "ts": pa.array((np.datetime64(START.replace(tzinfo=None)) + seconds.astype(
                "timedelta64[s]")).astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "ticket": pa.array([f"order #{i}" for i in rng.integers(1, 99_999, per_file)]),
            "channel": pa.array(rng.choice(["email", "chat", "phone"], per_file)),
            "customer_tier": pa.array(rng.integers(1, 4, per_file)),
            "region": pa.array(rng.choice(["eu", "us", "apac"], per_file)),
            "label": pa.array(rng.choice(["shipping", "refund", "account", "other"], per_file)),
            "latency_ms": pa.array(np.round(rng.gamma(4, 60, per_file), 1)),
        })  # fmt: skip
        pq.write_table(table, folder / f"part-{n:03d}.parquet")


def run(folder: Path, engine: str) -> tuple[dict[str, float], dict[tuple[str, str], object]]:
    profiling = profiling_for(SystemManifest.model_validate(MANIFEST))
    columns = Columns(ts="ts", output="label", latency_ms="latency_ms")
    wall, cpu = time.perf_counter(), time.process_time()
    made = profile(folder, profiling, columns, {}, engine=engine)  # type: ignore[arg-type]
    figures = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
               "rows": sum(p.rows for p in made if p.key == "day"),
               "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip
    states = {(p.key, p.window_start.isoformat()): merged(p.key, [p.state]) for p in made}
    return figures, states


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--engines", default="spark,local", help="Which engines, in turn")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        began = time.perf_counter()
        write(folder, options.rows, options.files)
        size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 2**20
        took = time.perf_counter() - began
        print(f"{options.rows:,} rows in {options.files} Parquet files ({size:.0f} MiB), "
              f"written in {took:.0f} s")  # fmt: skip
        print("| engine | wall s | rows/s (wall) | driver CPU s | driver peak MiB |")
        print("|---|---:|---:|---:|---:|")
        results = {}
        for engine in options.engines.split(","):
            figures, states = run(folder, engine)
            results[engine] = states
            rate = figures["rows"] / figures["wall_s"]
            print(f"| {engine} | {figures['wall_s']:.1f} | {rate:,.0f} | {figures['cpu_s']:.1f}"
                  f" | {figures['peak_mib']:.0f} |", flush=True)  # fmt: skip
        if len(results) == 2:
            same = _same(results["spark"], results["local"])
            print(f"same partials from both engines (counts, sums, histograms; quantiles within "
                  f"the sketch's error): {same}")  # fmt: skip


def _same(a: dict[tuple[str, str], object], b: dict[tuple[str, str], object]) -> bool:
    """Everything but sketch bytes equal (KLL compaction is randomised: equal in distribution)."""
    if a.keys() != b.keys():
        return False
    return all(_plain(a[k]) == _plain(b[k]) for k in a)


def _plain(state: object) -> str:
    data = state.to_dict()  # type: ignore[attr-defined]
    return json.dumps(_drop_sketches(data), sort_keys=True, default=str)


def _drop_sketches(data: object) -> object:
    """A state as the monitor reads it: kept values as the multiset they are, sketches out."""
    if isinstance(data, dict):
        return {
            k: sorted(v) if k == "values" else _drop_sketches(v)
            for k, v in data.items()
            if k != "kll"
        }
    if isinstance(data, list):
        return [_drop_sketches(v) for v in data]
    return data


if __name__ == "__main__":
    main()
