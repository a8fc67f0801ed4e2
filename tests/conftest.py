"""Shared fixtures: every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL tests need a server at 127.0.0.1:5432; without one they skip locally and FAIL in CI
(CI=true), so a green CI run always means both back ends were exercised.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.server._world import Api, World, api_for, build_world
from watchkeeper.app import Watchkeeper, build
from watchkeeper.clock import FixedClock
from watchkeeper.server import LiveServer, create_app
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import T0, PgDatabases, pg_available

EXAMPLES = Path(__file__).parent.parent / "examples"
DEMO_MANIFESTS = Path(__file__).parent.parent / "src" / "watchkeeper" / "cli" / "demo" / "manifests"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every test module is imported by now and lives until the end: keep the cyclic collector
    off those objects, as `wk serve` does with its start-up heap (each full collection walked
    about 135,000 of them, 0.12 s, many times over the run)."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files marked slow first: xdist hands out files in this order, and one of them
    started last would leave the other workers idle at the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgDatabases]:
    reason = pg_available()
    if reason is not None:
        message = f"PostgreSQL is not reachable: {reason}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI requires the PostgreSQL run)", pytrace=False)
        pytest.skip(message)
    databases = PgDatabases()
    yield databases
    databases.close()


# For tests of a face's input checks and protocol details, where the store is not what is tested:
# they run once, on SQLite, and the flows that store something run on both (the suite's ten
# minutes are spent where the two databases can differ).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class Prepared:
    """Databases migrated, or built by a test module's builder, once per worker and backend;
    each test gets its own copy (a file copy on SQLite, a template database on PostgreSQL).
    Migrating a new SQLite file took 0.1-0.2 s over a thousand times a run, and a module's
    world of weeks of observations seconds per test."""

    def __init__(self, folder: Path, request: pytest.FixtureRequest) -> None:
        self.folder, self.request = folder, request
        self.made: dict[tuple[str, Any], str] = {}

    def copy(self, backend: str, builder: Builder | None, tmp_path: Path) -> str:
        if backend == "postgresql" and builder is None:
            return self.databases.create()  # from PgDatabases' own migrated template
        made = self.made.get((backend, builder))
        if made is None:
            made = self.made[(backend, builder)] = self._make(backend, builder)
        if backend == "sqlite":
            path = tmp_path / "wk.db"
            shutil.copyfile(made, path)
            return f"sqlite:///{path}"
        return self.databases.create(template=made)

    @property
    def databases(self) -> PgDatabases:
        databases: PgDatabases = self.request.getfixturevalue("pg")
        return databases

    def _make(self, backend: str, builder: Builder | None) -> str:
        folder = self.folder / f"{backend}-{len(self.made)}"
        folder.mkdir()
        url = f"sqlite:///{folder / 'wk.db'}" if backend == "sqlite" else self.databases.create()
        if builder is None:
            Store.open(url).close()
        else:
            app = build(Settings(db=url), clock=FixedClock(T0))
            builder(app, folder)
            app.close()
        return str(folder / "wk.db") if backend == "sqlite" else make_url(url).database or ""


Builder = Callable[[Watchkeeper, Path], None]


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Prepared:
    return Prepared(tmp_path_factory.mktemp("prepared"), request)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, prepared: Prepared) -> Iterator[str]:
    """A database of its own for each test: migrated, or, under `@pytest.mark.built_by(f)`,
    holding what `f(app, folder)` made of a new one."""
    marker = request.node.get_closest_marker("built_by")
    url = prepared.copy(request.param, marker.args[0] if marker else None, tmp_path)
    yield url
    if request.param == "postgresql":
        prepared.databases.drop(url)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def app(db_url: str, store: Store, clock: FixedClock) -> Watchkeeper:
    return build(Settings(db=db_url), store=store, clock=clock)


@pytest.fixture
def world(app: Watchkeeper, tmp_path: Path) -> World:
    """The small organisation of tests/server/_world.py, applied to `app`."""
    return build_world(app, tmp_path / "org")


@pytest.fixture
def api(world: World) -> Iterator[Api]:
    """The real app over in-process HTTP."""
    yield from api_for(create_app(world.app))


class Cli:
    """Runs `wk` in-process against one database, returning (exit code, stdout, stderr)."""

    def __init__(
        self, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ):
        self.db_url = db_url
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, user: str | None = None) -> tuple[int, str, str]:
        from watchkeeper.cli import run

        self.monkeypatch.setenv("WATCHKEEPER_DB", self.db_url)
        for name in ("WATCHKEEPER_URL", "WATCHKEEPER_TOKEN"):
            self.monkeypatch.delenv(name, raising=False)
        if user:
            self.monkeypatch.setenv("WATCHKEEPER_USER", user)
        else:
            self.monkeypatch.delenv("WATCHKEEPER_USER", raising=False)
        self.capsys.readouterr()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def wk(db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(db_url, capsys, monkeypatch)


def webhook_people(receiver: str, *emails: str) -> dict[str, Any]:
    """A People manifest whose every person is reached by webhook at `receiver/<local part>`."""
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [
            {"email": e, "channels": [{"type": "webhook", "url": f"{receiver}/{e.split('@')[0]}"}]}
            for e in emails
        ],
    }


def retention_systems(retention: dict[str, str]) -> str:
    """One live system per entry, named by it, keeping observations as long as its value says
    (owned by a@x.io, the only person)."""
    people = {"apiVersion": "watchkeeper/v1", "kind": "People", "people": [{"email": "a@x.io"}]}
    systems = [
        {
            "apiVersion": "watchkeeper/v1",
            "kind": "AISystem",
            "metadata": {"name": name},
            "spec": {
                "lifecycle": "live",
                "charter": {"owner": "a@x.io"},
                "runbook": {"baseline": {"first": "14d"}},
                "retention": keep,
            },
        }
        for name, keep in retention.items()
    ]
    return "\n---\n".join(json.dumps(d) for d in (people, *systems))


def make_unreadable(app: Watchkeeper, name: str, now: datetime) -> None:
    """The system's stored manifest gains a pattern this code refuses, written at `now` as an
    older release would have stored it."""
    with app.store.read() as unit:
        record = unit.system(name)
    assert record is not None
    broken = copy.deepcopy(record.manifest)
    broken["spec"]["runbook"]["signals"]["odd"] = {
        "from": "output", "kind": "rate", "match": "(?=x)", "window": "1h"
    }  # fmt: skip
    with app.store.write() as unit:
        unit.save_system(broken, digest="older", actor="ops", now=now, live_since=record.live_since)


class RemoteCli:
    """Runs `wk` in client mode against a live server, as one person (their token)."""

    def __init__(
        self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch

    def __call__(self, *args: str, token: str | None) -> tuple[int, str, str]:
        from watchkeeper.cli import run

        # a database nobody can reach: client mode must never open one
        self.monkeypatch.setenv("WATCHKEEPER_DB", "postgresql+psycopg://nobody@127.0.0.1:9/x")
        self.monkeypatch.setenv("WATCHKEEPER_URL", self.url)
        if token:
            self.monkeypatch.setenv("WATCHKEEPER_TOKEN", token)
        else:
            self.monkeypatch.delenv("WATCHKEEPER_TOKEN", raising=False)
        self.monkeypatch.delenv("WATCHKEEPER_USER", raising=False)
        self.capsys.readouterr()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def live(world: World) -> Iterator[LiveServer]:
    with LiveServer(world.app) as server:
        yield server


@pytest.fixture
def remote(
    live: LiveServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> RemoteCli:
    return RemoteCli(live.url, capsys, monkeypatch)
