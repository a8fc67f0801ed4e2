"""The acceptance test of "nothing lost, nothing doubled": the SDK logs 50,000 observations while
the real server process is SIGKILLed partway and started again on the same port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.server._world import SYSTEM, build_world
from watchkeeper import Client
from watchkeeper.app import build
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.store._ingest import ObservationRow

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

TOTAL = 50_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def wk_serve(db: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`wk serve` as its own process, ready when /readyz says so."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "watchkeeper.cli", "serve", "--port", str(port)],
            env={**os.environ, "WATCHKEEPER_DB": db},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "wk serve did not start"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def stored_ids(db: str) -> list[str]:
    store = Store.open(db)
    try:
        with store.read() as unit:
            query = select(ObservationRow.obs_id).where(ObservationRow.system == SYSTEM)
            return list(unit.session.scalars(query))
    finally:
        store.close()


def test_sigkill_and_restart_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'wk.db'}"
    app = build(Settings(db=db))
    token = build_world(app, tmp_path / "org").token("other_role_holder")
    app.close()
    port, log = free_port(), tmp_path / "server.log"
    cache = tmp_path / "cache"
    logged: list[str] = []
    with wk_serve(db, port, log) as first:
        client = Client(url=f"http://127.0.0.1:{port}", token=token, system=SYSTEM, cache_dir=cache)
        for i in range(TOTAL // 3):
            logged.append(client.log({"n": i}, f"answer {i}", latency_ms=1.0))
            if i % 1000 == 999:
                time.sleep(0.005)  # spread over time: batches are in flight at the kill
        first.send_signal(signal.SIGKILL)
        first.wait()
    for i in range(TOTAL // 3, 2 * TOTAL // 3):  # the server is down: these go to the spool
        logged.append(client.log({"n": i}, f"answer {i}", latency_ms=1.0))
    assert not client.flush(1), "flush cannot deliver while the server is down"
    assert list((cache).glob("spool-*/*.spool")), "nothing was spooled while the server was down"
    with wk_serve(db, port, log):
        for i in range(2 * TOTAL // 3, TOTAL):
            logged.append(client.log({"n": i}, f"answer {i}", latency_ms=1.0))
        assert client.flush(60)
        assert not list(cache.glob("spool-*/*.spool")), "flush said delivered"
        client.close()
    ids = stored_ids(db)
    assert len(ids) == TOTAL and sorted(ids) == sorted(logged)
    assert client.dropped == 0
