"""Manifests: the charter and runbook as code, read from YAML with located errors.

Public surface: `load_paths`, `load_text`, `Loaded`, `ManifestError` (with `.problems`), the
models, and `json_schema()` for editor completion.
"""

from watchkeeper.manifest._errors import Location, ManifestError, Problem
from watchkeeper.manifest._load import Loaded, expand_paths, load_paths, load_text
from watchkeeper.manifest._models import (
    ROLES,
    AlertRule,
    Charter,
    Person,
    Playbook,
    Runbook,
    SystemManifest,
    Team,
)
from watchkeeper.manifest._schema import json_schema

__all__ = [
    "ROLES",
    "AlertRule",
    "Charter",
    "Loaded",
    "Location",
    "ManifestError",
    "Person",
    "Playbook",
    "Problem",
    "Runbook",
    "SystemManifest",
    "Team",
    "expand_paths",
    "json_schema",
    "load_paths",
    "load_text",
]
