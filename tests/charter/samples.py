"""A complete, ready manifest as data, and helpers to break one part of it at a time."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from watchkeeper.access import Directory
from watchkeeper.charter import manifest_digest, runbook_digest
from watchkeeper.manifest import ROLES, SystemManifest, load_text
from watchkeeper.store import AckRecord, PersonRecord, RehearsalRecord, Store, TeamRecord
from watchkeeper.testing import T0

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


def rehearsed(
    system: SystemManifest,
    at: datetime = T0,
    *,
    passed: bool = True,
    digest: str | None = None,
) -> list[RehearsalRecord]:
    """A quality-drop rehearsal of `system` (of another version when `digest` is given)."""
    record = RehearsalRecord(
        id=1,
        system=system.name,
        scenario="quality-drop",
        digest=digest or manifest_digest(system),
        runbook_digest=runbook_digest(system),
        version=1,
        passed=passed,
        time_to_page_s=3600.0 if passed else None,
        rehearsed_at=at,
        rehearsed_by="ana@corp.example",
        report={"verdict": "paged" if passed else "nobody was paged: rule never fired"},
    )
    return [record]


def record_rehearsal(
    store: Store, system: SystemManifest, now: Any, *, passed: bool = True
) -> RehearsalRecord:
    """Store what `wk rehearse` records when the quality-drop rehearsal of `system` passed (or
    failed): for tests of what reads rehearsals, not of the rehearsal itself."""
    with store.write() as unit:
        return unit.rehearsals.add(
            system=system.name,
            scenario="quality-drop",
            digest=manifest_digest(system),
            runbook_digest=runbook_digest(system),
            version=None,
            passed=passed,
            time_to_page_s=90.0 if passed else None,
            report={"verdict": "paged" if passed else "nobody was paged"},
            actor="ana@corp.example",
            now=now,
        )
