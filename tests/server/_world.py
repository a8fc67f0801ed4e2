"""A small organisation whose roles do not overlap, so each authorization rule is seen alone,
plus ways to talk to the real app: in-process over HTTP, or over a real socket."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from watchkeeper.app import Operations, Watchkeeper

SYSTEM = "triage-bot"
PEOPLE_YAML = """\
apiVersion: watchkeeper/v1
kind: People
people:
  - {email: olga@corp.example, name: Olga Owner}
  - {email: quinn@corp.example, name: Quinn Quality}
  - {email: rita@corp.example, name: Rita Retrain}
  - {email: dan@corp.example, name: Dan Data}
  - {email: kim@corp.example, name: Kim Kill}
  - {email: tess@corp.example, name: Tess Oncall}
  - {email: uma@corp.example, name: Uma Unrelated}
  - {email: adam@corp.example, name: Adam Admin, admin: true}
  - {email: ivy@corp.example, name: Ivy Leaver}
  - {email: zed@corp.example, name: Zed Spare}
teams:
  - {name: oncall, members: [tess@corp.example]}
"""
SYSTEM_YAML = """\
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {name: triage-bot, title: Ticket triage, tier: high}
spec:
  lifecycle: live
  charter:
    owner: olga@corp.example
    quality_monitor: quinn@corp.example
    retraining_decider: rita@corp.example
    data_liaison: dan@corp.example
    kill_authority: [kim@corp.example, oncall, ivy@corp.example]
  runbook:
    healthy: {accuracy: {min: 0.9}}
    signals: {accuracy: {from: eval, suite: golden}}
    alerts:
      - {name: harm, signal: accuracy, below: 0.5, severity: critical, playbook: harm}
      - {name: drop, signal: accuracy, drop: 20%, severity: critical, playbook: drop}
    escalation:
      levels:
        - {after: 0m, notify: [olga@corp.example]}
        - {after: 30m, notify: [kim@corp.example]}
    playbooks:
      harm: {summary: Harmful output, steps: [Disable, Page], auto_disable: true}
      drop: {summary: Quality drop, steps: [Compare with baseline]}
  evals:
    - {suite: golden, dataset: evals/golden.jsonl, target: "triage.app:answer", every: 7d}
  care: {hours_per_month: 8}
  kill_switch: {fail_mode: closed, fallback: Send every ticket to a person}
"""
# One person per role, each holding only that role.
ROLES = {
    "owner": "olga@corp.example",
    "kill_authority": "kim@corp.example",
    "kill_authority_via_team": "tess@corp.example",
    "other_role_holder": "quinn@corp.example",
    "unrelated": "uma@corp.example",
    "admin": "adam@corp.example",
    "inactive": "ivy@corp.example",
}


@dataclass
class World:
    app: Watchkeeper
    folder: Path
    tokens: dict[str, str]  # email -> API token

    def token(self, role: str) -> str:
        return self.tokens[ROLES[role]]

    @property
    def people_file(self) -> Path:
        return self.folder / "people.yaml"

    @property
    def system_file(self) -> Path:
        return self.folder / "watchkeeper.yaml"


def build_world(app: Watchkeeper, folder: Path) -> World:
    """Apply the organisation, issue everyone a token, then let Ivy leave (her token stays)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.yaml").write_text(PEOPLE_YAML, encoding="utf-8")
    (folder / "watchkeeper.yaml").write_text(SYSTEM_YAML, encoding="utf-8")
    now = app.clock.now()
    setup = Operations(app, "setup@corp.example", now, enforce=False)
    setup.apply([str(folder / "people.yaml"), str(folder / "watchkeeper.yaml")])
    with app.store.read() as unit:
        emails = [p.email for p in unit.people()]
    tokens = {email: setup.create_token(email)["token"] for email in emails}
    setup.deactivate(ROLES["inactive"])
    return World(app, folder, tokens)


class Api:
    """The real app over in-process HTTP (httpx's ASGI transport), called synchronously."""

    def __init__(self, server: FastAPI) -> None:
        self._portal_context = start_blocking_portal()
        self._portal: BlockingPortal = self._portal_context.__enter__()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server), base_url="http://watchkeeper"
        )

    def __call__(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        send = functools.partial(self._client.request, method, path, headers=headers, **kwargs)
        return self._portal.call(send)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_context.__exit__(None, None, None)


def api_for(server: FastAPI) -> Iterator[Api]:
    api = Api(server)
    try:
        yield api
    finally:
        api.close()


def eval_run(
    cases: list[dict[str, Any]], *, passed: int, mean_score: float, pass_rate: float
) -> dict[str, Any]:
    """A run of SYSTEM_YAML's `golden` suite as `wk eval run` uploads it: these cases, and a
    summary of them with no errors, timeouts, tags or labels."""
    return {
        "format": 1,
        "started_at": "2020-01-01T00:00:00+00:00",
        "duration_ms": 3.0,
        "dataset": "evals/golden.jsonl",
        "dataset_sha256": "0" * 64,
        "target": "triage.app:answer",
        "scorer": "exact_match",
        "scorer_options": {},
        "model_version": None,
        "summary": {
            "count": len(cases),
            "passed": passed,
            "errors": 0,
            "timeouts": 0,
            "mean_score": mean_score,
            "pass_rate": pass_rate,
            "by_tag": {},
            "labels": None,
        },
        "cases": cases,
    }


def failing_run(count: int = 10, tags: tuple[str, ...] = ()) -> dict[str, Any]:
    """A run of `count` cases that all failed (the model answered "spam" to a billing ticket)."""
    case = {
        "input": "ticket",
        "expected": "billing",
        "output": "spam",
        "score": 0.0,
        "passed": False,
        "detail": "",
        "error": None,
        "timed_out": False,
        "duration_ms": 1.0,
        "tags": list(tags),
    }
    cases = [{**case, "id": f"c{i}"} for i in range(count)]
    return eval_run(cases, passed=0, mean_score=0.0, pass_rate=0.0)


def rehearsed(app: Watchkeeper, manifest_text: str) -> None:
    """Record that the quality-drop rehearsal of this manifest passed, as `wk rehearse` would
    have: for tests of what reads rehearsals (the gate), not of the rehearsal itself."""
    from tests.charter.samples import record_rehearsal
    from watchkeeper.manifest import load_text

    with app.store.read() as unit:
        people = [p.email for p in unit.people()]
        teams = [t.name for t in unit.teams()]
    [system] = load_text(manifest_text, known_people=people, known_teams=teams).systems
    record_rehearsal(app.store, system, app.clock.now())
