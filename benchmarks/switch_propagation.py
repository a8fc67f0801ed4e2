"""Kill-switch propagation: how long until every connected SDK sees a flip, and what the serving
path's check costs.

    .venv/bin/python benchmarks/switch_propagation.py [--clients 200] [--flips 20]

For each setup (SQLite with one server; SQLite with two; PostgreSQL with two), it seeds a fresh
database, starts `wk serve` subprocesses on 127.0.0.1, connects `--clients` SDK clients spread
over the servers and over `--client-processes` worker processes (each client its own thread and
long-poll, as in serving code, where each process holds one client; 200 in one interpreter would
measure its GIL instead), then flips the switch `--flips` times through the first server's API,
alternating disable and enable. The clock (CLOCK_MONOTONIC, shared by all processes) starts
before the POST and stops for each client when its `enabled()` changes: the SDK's `on_switch`
notes the moment, on the thread that changed it. (Until 2026-11-28 a thread in each worker
polled its clients every millisecond; among 125 busy threads it waited for the GIL, and that
wait was counted as the flip's.) "every client" is the slowest of them. Everything stays on
loopback and the run ends by itself.

Peers, side by side: a plain attribute read is the ceiling for `enabled()`; an Unleash-style SDK
polling every 15 s is computed, not measured (each client polls at an independent random phase,
so it learns of a flip after a uniform 0-15 s wait); Unleash's Python `is_enabled` cost is the
figure measured on this project's machines (see shared/ANCHORS.md), not re-run here.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from watchkeeper import Client
from watchkeeper.app import Operations, build
from watchkeeper.settings import Settings
from watchkeeper.testing import PgDatabases, pg_available

SYSTEM = "bench-bot"
READER, KILLER = "reader@bench.example", "killer@bench.example"
MANIFESTS = f"""\
apiVersion: watchkeeper/v1
kind: People
people:
  - {{email: {READER}, name: Reader}}
  - {{email: {KILLER}, name: Killer}}
---
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {{name: {SYSTEM}, tier: low}}
spec:
  charter: {{owner: {KILLER}, kill_authority: [{KILLER}]}}
  kill_switch: {{fail_mode: open, fallback: Serve the rules-based answer}}
"""
UNLEASH_POLL_S = 15.0
UNLEASH_IS_ENABLED_US = 99.0  # shared/ANCHORS.md: measured on this project's 2-core machines


@dataclass
class Result:
    setup: str
    clients: int
    servers: int
    every_client: list[float]  # per flip: until the slowest client saw it (s)
    per_client: list[float]  # every client x flip (s)
    post: list[float]  # the flip request's round trip (s)
    confirmed: list[tuple[int, int, float | None]]  # per flip: (k, n, ms to the last confirmation)


def seed(db: str, folder: Path) -> tuple[str, str]:
    """People and one system; returns (reader token, kill authority token)."""
    manifest = folder / "bench.yaml"
    manifest.write_text(MANIFESTS, encoding="utf-8")
    app = build(Settings(db=db))
    try:
        setup = Operations(app, "bench@local", app.clock.now(), enforce=False)
        setup.apply([str(manifest)])
        return setup.create_token(READER)["token"], setup.create_token(KILLER)["token"]
    finally:
        app.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def servers(db: str, count: int, folder: Path) -> Iterator[list[str]]:
    """`wk serve` subprocesses on loopback, ready when /readyz says so; stopped with SIGTERM."""
    urls, processes = [], []
    env = {**os.environ, "WATCHKEEPER_DB": db}
    try:
        for i in range(count):
            port = free_port()
            log = (folder / f"server-{i}.log").open("w")
            command = "from watchkeeper.cli import main; main()"
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", command, "serve", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_ready(url)
        yield urls
    finally:
        for url, process in zip(urls, processes, strict=False):
            if process.poll() is not None:  # it should still be serving: say so, or a hang misleads
                print(
                    f"the server at {url} had exited (code {process.returncode})", file=sys.stderr
                )
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not become ready")


def watch(
    urls: list[str],
    token: str,
    count: int,
    first: int,
    cache: str,
    flips: int,
    stream: bool,
    pipe: Connection,
) -> None:
    """A worker process: `count` SDK clients; reports when each saw each flip."""
    seen: list[list[float]] = [[] for _ in range(count)]
    clients = [
        Client(
            url=urls[(first + i) % len(urls)],
            token=token,
            system=SYSTEM,
            cache_dir=cache,
            switch_stream=stream,
            start_timeout=30,
            on_switch=lambda _enabled, times=seen[i]: times.append(time.perf_counter()),
        )
        for i in range(count)
    ]
    pipe.send(all(c.enabled() for c in clients))
    deadline = time.monotonic() + 60 + 15 * flips
    while any(len(times) < flips for times in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    pipe.send(seen)
    # closed only once the parent has read the last flip's confirmations: a client closed at
    # once would never confirm it, and the last flip would read as unconfirmed
    pipe.recv()
    for client in clients:
        client.close()


def receive(pipe: Connection, timeout: float) -> Any:
    """A worker's report, or an error rather than a hang if the worker died."""
    if not pipe.poll(timeout):
        raise RuntimeError(f"a client worker sent nothing for {timeout:.0f} s")
    return pipe.recv()


def run_setup(
    name: str,
    db: str,
    n_servers: int,
    n_clients: int,
    n_processes: int,
    flips: int,
    stream: bool,
    gap: float,
) -> Result:
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as scratch:
        folder = Path(scratch)
        reader, killer = seed(db, folder)
        with servers(db, n_servers, folder) as urls:
            spawn = multiprocessing.get_context("spawn")
            pipes, workers = [], []
            with _reaped(workers):
                share = [
                    n_clients // n_processes + (i < n_clients % n_processes)
                    for i in range(n_processes)
                ]
                for i, count in enumerate(share):
                    ours, theirs = spawn.Pipe()
                    worker = spawn.Process(
                        target=watch,
                        args=(
                            urls,
                            reader,
                            count,
                            sum(share[:i]),
                            str(folder / "cache"),
                            flips,
                            stream,
                            theirs,
                        ),
                    )
                    worker.start()
                    pipes.append(ours)
                    workers.append(worker)
                assert all(receive(pipe, 120) for pipe in pipes), "clients did not start enabled"
                time.sleep(gap)  # let every client connect and park
                result = Result(name, n_clients, n_servers, [], [], [], [])
                started: list[float] = []
                with httpx.Client(headers={"Authorization": f"Bearer {killer}"}) as http:
                    for flip in range(1, flips + 1):
                        state = "disabled" if flip % 2 else "enabled"
                        started.append(time.perf_counter())
                        response = http.post(
                            f"{urls[0]}/api/v1/systems/{SYSTEM}/switch",
                            json={"state": state, "reason": f"benchmark flip {flip}"},
                        )
                        result.post.append(time.perf_counter() - started[-1])
                        response.raise_for_status()
                        time.sleep(gap)  # every client sees it, confirms it and parks again
                        confirmed = http.get(
                            f"{urls[0]}/api/v1/systems/{SYSTEM}/switch/confirmations"
                        ).json()
                        result.confirmed.append(
                            (
                                confirmed["confirmed"],
                                confirmed["live"],
                                confirmed["confirmed_in_ms"],
                            )
                        )
                seen = [times for pipe in pipes for times in receive(pipe, 60)]
                for pipe in pipes:
                    pipe.send("close")
                for worker in workers:
                    worker.join(timeout=30)
                if any(len(times) != flips for times in seen):
                    raise RuntimeError("some clients missed a flip")
                for flip, t0 in enumerate(started):
                    delays = [times[flip] - t0 for times in seen]
                    result.per_client.extend(delays)
                    result.every_client.append(max(delays))
                return result


@contextmanager
def _reaped(workers: list[Any]) -> Iterator[None]:
    """Client workers do not outlive their setup: left running after a failure, a thousand
    clients reconnecting to a server that is gone would load every later setup."""
    try:
        yield
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=10)


def unleash_style(clients: int, flips: int) -> Result:
    """Computed: each client polls every 15 s at its own random phase."""
    rng = random.Random(15)
    result = Result("Unleash-style 15 s poll (computed)", clients, 1, [], [], [], [])
    for _ in range(flips):
        waits = [rng.uniform(0, UNLEASH_POLL_S) for _ in range(clients)]
        result.per_client.extend(waits)
        result.every_client.append(max(waits))
    return result


def check_cost(url: str, token: str, folder: Path) -> list[tuple[str, float]]:
    """Nanoseconds per call, best of 5 runs of a million."""

    class Plain:
        enabled = True

    plain = Plain()
    client = Client(url=url, token=token, system=SYSTEM, cache_dir=folder / "cost")
    try:
        costs = []
        for label, statement, scope in (
            ("plain attribute read (ceiling)", "plain.enabled", {"plain": plain}),
            ("watchkeeper Client.enabled()", "client.enabled()", {"client": client}),
        ):
            timer = timeit.Timer(statement, globals=scope)
            costs.append((label, min(timer.repeat(repeat=5, number=1_000_000)) * 1000))
        return costs
    finally:
        client.close()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def report(results: list[Result], costs: list[tuple[str, float]], flips: int) -> str:
    lines = [
        f"Propagation, {flips} flips (times in ms; 'every client' = until the slowest client of "
        "the flip saw it):",
        "",
        "| setup | clients | servers | every client p50 | every client p99 | every client max "
        "| per client p50 | per client p99 | flip POST p50 | flips confirmed by all "
        "| full confirmation p50 | full confirmation max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        post = ms(statistics.median(r.post)) if r.post else "-"
        complete = sum(1 for k, n, _ in r.confirmed if k == n > 0)
        full = [t for k, n, t in r.confirmed if k == n > 0 and t is not None]
        lines.append(
            f"| {r.setup} | {r.clients} | {r.servers} | {ms(quantile(r.every_client, 0.5))} "
            f"| {ms(quantile(r.every_client, 0.99))} | {ms(max(r.every_client))} "
            f"| {ms(quantile(r.per_client, 0.5))} | {ms(quantile(r.per_client, 0.99))} | {post} "
            + (
                f"| {complete} of {len(r.confirmed)} | {quantile(full, 0.5):,.0f} "
                f"| {max(full):,.0f} |"
                if full
                else f"| {complete} of {len(r.confirmed)} | - | - |"
                if r.confirmed
                else "| - | - | - |"
            )
        )
    lines += ["", "Cost of the serving path's check (ns per call, best of 5 x 1,000,000):", ""]
    lines += ["| check | ns per call |", "|---|---:|"]
    lines += [f"| {label} | {ns:,.1f} |" for label, ns in costs]
    lines.append(
        f"| Unleash Python `is_enabled` (measured in ANCHORS, not re-run) | "
        f"{UNLEASH_IS_ENABLED_US * 1000:,.0f} |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--flips", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=8)
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument(
        "--transport",
        choices=("stream", "long-poll", "both"),
        default="both",
        help="how the SDKs hear flips: the stream (the default), the long-poll fallback, or both",
    )
    parser.add_argument(
        "--servers",
        choices=("1", "2", "both"),
        default="both",
        help="SQLite setups with one server process, two, or both (PostgreSQL always has two)",
    )
    parser.add_argument(
        "--gap", type=float, default=1.0, help="seconds between flips (and before the first)"
    )
    args = parser.parse_args()
    transports = ("stream", "long-poll") if args.transport == "both" else (args.transport,)
    results: list[Result] = []
    failed: list[str] = []

    def run(name: str, db: str, n_servers: int, transport: str) -> None:
        """One setup; its row is printed as soon as it is done, and a setup that could not
        finish (a client missed a flip) is reported, not allowed to lose the others' figures."""
        name = f"{name}, {transport}"
        print(f"running: {name}", file=sys.stderr)
        try:
            result = run_setup(
                name,
                db,
                n_servers,
                args.clients,
                args.client_processes,
                args.flips,
                transport == "stream",
                args.gap,
            )
        except RuntimeError as exc:
            failed.append(f"{name}: did not finish: {exc}")
            print(failed[-1], file=sys.stderr)
            return
        results.append(result)
        print(report([result], [], args.flips).split("\n\n")[1].splitlines()[-1], file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="wk-bench-db-") as scratch:
        for n_servers in (1, 2) if args.servers == "both" else (int(args.servers),):
            for transport in transports:
                db = f"sqlite:///{Path(scratch) / f'bench-{n_servers}-{transport}.db'}"
                name = f"SQLite, {n_servers} server process{'es' if n_servers > 1 else ''}"
                run(name, db, n_servers, transport)
        db = f"sqlite:///{Path(scratch) / 'cost.db'}"
        reader, _ = seed(db, Path(scratch))
        with servers(db, 1, Path(scratch)) as (url,):
            costs = check_cost(url, reader, Path(scratch))
    if not args.skip_postgresql:
        reason = pg_available()
        if reason is not None:
            print(f"PostgreSQL skipped: {reason}", file=sys.stderr)
        else:
            databases = PgDatabases()
            try:
                for transport in transports:
                    run("PostgreSQL, 2 server processes", databases.create(), 2, transport)
            finally:
                databases.close()
    results.append(unleash_style(args.clients, args.flips))
    print(report(results, costs, args.flips))
    for line in failed:
        print(f"\n{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
