"""Digests of a manifest: what ties a rehearsal (or any record) to the manifest it judged."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from watchkeeper.manifest import SystemManifest


def manifest_digest(system: SystemManifest) -> str:
    """What the store keeps as the applied version's digest: the same manifest however its YAML
    was laid out has the same digest, so a rehearsal of the files is one of what is applied."""
    return _digest(system.model_dump(mode="json", by_alias=True))


def runbook_digest(system: SystemManifest) -> str:
    """The runbook's alone: a rehearsal stays true while the runbook it ran is unchanged."""
    return _digest(system.spec.runbook.model_dump(mode="json", by_alias=True))


def _digest(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
