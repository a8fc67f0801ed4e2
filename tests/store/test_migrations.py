"""The Alembic migrations and the SQLAlchemy mappings describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from watchkeeper.store import Store, current_revision, head_revision
from watchkeeper.store._tables import Base


def test_migrated_schema_matches_the_mappings(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = [
            d for d in compare_metadata(context, Base.metadata) if d[0] != "remove_table"
        ]
    assert differences == []


def test_opening_twice_migrates_once(db_url: str) -> None:
    first = Store.open(db_url)
    second = Store.open(db_url)
    assert current_revision(second.engine) == head_revision()
    first.close()
    second.close()
