"""Manifests: the charter and runbook as code, read from YAML with located errors.

Public surface: `load_paths`, `load_text`, `Loaded`, `ManifestError` (with `.problems`), the
models, and `json_schema()` for editor completion.
"""

import typing

from watchkeeper._lazy import exports as _exports
from watchkeeper.manifest._errors import Location, ManifestError, Problem
from watchkeeper.manifest._loaded import Loaded
from watchkeeper.manifest._models import (
    ROLES,
    AlarmBudget,
    AlertRule,
    Bound,
    Charter,
    ContractField,
    Escalation,
    EscalationLevel,
    EvalSuite,
    Person,
    Playbook,
    Retention,
    Runbook,
    Severity,
    Signal,
    SystemManifest,
    SystemSpec,
    Team,
    TriageRule,
    Upstream,
)

if typing.TYPE_CHECKING:
    from watchkeeper.manifest._load import expand_paths, load_paths, load_text
    from watchkeeper.manifest._schema import json_schema

__all__ = [
    "ROLES",
    "AlarmBudget",
    "AlertRule",
    "Bound",
    "Charter",
    "ContractField",
    "Escalation",
    "EscalationLevel",
    "EvalSuite",
    "Loaded",
    "Location",
    "ManifestError",
    "Person",
    "Playbook",
    "Problem",
    "Retention",
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

# The reader loads on first use: most commands handle manifests already read (from the store)
# and must not pay for the YAML parser at start-up.
__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.manifest._load": ["expand_paths", "load_paths", "load_text"],
        "watchkeeper.manifest._schema": ["json_schema"],
    },
)
