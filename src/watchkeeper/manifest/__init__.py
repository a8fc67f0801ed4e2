"""Manifests: the charter and runbook as code, read from YAML with located errors.

Public surface: `load_paths`, `load_text`, `Loaded`, `ManifestError` (with `.problems`), the
models, and `json_schema()` for editor completion.
"""

from watchkeeper.manifest._errors import Location, ManifestError, Problem
from watchkeeper.manifest._load import Loaded, expand_paths, load_paths, load_text
from watchkeeper.manifest._models import (
    ROLES,
    AlertRule,
    Bound,
    Charter,
    ContractField,
    EvalSuite,
    Person,
    Playbook,
    Runbook,
    Severity,
    Signal,
    SystemManifest,
    SystemSpec,
    Team,
    TriageRule,
    Upstream,
)
from watchkeeper.manifest._schema import json_schema

__all__ = [
    "ROLES",
    "AlertRule",
    "Bound",
    "Charter",
    "ContractField",
    "EvalSuite",
    "Loaded",
    "Location",
    "ManifestError",
    "Person",
    "Playbook",
    "Problem",
    "Runbook",
    "Severity",
    "Signal",
    "SystemManifest",
    "SystemSpec",
    "Team",
    "TriageRule",
    "Upstream",
    "expand_paths",
    "json_schema",
    "load_paths",
    "load_text",
]
