"""Helpers for tests and benchmarks (ours and users'): throwaway databases and a fixed clock.

PostgreSQL databases are cloned from a migrated template, so each test gets a fresh one in
tens of milliseconds; everything created here is dropped by `drop`.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from watchkeeper.clock import FixedClock
from watchkeeper.store import Store

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PG_ADMIN_URL = os.environ.get(
    "WATCHKEEPER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

__all__ = ["PG_ADMIN_URL", "T0", "FixedClock", "PgDatabases", "pg_available"]


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

    def create(self) -> str:
        name = f"wk_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        self._created.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in [*self._created, self._template]:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()
