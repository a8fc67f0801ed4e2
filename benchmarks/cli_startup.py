"""CLI start-up: how long each `wk` command takes from exec to exit, against a bare Typer import.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--no-bytecode-cache]

Each command runs `--runs` times as a fresh process (the `wk` console script beside this Python),
the commands taking turns so that a spell of load from elsewhere falls on all of them alike; the
table shows each one's median wall time and its ratio to the median of `python -c "import
typer"` from the same run. Targets (issue 14): `wk --help` within 4x, a gate that needs no store
(`wk gate --offline`) within 6x, any command within 10x.

The commands on a store share one temporary SQLite file, migrated and given the example system
(examples/) before timing; `wk kill` and `wk restore` run in turn as one of its kill authorities,
so every run of each is a real flip. `wk init` writes into the temporary folder (`--force`).

Python's bytecode: `pip install` compiles every module once, so by default each process reads
compiled bytecode from a cache of this run's own (PYTHONPYCACHEPREFIX in the temporary folder,
filled by one untimed round). `--no-bytecode-cache` runs in the environment as it is instead: on
a machine that sets PYTHONDONTWRITEBYTECODE over a virtualenv without `.pyc` files, every import
of a library then compiles its source, in every process.
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
EXAMPLES = str(ROOT / "examples")
SYSTEM = "support-assistant"  # in EXAMPLES; ana@corp.example is one of its kill authorities
INIT = [
    *("init", "--no-input", "--force", "--out", "init/watchkeeper.yaml", "--name", "svc"),
    *("--tier", "high", "--owner", "ana@corp.example", "--quality-monitor", "ana@corp.example"),
    *("--retraining-decider", "ben@corp.example", "--data-liaison", "chen@corp.example"),
    *("--kill-authority", "ana@corp.example", "--fail-mode", "closed", "--fallback", "Humans"),
]


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    target: float | None  # times the bare Typer import; None for the baseline itself
    exit_codes: tuple[int, ...] = (0,)


CASES = [
    Case('python -c "import typer"', [sys.executable, "-c", "import typer"], None),
    Case("wk --help", [WK, "--help"], 4),
    Case("wk schema", [WK, "schema"], 10),
    Case("wk init --no-input (writes a manifest)", [WK, *INIT], 10),
    Case("wk gate --offline examples", [WK, "gate", "--offline", EXAMPLES], 6),
    Case("wk gate examples (reads the store)", [WK, "gate", EXAMPLES], 10, (1,)),
    Case("wk drift ref.csv cur.csv", [WK, "drift", "ref.csv", "cur.csv"], 10, (0, 1)),
    Case("wk kill (flips the switch)", [WK, "kill", SYSTEM, "--reason", "bench"], 10),
    Case("wk restore (flips it back)", [WK, "restore", SYSTEM, "--reason", "bench"], 10),
    Case("wk status", [WK, "status"], 10, (0, 1)),
    Case("wk vacuum", [WK, "vacuum"], 10, (0, 1)),
]


def once(case: Case, env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(case.argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in case.exit_codes:
        sys.exit(
            f"{case.label}: exit {result.returncode}, expected one of {case.exit_codes}\n"
            f"{result.stderr}"
        )
    return elapsed


def environment(workdir: Path, bytecode_cache: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    env["WATCHKEEPER_DB"] = f"sqlite:///{workdir / 'watchkeeper.db'}"
    env["WATCHKEEPER_USER"] = "ana@corp.example"
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def prepare(workdir: Path, env: dict[str, str]) -> None:
    """The store the store commands read, and the two files `wk drift` compares."""
    for argv in ([WK, "db", "upgrade"], [WK, "apply", EXAMPLES]):
        subprocess.run(argv, env=env, cwd=workdir, check=True, capture_output=True)
    rows = "".join(f"{i % 97},{'abc'[i % 3]}\n" for i in range(2_000))
    (workdir / "ref.csv").write_text("x,c\n" + rows)
    (workdir / "cur.csv").write_text("x,c\n" + rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (median)")
    parser.add_argument(
        "--no-bytecode-cache",
        dest="bytecode_cache",
        action="store_false",
        help="run in the environment as it is, without this run's own bytecode cache",
    )
    args = parser.parse_args()
    if not Path(WK).is_file():
        sys.exit(f"no `wk` script beside {sys.executable}: run `make install` first")
    with tempfile.TemporaryDirectory(prefix="wk-startup-") as folder:
        workdir = Path(folder)
        env = environment(workdir, args.bytecode_cache)
        prepare(workdir, env)
        if args.bytecode_cache:
            for case in CASES:
                once(case, env, folder)
        times: dict[str, list[float]] = {case.label: [] for case in CASES}
        for _ in range(args.runs):
            for case in CASES:
                times[case.label].append(once(case, env, folder))
    base = statistics.median(times[CASES[0].label])
    cache = "a warmed bytecode cache" if args.bytecode_cache else "the environment as it is"
    print(f"{args.runs} runs each, median wall time, {cache}; Python {sys.version.split()[0]}\n")
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
