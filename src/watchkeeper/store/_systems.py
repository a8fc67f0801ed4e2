"""A system's applied manifest, as every service reads it: one lookup, one not-found message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchkeeper.errors import ActionError
from watchkeeper.manifest import SystemManifest

if TYPE_CHECKING:
    from watchkeeper.store._records import SystemRecord
    from watchkeeper.store._store import Unit


def applied_manifest(unit: Unit, system: str) -> SystemManifest:
    record = unit.system(system)
    if record is None:
        raise ActionError("not_found", f"no system {system!r}")
    return manifest_of(record)


def manifest_of(record: SystemRecord) -> SystemManifest:
    return SystemManifest.model_validate(record.manifest)
