"""Drift on the same Parquet files: Watchkeeper's compare_files against Evidently's DataDriftPreset.

Synthetic data (seeded): 20 numeric + 5 categorical columns, drift injected in 6 of them. Each
tool runs in its own subprocess on the same files, one after the other, on this machine; the
parent measures wall time (interpreter start, imports, reading and computing: what a user waits
for) and the child's peak RSS (from wait4). Evidently is pinned and installed into its own venv
by benchmarks/_evidently_env.sh, never into the project's lock file.

    .venv/bin/python benchmarks/drift_vs_evidently.py --sizes 10000,100000,1000000

The same file is the child program for both tools (`_child ours|evidently REF CUR`), so it imports
nothing beyond the standard library at the top.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
SEED = 20240611
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
TRUTH = ["num_00", "num_01", "num_02", "num_03", "cat_0", "cat_1"]


def generate(rows: int, ref_path: Path, cur_path: Path) -> None:
    """Write a reference and a current file; only the TRUTH columns differ in distribution."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng([SEED, rows])

    def numeric(i: int, drifted: bool, n: int) -> np.ndarray:
        shape = i % 7
        if i == 0:
            return rng.normal(0.5 if drifted else 0.0, 1.0, n)
        if i == 1:
            return rng.normal(10.0, 1.5 if drifted else 1.0, n)
        if i == 2:
            return rng.lognormal(0.3 if drifted else 0.0, 1.0, n)
        if i == 3:
            return rng.exponential(1.3 if drifted else 1.0, n)
        if i == 19:
            return rng.poisson(1.0, n).clip(0, 4).astype(np.float64)
        if shape == 0:
            return rng.normal(i, 1 + i / 10, n)
        if shape == 1:
            return rng.uniform(-i, i, n)
        if shape == 2:
            return rng.lognormal(0.0, 0.5, n)
        if shape == 3:
            return rng.gamma(2.0, 2.0, n)
        if shape == 4:
            return rng.standard_t(5, n)
        if shape == 5:
            return rng.poisson(20, n).astype(np.float64)
        return np.where(rng.random(n) < 0.3, rng.normal(-2, 0.5, n), rng.normal(3, 1, n))

    def categorical(i: int, drifted: bool, n: int) -> pa.Array:
        names = [f"{'abcde'[i]}{k:02d}" for k in range((5, 10, 20, 50, 3)[i])]
        weights = np.linspace(2.0, 1.0, len(names))
        if i == 0 and drifted:
            weights = weights[::-1] ** 3
        if i == 1 and drifted:
            names, weights = [*names, "unseen"], np.append(weights, weights.sum() * 0.25)
        codes = rng.choice(len(names), size=n, p=weights / weights.sum())
        values = pc.take(pa.array(names), pa.array(codes))
        if i == 2:
            values = pc.if_else(
                pa.array(rng.random(n) < 0.01), pa.scalar(None, pa.string()), values
            )
        return values

    for path, current in ((ref_path, False), (cur_path, True)):
        columns: dict[str, pa.Array] = {}
        for i, name in enumerate(NUMERIC):
            values = numeric(i, current and name in TRUTH, rows)
            if i == 5:
                values[rng.random(rows) < 0.02] = np.nan
            columns[name] = pa.array(values)
        for i, name in enumerate(CATEGORICAL):
            columns[name] = categorical(i, current and name in TRUTH, rows)
        pq.write_table(pa.table(columns), path)


def child(tool: str, ref: str, cur: str) -> None:
    """Run one tool on the two files and print what it found as one JSON line."""
    start = time.perf_counter()
    if tool == "ours":
        from watchkeeper.monitor.tables import compare_files

        imported = time.perf_counter()
        report = compare_files(Path(ref), Path(cur))
        columns = {
            c.column: {"method": c.method, "score": c.score, "drifted": c.drifted}
            for c in report.columns
        }
    else:
        import pandas as pd
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        imported = time.perf_counter()
        reference, current = pd.read_parquet(ref), pd.read_parquet(cur)
        definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        columns = {}
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config["type"].endswith("ValueDrift"):
                score, limit = float(metric["value"]), float(config["threshold"])
                p_value = "p_value" in config["method"]
                drifted = score < limit if p_value else score >= limit
                columns[config["column"]] = {
                    "method": config["method"],
                    "score": score,
                    "drifted": drifted,
                }
    done = time.perf_counter()
    print(
        json.dumps({"import_s": imported - start, "compute_s": done - imported, "columns": columns})
    )


def run_child(python: str, tool: str, ref: Path, cur: Path) -> dict:
    """Time one child from the outside; peak RSS comes from the kernel's record of that child."""
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    began = time.perf_counter()
    proc = subprocess.Popen(
        [python, str(Path(__file__).resolve()), "_child", tool, str(ref), str(cur)],
        stdout=subprocess.PIPE,
        env=env,
    )
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"{tool} failed with exit code {proc.returncode}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["wall_s"] = wall
    result["peak_rss_mib"] = usage.ru_maxrss / 1024
    result["drifted"] = sorted(c for c, v in result["columns"].items() if v["drifted"])
    return result


def evidently_python() -> str:
    helper = subprocess.run(
        ["bash", str(HERE / "_evidently_env.sh")], check=True, capture_output=True, text=True
    )
    return helper.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="rows per side, comma-separated"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    DATA.mkdir(exist_ok=True)
    other = evidently_python()
    rows = []
    for size in sizes:
        ref, cur = DATA / f"drift-{size}-reference.parquet", DATA / f"drift-{size}-current.parquet"
        if not (ref.exists() and cur.exists()):
            generate(size, ref, cur)
        ours = run_child(sys.executable, "ours", ref, cur)
        theirs = run_child(other, "evidently", ref, cur)
        rows.append((size, ours, theirs))
        print(
            f"{size:,} rows: ours {ours['wall_s']:.2f} s, Evidently {theirs['wall_s']:.2f} s",
            file=sys.stderr,
        )
    print(markdown(rows))


def markdown(rows: list[tuple[int, dict, dict]]) -> str:
    lines = [
        "| rows per side | Watchkeeper wall s (compute) | Evidently wall s (compute) | speed-up "
        "| Watchkeeper peak RSS MiB | Evidently peak RSS MiB | same drifted columns "
        "| Watchkeeper = truth | Evidently = truth |",
        "|---:|---:|---:|---:|---:|---:|:---:|:---:|:---:|",
    ]
    truth = sorted(TRUTH)
    for size, ours, theirs in rows:
        lines.append(
            f"| {size:,} | {ours['wall_s']:.2f} ({ours['compute_s']:.2f}) "
            f"| {theirs['wall_s']:.2f} ({theirs['compute_s']:.2f}) "
            f"| {theirs['wall_s'] / ours['wall_s']:.1f}x "
            f"| {ours['peak_rss_mib']:.0f} | {theirs['peak_rss_mib']:.0f} "
            f"| {_yes(ours['drifted'] == theirs['drifted'])} "
            f"| {_yes(ours['drifted'] == truth)} | {_yes(theirs['drifted'] == truth)} |"
        )
    lines.append("")
    for size, ours, theirs in rows:
        differ = sorted(set(ours["drifted"]) ^ set(theirs["drifted"]))
        note = f"; the tools disagree on {', '.join(differ)}" if differ else ""
        lines.append(f"- {size:,} rows: Watchkeeper found {', '.join(ours['drifted'])}{note}")
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "_child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
