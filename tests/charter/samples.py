"""A complete, ready manifest as data, and helpers to break one part of it at a time."""

from __future__ import annotations

import copy
import json
from typing import Any

from watchkeeper.access import Directory
from watchkeeper.manifest import ROLES, SystemManifest, load_text
from watchkeeper.store import AckRecord, PersonRecord, TeamRecord

PEOPLE = ["ana@corp.example", "ben@corp.example", "chen@corp.example", "dev@corp.example"]

READY: dict[str, Any] = {
    "apiVersion": "watchkeeper/v1",
    "kind": "AISystem",
    "metadata": {"name": "bot", "tier": "high"},
    "spec": {
        "lifecycle": "live",
        "charter": {
            "owner": "ana@corp.example",
            "quality_monitor": "ana@corp.example",
            "retraining_decider": "ben@corp.example",
            "data_liaison": "chen@corp.example",
            "kill_authority": ["ana@corp.example", "dev@corp.example"],
        },
        "upstream": [
            {
                "name": "tickets",
                "contact": "chen@corp.example",
                "contract": {"t": {"type": "string"}},
            }
        ],
        "runbook": {
            "healthy": {"acc": {"min": 0.8}},
            "signals": {"acc": {"from": "eval", "suite": "golden"}},
            "alerts": [{"name": "drop", "signal": "acc", "drop": "20%", "playbook": "p"}],
            "escalation": {
                "levels": [
                    {"after": "0m", "notify": ["ana@corp.example"]},
                    {"after": "30m", "notify": ["ben@corp.example"]},
                ]
            },
            "playbooks": {"p": {"steps": ["look"]}},
        },
        "evals": [{"suite": "golden", "dataset": "g.jsonl", "target": "m:f", "every": "7d"}],
        "care": {"hours_per_month": 8},
        "kill_switch": {"fail_mode": "open", "fallback": "humans"},
    },
}


def manifest(edit: Any = None) -> SystemManifest:
    """READY, optionally changed by `edit(data)`, loaded through the real loader."""
    data = copy.deepcopy(READY)
    if edit:
        edit(data)
    [system] = load_text(json.dumps(data), known_people=PEOPLE, known_teams=["team-a"]).systems
    return system


def directory(
    inactive: tuple[str, ...] = (), teams: dict[str, list[str]] | None = None
) -> Directory:
    return Directory.of(
        [PersonRecord(p, p.split("@")[0], p not in inactive) for p in PEOPLE],
        [TeamRecord(name, members) for name, members in (teams or {}).items()],
    )


def all_acks(system: SystemManifest, at: Any) -> list[AckRecord]:
    charter = system.spec.charter
    return [
        AckRecord(system.name, role, holder, holder, at)
        for role in ROLES
        for holder in charter.holders(role)
    ]
