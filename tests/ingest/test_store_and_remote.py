"""The raw observation insert binds times exactly as the ORM does, and the CLI's client mode
(`Remote`) returns what local `Operations` returns for the ingest methods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from tests.server._world import ROLES, SYSTEM, World
from watchkeeper.app import Operations
from watchkeeper.cli._client import Remote
from watchkeeper.server import LiveServer
from watchkeeper.store._ingest import ObservationRow, _time_binder

INSTANTS = [
    datetime(2026, 1, 5, tzinfo=UTC),
    datetime(2026, 1, 5, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(999, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()])
def test_the_fast_time_binder_writes_what_the_column_type_writes(dialect: Dialect) -> None:
    column = ObservationRow.__table__.c.ts.type
    reference = column.dialect_impl(dialect).bind_processor(dialect)
    assert reference is not None
    fast = _time_binder(dialect)
    for instant in INSTANTS:
        assert fast(instant) == reference(instant)


def test_client_mode_ingests_like_local_mode(world: World) -> None:
    local = Operations(world.app, ROLES["other_role_holder"], world.app.clock.now(), enforce=False)
    items = [{"id": "r1", "output": "remote"}, {"id": "r2", "latency_ms": -1}]
    with LiveServer(world.app) as live:
        remote = Remote(live.url, world.token("other_role_holder"))
        try:
            assert remote.ingest(SYSTEM, items, source="file") == {
                "accepted": 1,
                "duplicates": 0,
                "rejected": [{"index": 1, "error": "items[1].latency_ms: must be at least 0"}],
            }
            assert remote.ingest(SYSTEM, items[:1]) == local.ingest(SYSTEM, items[:1])
            feedback = [{"observation_id": "r1", "label": "good", "ts": "2026-01-05T09:00:00Z"}]
            assert remote.feedback(SYSTEM, feedback)["accepted"] == 1
            assert local.feedback(SYSTEM, feedback)["duplicates"] == 1
            letters = remote.dead_letters(SYSTEM, limit=5)
            assert letters == local.dead_letters(SYSTEM, limit=5)
            assert letters[0]["source"] == "file"
            flagged = remote.flag(SYSTEM, "r1", "check this")
            assert flagged["observation_id"] == "r1" and flagged["rule"] == "manual"
        finally:
            remote.close()
