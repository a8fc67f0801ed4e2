"""A small organisation with a month of history, made through the real services: manifests
applied, observations ingested, the scheduler ticked until an incident is open, the triage
queue scanned, tokens issued. The dashboard tests look at it in-process and in a browser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.clock import FixedClock

DAY = timedelta(days=1)
SYSTEM = "support-assistant"
OTHER = "claims-triage"  # nobody named as its data liaison
CHEN = "chen@corp.example"
PEOPLE = {
    "ana@corp.example": "Ana Alvarez",  # owner, quality monitor, kill authority: first paged
    "ben@corp.example": "Ben Brooks",  # retraining decider, second level
    "chen@corp.example": "Chen Wei",  # data liaison
    "dev@corp.example": "Dev Patel",  # kill authority, second level
    "uma@corp.example": "Uma Unrelated",  # holds nothing anywhere
    "ops@corp.example": "Ops Admin",
}


def people_doc(receiver: str | None) -> dict[str, object]:
    def channels(email: str) -> list[dict[str, str]]:
        if receiver is None:
            return []
        return [{"type": "webhook", "url": f"{receiver}/{email.split('@')[0]}"}]

    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [
            {"email": e, "name": n, "admin": e.startswith("ops@"), "channels": channels(e)}
            for e, n in PEOPLE.items()
        ],
    }


def system_doc(
    name: str, title: str, owner: str, decider: str, liaison: str | None
) -> dict[str, object]:
    return {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": name, "title": title, "tier": "high"},
        "spec": {
            "lifecycle": "live",
            "charter": {
                "owner": owner,
                "quality_monitor": owner,
                "retraining_decider": decider,
                "data_liaison": liaison,
                "kill_authority": [owner, "dev@corp.example"],
            },
            "upstream": [
                {
                    "name": "tickets",
                    "team": "support-data",
                    "contact": "chen@corp.example",
                    "contract": {"channel": {"type": "category", "values": ["email", "chat"]}},
                }
            ],
            "runbook": {
                "baseline": {"first": "7d"},
                "healthy": {"quality": {"min": 0.7}, "apology_rate": {"max": 0.2}},
                "signals": {
                    "quality": {"from": "observation", "field": "metadata.score", "window": "1d"},
                    "apology_rate": {"from": "output", "kind": "rate", "match": "(?i)sorry"},
                },
                "alerts": [
                    {
                        "name": "low-quality",
                        "signal": "quality",
                        "below": 0.5,
                        "severity": "critical",
                        "playbook": "retrain",
                    },
                    {"name": "upstream-break", "contract": "tickets", "severity": "warning"},
                ],
                "escalation": {
                    "levels": [
                        {"after": "0m", "notify": [owner]},
                        {"after": "30m", "notify": [decider, "dev@corp.example"]},
                    ]
                },
                "playbooks": {
                    "retrain": {"summary": "Quality fell", "steps": ["Compare with baseline"]}
                },
                "triage": {"rules": [{"name": "apology", "match": "(?i)sorry", "priority": 4}]},
            },
            "care": {"hours_per_month": 16},
            "kill_switch": {"fail_mode": "open", "fallback": "Route tickets to the human queue"},
        },
    }


@dataclass
class World:
    app: Watchkeeper
    clock: FixedClock
    tokens: dict[str, str]  # email -> API token
    incident: int
    triage_items: list[int]

    def token(self, email: str) -> str:
        return self.tokens[email]


def build_world(app: Watchkeeper, folder: Path, receiver: str | None = None) -> World:
    """Three weeks of healthy answers, then a bad day: the scheduler opens a critical incident
    and pages Ana; the apologies land in the triage queue; Ana has acknowledged her roles."""
    clock = app.clock
    assert isinstance(clock, FixedClock)
    start = clock.now()
    folder.mkdir(parents=True, exist_ok=True)
    docs = [
        people_doc(receiver),
        system_doc(SYSTEM, "Support assistant", "ana@corp.example", "ben@corp.example", CHEN),
        system_doc(OTHER, "Claims triage", "ben@corp.example", "ana@corp.example", None),
    ]
    paths = []
    for i, doc in enumerate(docs):
        path = folder / f"{i}.yaml"
        path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
        paths.append(str(path))
    ops = Operations(app, "ops@corp.example", start, enforce=False)
    ops.apply(paths)
    tokens = {email: ops.create_token(email)["token"] for email in PEOPLE}
    Operations(app, "ana@corp.example", start, enforce=True).ack(SYSTEM, "all")
    for day in range(22):
        bad = day == 21
        at = start + day * DAY
        items = [
            {
                "id": f"d{day}-{i}",
                "ts": (at + i * timedelta(minutes=30)).isoformat(),
                "inputs": {"channel": "phone" if bad and i == 0 else "email"},
                "output": "Sorry, I can't help with that." if bad and i < 3 else "Here is how.",
                "metadata": {"score": 0.3 if bad else 0.88 + (i % 5) / 100},
            }
            for i in range(12)
        ]
        app.ingest.observations(SYSTEM, items, at + DAY)
    now = clock.set(start + 22 * DAY + timedelta(minutes=5))
    app.scheduler.tick(now)
    app.triage.scan(now)
    open_incidents = app.alerting.list_incidents(SYSTEM, open_only=True)
    queue = app.triage.queue(SYSTEM, clock.now())
    assert open_incidents and queue, "the world needs an open incident and a triage queue"
    return World(app, clock, tokens, open_incidents[0]["id"], [q["id"] for q in queue])
