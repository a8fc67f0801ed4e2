"""Incidents, silences and metrics through the real HTTP app (the acknowledge link has its own
file: tests/server/test_ack_links.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server._world import Api, api_for
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.manifest import load_text
from watchkeeper.server import create_app
from watchkeeper.testing import T0, HttpReceiver, http_receiver

from .test_timeline import manifests

H = timedelta(hours=1)


@pytest.fixture
def incident_app(app: Watchkeeper) -> Iterator[tuple[Watchkeeper, Api, HttpReceiver, int]]:
    with http_receiver() as receiver:
        app.courier.secret, app.courier.public_url = "s3cret", "http://wk.example"
        app.charter.apply(load_text(manifests(receiver.url)), "ops", T0 - H)
        items = [
            {
                "id": f"o{i}",
                "ts": (T0 + i * timedelta(minutes=1)).isoformat(),
                "metadata": {"score": 0.1},
            }
            for i in range(5)
        ]
        app.ingest.observations("bot", items, T0 + H)
        app.clock.set(T0 + H)  # type: ignore[attr-defined]
        ops = Operations(app, "ops", T0 + H, enforce=False)
        [incident] = ops.tick()["incidents_opened"]
        token = Operations(app, "ops", T0, enforce=False).create_token("ana@corp.example")
        app.clock.set(T0 + 2 * H)  # type: ignore[attr-defined]
        for api in api_for(create_app(app)):
            api.token = token["token"]  # type: ignore[attr-defined]
            yield app, api, receiver, incident


def test_incident_routes_and_validation(incident_app: tuple) -> None:
    _, api, _, incident = incident_app
    listed = api("GET", "/api/v1/incidents?open=true", token=api.token).json()
    assert [i["id"] for i in listed] == [incident]
    assert api("GET", "/api/v1/incidents").status_code == 401
    bad = api("POST", "/api/v1/silences", token=api.token, json={"hours": -1, "reason": ""})
    assert bad.status_code == 400
    ok = api(
        "POST",
        "/api/v1/silences",
        token=api.token,
        json={"system": "bot", "matchers": {"rule": "low-*"}, "hours": 2, "reason": "fixing"},
    )
    assert ok.status_code == 201
    resolved = api(
        "POST",
        f"/api/v1/incidents/{incident}/resolve",
        token=api.token,
        json={"reason": "rolled back"},
    )
    assert resolved.json()["status"] == "resolved"


def test_metrics_parse_with_the_official_parser(incident_app: tuple) -> None:
    _, api, _, _ = incident_app
    response = api("GET", "/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert {
        "watchkeeper_open_incidents",
        "watchkeeper_switch_enabled",
        "watchkeeper_vacuum_score",
        "watchkeeper_signal_value",
    } <= set(families)
    incidents = {
        s.labels["severity"]: s.value for s in families["watchkeeper_open_incidents"].samples
    }
    assert incidents == {"critical": 1.0}
    [quality] = [
        s for s in families["watchkeeper_signal_value"].samples if s.labels["signal"] == "quality"
    ]
    assert quality.value == pytest.approx(0.1)
