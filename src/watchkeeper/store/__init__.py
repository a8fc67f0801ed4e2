"""Persistence: one Store (SQLite by default, PostgreSQL in production), units of work, records."""

from watchkeeper.store._migrate import current_revision, head_revision
from watchkeeper.store._migrate import upgrade as migrate
from watchkeeper.store._records import (
    AckRecord,
    AuditHead,
    Deactivation,
    ObservationRecord,
    PersonRecord,
    SwitchRecord,
    SystemRecord,
    TeamRecord,
    TokenRecord,
)
from watchkeeper.store._store import Listener, Store, StoreError, Unit

__all__ = [
    "AckRecord",
    "AuditHead",
    "Deactivation",
    "Listener",
    "ObservationRecord",
    "PersonRecord",
    "Store",
    "StoreError",
    "SwitchRecord",
    "SystemRecord",
    "TeamRecord",
    "TokenRecord",
    "Unit",
    "current_revision",
    "head_revision",
    "migrate",
]
