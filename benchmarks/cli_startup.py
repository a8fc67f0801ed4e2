"""CLI start-up: how long each `wk` command takes from exec to exit, against a bare Typer import.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]

Each command runs `--runs` times as a fresh process (the `wk` console script beside this Python),
the commands taking turns so that a spell of load from elsewhere falls on all of them alike; the
table shows each one's median wall time and its ratio to the median of `python -c "import
typer"` from the same run. Targets (issue 14): `wk --help` within 4x, a gate that needs no store
within 6x, any command within 10x. `wk gate` still reads acknowledgements from the store, so it is
measured against a store (an empty temporary SQLite file, migrated before timing, as is the one
`wk vacuum` reads) and held to the 10x of any command until an `--offline` gate exists.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WK = str(Path(sys.executable).parent / "wk")


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    target: float | None  # times the bare Typer import; None for the baseline itself
    exit_code: int = 0


CASES = [
    Case('python -c "import typer"', [sys.executable, "-c", "import typer"], None),
    Case("wk --help", [WK, "--help"], 4),
    Case("wk schema", [WK, "schema"], 10),
    Case("wk init --help", [WK, "init", "--help"], 10),
    Case("wk gate examples (reads the store)", [WK, "gate", str(ROOT / "examples")], 10, 1),
    Case("wk drift --help", [WK, "drift", "--help"], 10),
    Case("wk kill --help", [WK, "kill", "--help"], 10),
    Case("wk vacuum (empty SQLite store)", [WK, "vacuum"], 10),
]


def once(case: Case, env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(case.argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != case.exit_code:
        sys.exit(
            f"{case.label}: exit {result.returncode}, expected {case.exit_code}\n{result.stderr}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (median)")
    args = parser.parse_args()
    if not Path(WK).is_file():
        sys.exit(f"no `wk` script beside {sys.executable}: run `make install` first")
    with tempfile.TemporaryDirectory(prefix="wk-startup-") as workdir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
        env["WATCHKEEPER_DB"] = f"sqlite:///{Path(workdir) / 'watchkeeper.db'}"
        subprocess.run([WK, "db", "upgrade"], env=env, cwd=workdir, check=True, capture_output=True)
        times: dict[str, list[float]] = {case.label: [] for case in CASES}
        for _ in range(args.runs):
            for case in CASES:
                times[case.label].append(once(case, env, workdir))
    base = statistics.median(times[CASES[0].label])
    print(f"{args.runs} runs each, median wall time; Python {sys.version.split()[0]}\n")
    print("| command | median s | x `import typer` | target | met |")
    print("|---|---:|---:|---:|:---:|")
    for case in CASES:
        median = statistics.median(times[case.label])
        ratio = median / base
        target = "" if case.target is None else f"{case.target:g}x"
        met = "" if case.target is None else ("yes" if ratio <= case.target else "NO")
        print(f"| {case.label} | {median:.3f} | {ratio:.1f}x | {target} | {met} |")


if __name__ == "__main__":
    main()
