"""A high-risk system with one incident, for the serious-incident tests: its people, whose roles
do not overlap, and helpers to act on it as they would."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.server._world import failing_run
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.testing import T0

H, DAY = timedelta(hours=1), timedelta(days=1)
SYSTEM = "clinic"
OLGA, KIM, QUINN, PAT, TESS, UMA = (
    f"{n}@corp.example" for n in ("olga", "kim", "quinn", "pat", "tess", "uma")
)
PEOPLE = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [
        {"email": OLGA, "name": "Olga Owner"},
        {"email": KIM, "name": "Kim Kill"},
        {"email": QUINN, "name": "Quinn Quality"},
        {"email": PAT, "name": "Pat Oncall"},
        {"email": TESS, "name": "Tess Oncall"},
        {"email": UMA, "name": "Uma Unrelated"},
    ],
    "teams": [{"name": "oncall", "members": [PAT, TESS]}],
}
CLINIC: dict[str, Any] = {
    "apiVersion": "watchkeeper/v1",
    "kind": "AISystem",
    "metadata": {
        "name": SYSTEM,
        "title": "Appointment triage",
        "description": "Ranks incoming appointment requests by urgency",
        "eu_ai_act": "high-risk",
    },
    "spec": {
        "lifecycle": "live",
        "charter": {"owner": OLGA, "quality_monitor": QUINN, "kill_authority": [KIM]},
        "runbook": {
            "signals": {"accuracy": {"from": "eval", "suite": "golden"}},
            "alerts": [
                {
                    "name": "harm",
                    "signal": "accuracy",
                    "below": 0.5,
                    "severity": "critical",
                    "playbook": "harm",
                }
            ],
            "escalation": {
                "levels": [{"notify": [OLGA]}, {"after": "30m", "notify": ["oncall"]}],
            },
            "playbooks": {"harm": {"summary": "Harmful ranking", "steps": ["Compare", "Page"]}},
        },
        "evals": [{"suite": "golden", "dataset": "evals/golden.jsonl", "target": "c.app:rank"}],
        "retention": "200d",
    },
}


def as_(app: Watchkeeper, person: str, at: Any = T0) -> Operations:
    """`person` acting at `at`, every action decided as over the API."""
    return Operations(app, person, at, enforce=True)


def write(folder: Path, system: dict[str, Any], *, people: bool = False) -> str:
    """`system` as a manifest file (with the organisation first, for `people`); its path."""
    path = folder / "clinic.yaml"
    documents = (PEOPLE, system) if people else (system,)
    path.write_text("\n---\n".join(json.dumps(d) for d in documents), encoding="utf-8")
    return str(path)


def changed(title: str) -> dict[str, Any]:
    """CLINIC with another title: a change to the system."""
    return {**CLINIC, "metadata": {**CLINIC["metadata"], "title": title}}


def observe(app: Watchkeeper, obs_id: str, version: str, at: Any) -> None:
    item = {"id": obs_id, "ts": at.isoformat(), "output": "urgent", "model_version": version}
    Operations(app, "serving", at, enforce=False).ingest(SYSTEM, [item])


def open_clinic(app: Watchkeeper, folder: Path) -> int:
    """The system applied the day before T0, serving model v1, and its incident opened at T0 by
    a failing eval; the incident's number."""
    Operations(app, "setup", T0 - DAY, enforce=False).apply([write(folder, CLINIC, people=True)])
    observe(app, "o1", "v1", T0 - H)
    as_(app, QUINN, T0).eval_upload(SYSTEM, "golden", failing_run(3))
    [incident] = app.scheduler.tick(T0).to_dict()["incidents_opened"]
    return int(incident)


def events(app: Watchkeeper, incident: int, kind: str) -> list[dict[str, Any]]:
    """The details of the incident's events of one kind, each with its actor."""
    with app.store.read() as unit:
        return [
            {**e.detail, "_actor": e.actor}
            for e in unit.alerting.incident_events(incident)
            if e.kind == kind
        ]


def audited(app: Watchkeeper, action: str) -> list[dict[str, Any]]:
    with app.store.read() as unit:
        return [
            {"actor": e.actor, "target": e.target, "after": e.after, "reason": e.reason}
            for e in unit.audit_entries(system=SYSTEM)
            if e.action == action
        ]


def told(app: Watchkeeper, incident: int, purpose: str) -> set[str]:
    """Everyone a message of this purpose about the incident was addressed to."""
    with app.store.read() as unit:
        return {
            d.recipient
            for d in unit.alerting.deliveries(incident_id=incident)
            if d.purpose == purpose
        }
