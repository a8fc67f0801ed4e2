"""/openapi.json says what the server really returns: every JSON route, called in a real app
through a day of work, answers with a body its own declared schema accepts — with every object
closed to undeclared properties. Output models pass unknown keys through (they never drop what
a service returns), so a model that leaves out a key fails here, as does one that declares a key
or a type the service does not give (FastAPI answers that with a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from tests.server._world import (
    SYSTEM,
    SYSTEM_YAML,
    Api,
    World,
    api_for,
    build_world,
    failing_run,
)
from watchkeeper.app import build
from watchkeeper.clock import FixedClock
from watchkeeper.scheduler import LEASE, TickReport
from watchkeeper.server import create_app
from watchkeeper.server._models import HealthOut
from watchkeeper.settings import Settings
from watchkeeper.store import Store

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

DEMO_EVALS = Path(__file__).parent.parent.parent / "src" / "watchkeeper" / "cli" / "demo" / "evals"
TRIAGE_SUITE = '    - {suite: golden, dataset: evals/golden.jsonl, target: "triage.app:answer"'
DEMO_SUITE = (
    f'    - {{suite: golden, dataset: "{DEMO_EVALS / "golden.jsonl"}", '
    'target: "watchkeeper.cli.demo.evals.support_bot:answer"'
)
JSON = "application/json"
# Pages for a person's browser, opened from a notification (tests/server/test_ack_links.py).
PAGES = {
    ("get", "/api/v1/incidents/{incident_id}/ack"),
    ("post", "/api/v1/incidents/{incident_id}/ack/confirm"),
}
# called by Slack and PagerDuty with bodies signed by a configured secret; their answers are
# checked in tests/server/test_slack_actions.py and test_pagerduty_webhook.py
INTEGRATIONS = {
    ("post", "/api/v1/integrations/slack/actions"),
    ("post", "/api/v1/integrations/pagerduty/webhook"),
}


def closed(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to any others."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: closed(value) for key, value in schema.items()}
    if "properties" in schema and isinstance(schema["properties"], dict):
        tightened["additionalProperties"] = False
    return tightened


def _shaped(schema: dict[str, Any]) -> bool:
    """Whether a schema names the object (or the objects of a list) it describes: a model's
    `$ref`, or properties spelled out — not `{}` or any object at all."""
    if schema.get("type") == "array":
        return _shaped(schema.get("items", {}))
    return "$ref" in schema or bool(schema.get("properties"))


@dataclass
class Checked:
    """Calls routes as named people and checks each answer against the document."""

    api: Api
    world: World
    document: dict[str, Any]
    called: set[tuple[str, str]] = field(default_factory=set)

    def __call__(
        self, method: str, template: str, role: str | None = "admin", **kwargs: Any
    ) -> Any:
        params = {
            k: kwargs.pop(k)
            for k in ("name", "email", "token", "incident_id", "item_id", "change")
            if k in kwargs
        }
        token = self.world.token(role) if role else None
        response = self.api(method, template.format(**params), token, **kwargs)
        assert response.status_code in (200, 201), (method, template, response.text)
        self.validate(method, template, response)
        return response.json()

    def validate(self, method: str, template: str, response: httpx.Response) -> None:
        declared = self.document["paths"][template][method.lower()]["responses"]
        answer = declared[str(response.status_code)]
        assert response.headers["content-type"].startswith(JSON), (method, template)
        declared_schema = answer["content"][JSON]["schema"]
        assert _shaped(declared_schema), (method, template, "declares no shape", declared_schema)
        schema = {
            **closed(declared_schema),
            "components": closed(self.document["components"]),
        }
        errors = [
            f"{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in jsonschema_rs.validator_for(schema).iter_errors(response.json())
        ]
        assert not errors, (method, template, errors[:5])
        self.called.add((method.lower(), template))

    def json_operations(self) -> set[tuple[str, str]]:
        """Every operation whose success the document says is JSON."""
        return {
            (method, path)
            for path, operations in self.document["paths"].items()
            for method, operation in operations.items()
            for status, answer in operation["responses"].items()
            if status.startswith("2") and JSON in answer.get("content", {})
        }


@pytest.fixture
def checked(store: Store, clock: FixedClock, tmp_path: Path) -> Iterator[Checked]:
    """A server whose operator allows the demo's eval package, so its eval route can answer."""
    settings = Settings(eval_modules=("watchkeeper.cli.demo.evals",), eval_data=(str(DEMO_EVALS),))
    app = build(settings, store=store, clock=clock)
    world = build_world(app, tmp_path / "org")
    for api in api_for(create_app(app)):
        yield Checked(api, world, api("GET", "/openapi.json").json())


def test_every_json_route_answers_as_its_model_says(checked: Checked, clock: FixedClock) -> None:
    call = checked
    call("GET", "/healthz", None)
    call("GET", "/readyz", None)
    manifest = SYSTEM_YAML.replace(TRIAGE_SUITE, DEMO_SUITE)
    assert DEMO_SUITE in manifest
    call("POST", "/api/v1/apply", json={"files": [{"name": "system.yaml", "text": manifest}]})

    # the charter, the switch, people and tokens
    call("POST", "/api/v1/systems/{name}/acks", "owner", name=SYSTEM, json={"role": "all"})
    files = {"files": [{"name": "system.yaml", "text": manifest}]}
    call("POST", "/api/v1/gate", "owner", json=files)
    call("GET", "/api/v1/systems")
    call("GET", "/api/v1/systems/{name}", name=SYSTEM)
    call("GET", "/api/v1/vacuum")
    report = {"Watchkeeper-Process": "p" * 32, "Watchkeeper-Holds": "0", "Watchkeeper-Pid": "7"}
    call("GET", "/api/v1/systems/{name}/switch", name=SYSTEM, headers=report)
    checked.world.app.switch.drain(timeout=5)  # the report stored: a straggler of the flips
    for state, wait in (("disabled", 0.1), ("enabled", 0), ("enabled", 0)):
        body = {"state": state, "reason": "drill"}
        call(
            "POST",
            "/api/v1/systems/{name}/switch",
            "kill_authority",
            name=SYSTEM,
            json=body,
            params={"wait": wait},
        )
    call("GET", "/api/v1/systems/{name}/switch/confirmations", name=SYSTEM)
    drill = {"reason": "quarterly drill"}
    path = "/api/v1/systems/{name}/switch/drill"
    call("POST", path, "kill_authority", name=SYSTEM, json=drill, params={"wait": 1})
    call("GET", "/api/v1/systems/{name}/switch/drills", name=SYSTEM)
    call("POST", "/api/v1/systems/{name}/rehearsals", "owner", name=SYSTEM, json={"budget": 30})
    call("GET", "/api/v1/systems/{name}/rehearsals", name=SYSTEM)
    issued = call("POST", "/api/v1/tokens", json={"email": "zed@corp.example", "expires": "1d"})
    call("GET", "/api/v1/tokens")
    call("POST", "/api/v1/tokens/{token}/revoke", token=str(issued["id"]))
    for change in ("deactivate", "reactivate"):
        call("POST", f"/api/v1/people/{{email}}/{change}", email="zed@corp.example")

    # evals: run on the server, then a failing run uploaded (diffed against the first)
    call("GET", "/api/v1/systems/{name}/evals", "owner", name=SYSTEM)
    call("POST", "/api/v1/systems/{name}/evals", "owner", name=SYSTEM, json={})
    clock.set(clock.now() + timedelta(hours=1))
    upload = {"suite": "golden", "run": failing_run(tags=("billing",))}
    call("POST", "/api/v1/systems/{name}/evals/runs", "owner", name=SYSTEM, json=upload)

    # observations in, one of them refused
    items = [
        {
            "id": "o1",
            "ts": clock.now().isoformat(),
            "inputs": {"q": "refund?"},
            "output": "billing",
            "latency_ms": 12.5,
        },
        {"latency_ms": -1},
    ]
    call("POST", "/api/v1/systems/{name}/observations", "owner", name=SYSTEM, json=items)
    feedback = {"observation_id": "o1", "label": "billing", "thumbs_up": True}
    call("POST", "/api/v1/systems/{name}/feedback", "owner", name=SYSTEM, json=feedback)
    flag = {"observation_id": "o1", "reason": "looks wrong"}
    call("POST", "/api/v1/systems/{name}/flags", "owner", name=SYSTEM, json=flag)
    letters = call("GET", "/api/v1/systems/{name}/dead-letters", "owner", name=SYSTEM)
    assert letters, "the refused observation is kept as a dead letter"
    seen = call("GET", "/api/v1/systems/{name}/observations", "owner", name=SYSTEM)
    assert [o["id"] for o in seen["observations"]] == ["o1"], "with its feedback"
    assert seen["observations"][0]["feedback"]["label"] == "billing"
    plan = call("GET", "/api/v1/systems/{name}/profiling", "owner", name=SYSTEM)
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    profiled = {"key": "day", "window_start": day.isoformat(),
                "window_end": (day + timedelta(days=1)).isoformat(), "rows": 3,
                "state": {"rows": 3, "last": day.isoformat()}, "origin": "lake-files"}  # fmt: skip
    call(
        "POST", "/api/v1/systems/{name}/partials", "owner", name=SYSTEM, json={"items": [profiled]}
    )
    assert plan["manifest"]["metadata"]["name"] == SYSTEM
    call("POST", "/v1/traces", "owner", json={"resourceSpans": []})

    # the scheduler finds the failing evals and opens an incident
    clock.set(clock.now() + timedelta(hours=2))
    [incident] = call("POST", "/api/v1/tick")["incidents_opened"]
    assert call("GET", "/api/v1/findings")
    call("POST", "/api/v1/systems/{name}/check", name=SYSTEM)
    call("GET", "/api/v1/systems/{name}/signals", "owner", name=SYSTEM)
    call("GET", "/api/v1/incidents")
    call("GET", "/api/v1/incidents/{incident_id}", incident_id=incident)
    for step, body in (("ack", None), ("serious", {"category": "d"}), ("resolve", {})):
        path = f"/api/v1/incidents/{{incident_id}}/{step}"
        call("POST", path, "owner", incident_id=incident, json=body)
    # the evidence hold: a new model version is a change to justify; the report, then sent
    served = [{"id": "o9", "ts": clock.now().isoformat(), "output": "x", "model_version": "v9"}]
    call("POST", "/api/v1/systems/{name}/observations", "owner", name=SYSTEM, json=served)
    timeline = call("GET", "/api/v1/incidents/{incident_id}", incident_id=incident)["timeline"]
    [change] = [e["detail"]["change"] for e in timeline if e["kind"] == "hold.change"]
    path = "/api/v1/incidents/{incident_id}/changes/{change}/justification"
    why = {"text": "the vendor's hotfix"}
    call("POST", path, "owner", incident_id=incident, change=str(change), json=why)
    call("GET", "/api/v1/incidents/{incident_id}/report", "owner", incident_id=incident)
    path = "/api/v1/incidents/{incident_id}/report/submitted"
    call("POST", path, "owner", incident_id=incident, json={"reference": "MSA-1"})
    silence = {"system": SYSTEM, "matchers": {"rule": "harm"}, "hours": 2, "reason": "fixing"}
    call("POST", "/api/v1/silences", json=silence)

    # care, knowledge and triage
    call("GET", "/api/v1/systems/{name}/report", "owner", name=SYSTEM)
    review = {"verdict": "concerns", "notes": "accuracy fell"}
    call("POST", "/api/v1/systems/{name}/reviews", "owner", name=SYSTEM, json=review)
    care = {"hours": 1.5, "kind": "maintenance", "note": "re-labelled"}
    call("POST", "/api/v1/systems/{name}/care", "owner", name=SYSTEM, json=care)
    call("GET", "/api/v1/systems/{name}/care", "owner", name=SYSTEM)
    fields = {"context": "accuracy fell", "decision": "retrain", "consequences": "a week"}
    record = {"kind": "decision", "title": "Retrain", "fields": fields, "incident_id": incident}
    call("POST", "/api/v1/systems/{name}/knowledge", "owner", name=SYSTEM, json=record)
    call("GET", "/api/v1/systems/{name}/knowledge", "owner", name=SYSTEM)
    [item] = call("GET", "/api/v1/systems/{name}/triage", "owner", name=SYSTEM)
    verdict = {"verdict": "wrong", "label": "refund", "tags": ["billing"], "note": "not billing"}
    call("POST", "/api/v1/triage/{item_id}/verdict", "owner", item_id=item["id"], json=verdict)

    call("GET", "/api/v1/audit")
    call("GET", "/api/v1/audit/verify")
    period = {"from": "2020-01-01", "to": (clock.now() + timedelta(days=1)).isoformat()}
    bundle = call("POST", "/api/v1/systems/{name}/evidence", "owner", name=SYSTEM, json=period)
    call("GET", "/api/v1/evidence/origin", params={"seq": bundle["chain"]["head"]["seq"]})
    assert checked.json_operations() - PAGES - INTEGRATIONS - checked.called == set()


def test_a_tick_that_did_not_run_answers_without_job_lines(checked: Checked) -> None:
    """Another process holds the tick: the answer has no line for any job, as documented."""
    now = checked.world.app.clock.now()
    with checked.world.app.store.write() as unit:
        assert unit.alerting.acquire_lease(LEASE, "elsewhere", now, now + timedelta(minutes=5))
    assert checked("POST", "/api/v1/tick") == TickReport(now, ran=False).to_dict()


def test_a_closed_schema_refuses_an_undeclared_key() -> None:
    """The check above can fail: a key the schema does not declare is refused, at any depth."""
    schema = closed(
        {
            "type": "object",
            "properties": {"a": {"$ref": "#/components/schemas/B"}},
            "components": {"schemas": {"B": {"type": "object", "properties": {"c": {}}}}},
        }
    )
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid({"a": {"c": 1}})
    assert not validator.is_valid({"a": {"c": 1, "d": 2}})
    assert not validator.is_valid({"a": {"c": 1}, "e": 3})


def test_an_output_model_keeps_what_the_service_returns() -> None:
    """Unknown keys pass through an output model (and the test above then fails on them), so
    client mode never silently loses a key local mode shows."""
    assert HealthOut.model_validate({"status": "ok", "new": 1}).model_dump() == {
        "status": "ok",
        "new": 1,
    }
