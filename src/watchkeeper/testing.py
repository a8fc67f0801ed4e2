"""Helpers for tests and benchmarks (ours and users'): throwaway databases and a fixed clock.

PostgreSQL databases are cloned from a migrated template, so each test gets a fresh one in
tens of milliseconds; everything created here is dropped by `drop`.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from watchkeeper.clock import FixedClock
from watchkeeper.store import Store

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PG_ADMIN_URL = os.environ.get(
    "WATCHKEEPER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

__all__ = [
    "PG_ADMIN_URL",
    "T0",
    "FixedClock",
    "HttpReceiver",
    "PgDatabases",
    "Received",
    "http_receiver",
    "pg_available",
]


def pg_available(admin_url: str = PG_ADMIN_URL) -> str | None:
    """None when PostgreSQL answers, else why not (so CI can fail with the reason)."""
    try:
        engine = create_engine(admin_url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


class PgDatabases:
    """Creates migrated PostgreSQL databases on demand and drops them all at the end."""

    def __init__(self, admin_url: str = PG_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._template = f"wk_tpl_{uuid.uuid4().hex[:10]}"
        self._created: list[str] = []
        self._execute(f'CREATE DATABASE "{self._template}"')
        Store.open(self._url(self._template)).close()

    def _url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(sql))

    def create(self, template: str | None = None) -> str:
        """A new migrated database, or a copy of `template` (a database no one is connected to)."""
        name = f"wk_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template or self._template}"')
        self._created.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in [*self._created, self._template]:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every POST it gets; `status` sets the reply code per path (default 200/202)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    """A real HTTP server on loopback for webhook, Slack and PagerDuty deliveries."""
    receiver = HttpReceiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            receiver.requests.append(Received(self.path, dict(self.headers), body))
            code = receiver.status.get(self.path, 202 if "enqueue" in self.path else 200)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    # shutdown() waits for the loop's next poll: at the default 0.5 s, half a second a test
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
