"""Two `wk serve` processes on one PostgreSQL database, ticking on their own: 100 incidents,
every page sent exactly once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper.app import Operations, build
from watchkeeper.manifest import load_text
from watchkeeper.settings import Settings
from watchkeeper.testing import PgDatabases, http_receiver

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

SYSTEMS = 100


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _manifests(receiver: str) -> str:
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [
            {
                "email": "oncall@corp.example",
                "channels": [{"type": "webhook", "url": f"{receiver}/page"}],
            }
        ],
    }
    docs = [people]
    for i in range(SYSTEMS):
        docs.append(
            {
                "apiVersion": "watchkeeper/v1",
                "kind": "AISystem",
                "metadata": {"name": f"sys-{i}"},
                "spec": {
                    "lifecycle": "live",
                    "charter": {"owner": "oncall@corp.example"},
                    "runbook": {
                        "signals": {
                            "q": {"from": "observation", "field": "metadata.q", "window": "1h"}
                        },
                        "alerts": [
                            {"name": "low", "signal": "q", "below": 0.5, "severity": "critical"}
                        ],
                        "escalation": {"levels": [{"notify": ["oncall@corp.example"]}]},
                    },
                },
            }
        )
    return "\n---\n".join(json.dumps(d) for d in docs)


def test_two_servers_send_each_page_once(pg: PgDatabases) -> None:
    url = pg.create()
    try:
        with http_receiver() as receiver:
            now = datetime.now(UTC)
            last_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
            app = build(Settings(db=url))
            ops = Operations(app, "ops", now, enforce=False)
            app.charter.apply(load_text(_manifests(receiver.url)), "ops", now)
            for i in range(SYSTEMS):
                ops.ingest(
                    f"sys-{i}",
                    [
                        {
                            "id": "a",
                            "ts": (last_hour + timedelta(minutes=5)).isoformat(),
                            "metadata": {"q": 0.1},
                        }
                    ],
                )
            app.close()
            env = {**os.environ, "WATCHKEEPER_DB": url}
            servers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "watchkeeper.cli",
                        "serve",
                        "--port",
                        str(_port()),
                        "--tick-every",
                        "0.5",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(2)
            ]
            try:
                deadline = time.monotonic() + 120
                while len(receiver.requests) < SYSTEMS and time.monotonic() < deadline:
                    time.sleep(0.2)
                time.sleep(3)  # both servers keep ticking: any second page would arrive now
            finally:
                for server in servers:
                    server.terminate()
                for server in servers:
                    server.wait(timeout=30)
        incidents = [r.json()["details"]["incident"] for r in receiver.requests]
        assert len(incidents) == SYSTEMS
        assert len(set(incidents)) == SYSTEMS
    finally:
        pg.drop(url)
