"""Ingest: sustained observations/s through the HTTP API into SQLite, beside the ceiling — the
same rows inserted without HTTP — and what `client.log()` costs the caller.

    .venv/bin/python benchmarks/ingest.py [--rows 200000] [--batch 1000,5000] [--connections 2]

Every phase starts from a fresh, migrated SQLite file holding one system and loads the same rows
(ids, times, inputs, outputs, metadata generated once from a fixed seed). The system watches what a
platform team would — three signals, drift on four columns, an upstream contract — so every batch
through the service is profiled into its window partials as it is stored:

- http/N: a `wk serve` subprocess on 127.0.0.1; `--connections` threads post the rows as
  pre-encoded JSON batches of N items (each size in `--batch`); the clock runs from the first
  request to the last answer; the store must then hold exactly `--rows` observations.
- The phases below use the first batch size.
- service: `IngestService.observations` in-process — parsing, validation, profiling and the
  store, no HTTP.
- bare: the same for a system that watches nothing (no runbook, no contract): ingest without
  profiling, side by side with `service`.
- store: the store's own `Unit.add_observations` with rows already validated and encoded.
- sqlite3: plain `executemany` of the same tuples into the same table, one transaction a batch:
  the ceiling.
Wall-clock rates suffer when other work shares the machine, so each phase also reports the CPU
time it took (the server process's, read from /proc, for http): CPU µs per observation, and the
rate one fully available core would sustain at that cost.

- sdk: a separate process logs `--sdk-rows` observations with `Client.log()` against the server
  (timing every call), then `flush()`es; the store must hold them all.

Everything stays on loopback and ends by itself.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from watchkeeper.app import Operations, build
from watchkeeper.ingest.items import validate_batch
from watchkeeper.settings import Settings
from watchkeeper.store import Store

SYSTEM = "bench-bot"
WRITER = "writer@bench.example"
MANIFESTS = f"""\
apiVersion: watchkeeper/v1
kind: People
people:
  - {{email: {WRITER}, name: Writer}}
---
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {{name: {SYSTEM}, tier: low}}
spec:
  charter: {{owner: {WRITER}, kill_authority: [{WRITER}]}}
  kill_switch: {{fail_mode: open, fallback: Serve the rules-based answer}}
  upstream:
    - name: crm
      contact: {WRITER}
      contract:
        channel: {{type: category, values: [email, chat, phone]}}
        customer_tier: {{type: integer, required: true}}
        ticket: {{type: string}}
  runbook:
    signals:
      latency: {{from: observation, kind: mean, field: latency_ms}}
      p95: {{from: observation, kind: quantile, q: 0.95, field: latency_ms}}
      refunds: {{from: output, kind: rate, field: label, match: refund}}
    healthy: {{latency: {{max: 900}}, refunds: {{max: 0.6}}}}
    alerts:
      - {{name: slow, signal: p95, rise: 30%}}
      - {{name: inputs-moved, drift: [channel, customer_tier, latency_ms, metadata.region]}}
      - {{name: crm-broke, contract: crm}}
"""
TICKETS = ["Where is my order?", "I want a refund for #{n}", "Change my address to {n} Elm St"]
LABELS = ["shipping", "refund", "account", "other"]


def observations(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Items as serving code logs them: ~300 bytes of JSON each."""
    rng = random.Random(seed)
    # a day ago, at a whole hour: within the system's retention and never in the server's future
    start = (
        (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    ).timestamp()
    return [
        {
            "id": f"{rng.getrandbits(128):032x}",
            "ts": start + i * 0.01,
            "inputs": {
                "ticket": rng.choice(TICKETS).format(n=rng.randint(1, 9999)),
                "channel": rng.choice(["email", "chat", "phone"]),
                "customer_tier": rng.randint(1, 3),
            },
            "output": {"label": rng.choice(LABELS), "confidence": round(rng.random(), 4)},
            "latency_ms": round(rng.uniform(20, 900), 1),
            "model_version": "triage-2026.01",
            "metadata": {"region": rng.choice(["eu", "us"]), "request": i},
        }
        for i in range(count)
    ]


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# The same system watching nothing: what ingest costs without profiling, for the side by side.
BARE = MANIFESTS.split("  upstream:")[0]


def seed_db(db: str, folder: Path, manifests: str = MANIFESTS) -> str:
    """A fresh store with the one system; returns the writer's token."""
    (folder / "bench.yaml").write_text(manifests, encoding="utf-8")
    app = build(Settings(db=db))
    try:
        setup = Operations(app, "bench@local", app.clock.now(), enforce=False)
        setup.apply([str(folder / "bench.yaml")])
        return str(setup.create_token(WRITER)["token"])
    finally:
        app.close()


def stored(db: str) -> int:
    store = Store.open(db)
    try:
        with store.read() as unit:
            return unit.ingest.observation_count(SYSTEM)
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(db: str, folder: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "watchkeeper.cli", "serve", "--port", str(port)],
        env={**os.environ, "WATCHKEEPER_DB": db},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"wk serve did not start; see {folder / 'server.log'}")
            time.sleep(0.05)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_http(url: str, token: str, bodies: list[bytes], connections: int) -> float:
    """Seconds to post every body, `connections` requests in flight."""
    path = f"{url}/api/v1/systems/{SYSTEM}/observations"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    todo = iter(bodies)
    lock = threading.Lock()
    failures: list[str] = []

    def post() -> None:
        with httpx.Client(headers=headers, timeout=60) as http:
            while True:
                with lock:
                    body = next(todo, None)
                if body is None:
                    return
                answer = http.post(path, content=body)
                if answer.status_code != 200 or answer.json()["rejected"]:
                    failures.append(answer.text[:200])

    workers = [threading.Thread(target=post) for _ in range(connections)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} batches failed, e.g. {failures[0]}")
    return elapsed


def run_service(db: str, bodies: list[bytes]) -> tuple[float, float]:
    """Parsing, validation and the store, no HTTP: the same JSON bodies the server gets.
    Returns wall and CPU seconds, both after the warm-up `wk serve` does before it answers."""
    app = build(Settings(db=db))
    try:
        app.ingest.warm()
        cpu = time.process_time()
        started = time.perf_counter()
        for body in bodies:
            app.ingest.observations(SYSTEM, json.loads(body), app.clock.now())
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        app.close()


def encoded_rows(batches: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    now = datetime.now(UTC)
    out = []
    for batch in batches:
        accepted, _ = validate_batch(batch, now)
        out.append(
            [
                {
                    "obs_id": a.id,
                    "ts": a.ts,
                    "inputs": a.encoded[0],
                    "output": a.encoded[1],
                    "latency_ms": a.latency_ms,
                    "model_version": a.model_version,
                    "meta": a.encoded[2],
                }
                for a in accepted
            ]
        )
    return out


def run_store(db: str, rows: list[list[dict[str, Any]]]) -> float:
    store = Store.open(db)
    try:
        started = time.perf_counter()
        for batch in rows:
            with store.write() as unit:
                unit.ingest.add_observations(SYSTEM, batch, datetime.now(UTC))  # type: ignore[arg-type]
        return time.perf_counter() - started
    finally:
        store.close()


def run_sqlite3(db: str, rows: list[list[dict[str, Any]]]) -> float:
    """The same rows as plain tuples into the same table, with the store's pragmas."""
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    now = datetime.now(UTC).strftime(stamp)
    tuples = [
        [
            (
                SYSTEM,
                r["obs_id"],
                r["ts"].strftime(stamp),
                now,
                r["inputs"],
                r["output"],
                r["latency_ms"],
                r["model_version"],
                r["meta"],
            )
            for r in batch
        ]
        for batch in rows
    ]
    connection = sqlite3.connect(db.removeprefix("sqlite:///"), isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    sql = (
        "INSERT INTO observations (system, obs_id, ts, received_at, inputs, output, latency_ms, "
        "model_version, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (system, obs_id) DO NOTHING"
    )
    try:
        started = time.perf_counter()
        for batch in tuples:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql, batch)
            connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


SDK_CHILD = """
import json, sys, time
from watchkeeper import Client
url, token, system, cache, count = sys.argv[1:6]
count = int(count)
client = Client(url=url, token=token, system=system, cache_dir=cache)
inputs = {"ticket": "Where is my order?", "channel": "email", "customer_tier": 2}
output = {"label": "shipping", "confidence": 0.93}
costs = []
clock = time.perf_counter_ns
started = time.perf_counter()
for i in range(count):
    before = clock()
    client.log(inputs, output, latency_ms=120.0, model_version="triage-2026.01")
    costs.append(clock() - before)
    if i % 1000 == 999:
        time.sleep(0.001)  # a serving loop does other work between requests
logged = time.perf_counter() - started
flushed = client.flush(120)
total = time.perf_counter() - started
client.close()
print(json.dumps({"costs": costs, "logged": logged, "total": total, "flushed": flushed,
                  "dropped": client.dropped}))
"""


def run_sdk(url: str, token: str, count: int, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SDK_CHILD, url, token, SYSTEM, str(folder / "cache"), str(count)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return dict(json.loads(done.stdout))


def percentile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", default="1000,5000", help="batch sizes for http, e.g. 1000,5000")
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--sdk-rows", type=int, default=100_000)
    options = parser.parse_args()
    sizes = [int(size) for size in options.batch.split(",")]
    items = observations(options.rows)
    batches = chunks(items, sizes[0])
    bodies = {size: [json.dumps(b).encode() for b in chunks(items, size)] for size in sizes}
    rows = encoded_rows(batches)
    gc.freeze()  # the prepared rows are not the measured code's garbage to walk
    print(
        f"{options.rows:,} observations of {sum(map(len, bodies[sizes[0]])) / options.rows:.0f} "
        f"bytes of JSON each; {os.cpu_count()} cores"
    )
    results: dict[str, float] = {}
    print(f"  {'phase':10} {'wall obs/s':>12} {'CPU µs/obs':>11} {'obs/s per core':>15}")
    with tempfile.TemporaryDirectory(prefix="wk-bench-ingest-") as scratch:
        phases = (*(f"http/{size}" for size in sizes), "service", "bare", "store", "sqlite3")
        for phase in phases:
            folder = Path(scratch) / phase.replace("/", "-")
            folder.mkdir()
            db = f"sqlite:///{folder / 'wk.db'}"
            token = seed_db(db, folder, BARE if phase == "bare" else MANIFESTS)
            cpu = time.process_time()
            if phase.startswith("http/"):
                with server(db, folder) as (url, pid):
                    cpu = cpu_seconds(pid)
                    size = int(phase.removeprefix("http/"))
                    elapsed = run_http(url, token, bodies[size], options.connections)
                    cpu = cpu_seconds(pid) - cpu
            elif phase in ("service", "bare"):
                elapsed, cpu = run_service(db, bodies[sizes[0]])
            elif phase == "store":
                elapsed = run_store(db, rows)
            else:
                elapsed = run_sqlite3(db, rows)
            if phase in ("store", "sqlite3"):
                cpu = time.process_time() - cpu
            count = stored(db)
            if count != options.rows:
                raise RuntimeError(f"{phase}: stored {count}, expected {options.rows}")
            results[phase] = options.rows / elapsed
            per = cpu / options.rows * 1e6
            print(f"  {phase:10} {results[phase]:>12,.0f} {per:>11.1f} {1e6 / per:>15,.0f}")
        folder = Path(scratch) / "sdk"
        folder.mkdir()
        db = f"sqlite:///{folder / 'wk.db'}"
        token = seed_db(db, folder)
        with server(db, folder) as (url, _):
            sdk = run_sdk(url, token, options.sdk_rows, folder)
        if not sdk["flushed"] or sdk["dropped"] or stored(db) != options.sdk_rows:
            raise RuntimeError(f"sdk: stored {stored(db)} of {options.sdk_rows}: {sdk}")
    costs = sdk["costs"]
    print(
        f"  sdk        {options.sdk_rows / sdk['total']:>12,.0f} observations/s end to end "
        f"({sdk['total']:.2f} s, all stored)\n"
        f"  log()      p50 {percentile(costs, 0.5):.1f} µs, p99 {percentile(costs, 0.99):.1f} µs, "
        f"mean {statistics.fmean(costs) / 1000:.1f} µs, max {max(costs) / 1000:.0f} µs"
    )
    for size in sizes:
        share = results[f"http/{size}"] / results["sqlite3"]
        print(f"  http/{size} / sqlite3 ceiling (wall): {share:.0%}")
    print(f"  load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
