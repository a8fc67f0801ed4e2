"""Every mapped table, so that `Base.metadata` is the whole schema. The schema itself is owned by
the Alembic migrations beside this file; these mappings must match them (a test compares the
two), and the migrations' environment reads them from here.

The store does not import this module: a unit maps a stage's tables when it first uses that
stage's repository, so a command that reads only the core maps only the core.
"""

from watchkeeper.store import _alerting, _care, _ingest, _monitoring, _rehearsals, _switch
from watchkeeper.store._rows import (
    AckRow,
    AuditHeadRow,
    AuditRow,
    Base,
    JSONType,
    PersonRow,
    SwitchRow,
    SystemRow,
    SystemVersionRow,
    TeamRow,
    TokenRow,
    UTCDateTime,
)

STAGES = (_alerting, _care, _ingest, _monitoring, _rehearsals, _switch)
"""The modules whose tables join `Base.metadata` on import, beside the core's in `_rows`."""

__all__ = [
    "STAGES",
    "AckRow",
    "AuditHeadRow",
    "AuditRow",
    "Base",
    "JSONType",
    "PersonRow",
    "SwitchRow",
    "SystemRow",
    "SystemVersionRow",
    "TeamRow",
    "TokenRow",
    "UTCDateTime",
]
