"""Persistence: one Store (SQLite by default, PostgreSQL in production), units of work, records.

Its names load on first use: a caller that only names a record (the offline gate, the charter's
pure rubrics) gets the plain dataclasses without SQLAlchemy, which only `Store`, `Unit`,
`StoreError`, `Listener` and the migration helpers bring.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.store._alerting import (
        AlertRecord,
        DeliveryRecord,
        IncidentEventRecord,
        IncidentRecord,
        SilenceRecord,
    )
    from watchkeeper.store._directory import DirectoryPerson, DirectoryTeam
    from watchkeeper.store._migrate import current_revision, head_revision, upgrade
    from watchkeeper.store._records import (
        AckRecord,
        AuditHead,
        CareEntryRecord,
        Deactivation,
        DeadLetterRecord,
        DrillRecord,
        EvalRunRecord,
        FindingRecord,
        KnowledgeRecord,
        NewObservation,
        ObservationRecord,
        PersonRecord,
        RehearsalRecord,
        ReviewRecord,
        SwitchRecord,
        SystemRecord,
        TeamRecord,
        TokenRecord,
        TriageItemRecord,
    )
    from watchkeeper.store._store import Listener, Store, StoreError, Unit
    from watchkeeper.store._switch import ProcessRecord
    from watchkeeper.store._systems import applied_manifest, manifest_of

__all__ = [
    "AckRecord",
    "AlertRecord",
    "AuditHead",
    "CareEntryRecord",
    "Deactivation",
    "DeadLetterRecord",
    "DeliveryRecord",
    "DirectoryPerson",
    "DirectoryTeam",
    "DrillRecord",
    "EvalRunRecord",
    "FindingRecord",
    "IncidentEventRecord",
    "IncidentRecord",
    "KnowledgeRecord",
    "Listener",
    "NewObservation",
    "ObservationRecord",
    "PersonRecord",
    "ProcessRecord",
    "RehearsalRecord",
    "ReviewRecord",
    "SilenceRecord",
    "Store",
    "StoreError",
    "SwitchRecord",
    "SystemRecord",
    "TeamRecord",
    "TokenRecord",
    "TriageItemRecord",
    "Unit",
    "applied_manifest",
    "current_revision",
    "head_revision",
    "manifest_of",
    "upgrade",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.store._alerting": [
            "AlertRecord",
            "DeliveryRecord",
            "IncidentEventRecord",
            "IncidentRecord",
            "SilenceRecord",
        ],
        "watchkeeper.store._directory": ["DirectoryPerson", "DirectoryTeam"],
        "watchkeeper.store._migrate": ["current_revision", "head_revision", "upgrade"],
        "watchkeeper.store._records": [
            "AckRecord",
            "AuditHead",
            "CareEntryRecord",
            "Deactivation",
            "DeadLetterRecord",
            "DrillRecord",
            "EvalRunRecord",
            "FindingRecord",
            "KnowledgeRecord",
            "NewObservation",
            "ObservationRecord",
            "PersonRecord",
            "RehearsalRecord",
            "ReviewRecord",
            "SwitchRecord",
            "SystemRecord",
            "TeamRecord",
            "TokenRecord",
            "TriageItemRecord",
        ],
        "watchkeeper.store._store": ["Listener", "Store", "StoreError", "Unit"],
        "watchkeeper.store._switch": ["ProcessRecord"],
        "watchkeeper.store._systems": ["applied_manifest", "manifest_of"],
    },
)
