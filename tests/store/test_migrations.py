"""The Alembic migrations and the SQLAlchemy mappings describe the same schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from watchkeeper.store import Store, StoreError, current_revision, head_revision
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


@pytest.mark.parametrize("url", ["not a url", "postgresql+psycopg://root:hunter2@/%zz"])
def test_a_url_that_cannot_be_opened_is_a_store_error_that_keeps_the_password(url: str) -> None:
    with pytest.raises(StoreError) as raised:
        Store.open(url)
    assert "cannot open the store" in str(raised.value)
    assert "hunter2" not in str(raised.value)
