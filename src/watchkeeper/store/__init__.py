"""Persistence: one Store (SQLite by default, PostgreSQL in production), units of work, records."""

from watchkeeper.store._migrate import current_revision, head_revision
from watchkeeper.store._migrate import upgrade as migrate
from watchkeeper.store._records import AckRecord, PersonRecord, SystemRecord, TeamRecord
from watchkeeper.store._store import Store, StoreError, Unit

__all__ = [
    "AckRecord",
    "PersonRecord",
    "Store",
    "StoreError",
    "SystemRecord",
    "TeamRecord",
    "Unit",
    "current_revision",
    "head_revision",
    "migrate",
]
