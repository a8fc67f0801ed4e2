"""OTLP/HTTP traces: the real OpenTelemetry exporter (protobuf, gzip) against a real socket, and
OTLP/JSON in-process — LLM spans become observations, refused spans are counted and kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from tests.server._world import SYSTEM, Api, World
from watchkeeper.server import LiveServer


@pytest.fixture
def live(world: World) -> Iterator[LiveServer]:
    with LiveServer(world.app) as server:
        yield server


def chat(provider: TracerProvider, question: str, answer: str) -> None:
    """An instrumented fake LLM call: the attributes a GenAI instrumentation sets."""
    tracer = provider.get_tracer("fake-openai")
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        span.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
        span.set_attribute("gen_ai.usage.input_tokens", 42)
        span.set_attribute("gen_ai.usage.output_tokens", 7)
        messages = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
        span.set_attribute("gen_ai.input.messages", json.dumps(messages))
        reply = [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
        span.set_attribute("gen_ai.output.messages", json.dumps(reply))
        span.set_attribute("gen_ai.response.finish_reasons", ["stop"])
    with tracer.start_as_current_span("SELECT orders"):
        pass  # not an LLM call: ignored


def export(url: str, token: str, service: str, compression: Compression) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces",
        headers={"Authorization": f"Bearer {token}"},
        compression=compression,
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_real_exporter_delivers_llm_calls_as_observations(
    world: World, live: LiveServer, compression: Compression
) -> None:
    # The exporter stamps spans with the wall clock; the server's clock must not lag it by
    # months, or the spans are from its future and refused.
    world.app.clock.set(datetime.now(UTC))  # type: ignore[attr-defined]
    provider = export(live.url, world.token("other_role_holder"), SYSTEM, compression)
    chat(provider, "Where is my order?", "It ships today.")
    chat(provider, "Can I return it?", "Within 30 days.")
    provider.shutdown()
    with world.app.store.read() as unit:
        stored = unit.ingest.observations(SYSTEM, world.app.clock.now().replace(year=2000), _far())
    assert [(o.inputs["prompt"], o.output) for o in stored] == [
        ("Where is my order?", "It ships today."),
        ("Can I return it?", "Within 30 days."),
    ]
    first = stored[0]
    assert first.model_version == "gpt-4o-2024-08-06"
    assert first.metadata["input_tokens"] == 42 and first.metadata["output_tokens"] == 7
    assert first.metadata["provider"] == "openai" and first.metadata["source"] == "otlp"
    assert first.inputs["messages"][0]["role"] == "user"
    assert first.id == f"{first.metadata['trace_id']}:{first.metadata['span_id']}"
    assert len(first.metadata["trace_id"]) == 32 and first.latency_ms is not None


def test_the_exporter_with_an_unknown_service_or_a_bad_token_stores_no_observation(
    world: World, live: LiveServer
) -> None:
    provider = export(
        live.url, world.token("other_role_holder"), "not-applied-yet", Compression.Gzip
    )
    chat(provider, "Hello?", "Hi.")
    provider.shutdown()
    intruder = export(live.url, "wk_wrong", SYSTEM, Compression.NoCompression)
    chat(intruder, "Hello?", "Hi.")
    intruder.shutdown()
    with world.app.store.read() as unit:
        assert unit.ingest.observation_count(SYSTEM) == 0
        [letter] = unit.ingest.dead_letters("not-applied-yet")
    assert letter.source == "otlp" and "unknown system 'not-applied-yet'" in letter.reason
    assert letter.raw["name"] == "chat gpt-4o"


def _far() -> Any:
    from datetime import UTC, datetime

    return datetime(2100, 1, 1, tzinfo=UTC)


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def span(span_id: str, attributes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "name": f"span {span_id}",
        "kind": 3,
        "startTimeUnixNano": "1767600000000000000",
        "endTimeUnixNano": "1767600000250000000",
        "attributes": attributes,
        **extra,
    }


def otlp_json(service: str, spans: list[Any]) -> dict[str, Any]:
    resource = {"attributes": [attr("service.name", service)]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}


def test_otlp_json_answers_with_partial_success_and_keeps_what_it_refused(
    api: Api, world: World
) -> None:
    llm = [attr("gen_ai.system", "anthropic"), attr("gen_ai.usage.prompt_tokens", 5)]
    body = otlp_json(
        SYSTEM,
        [
            span("eee19b7ec3c1b174", [*llm, attr("input.value", "Hi"), attr("output.value", "Yo")]),
            span("aaa19b7ec3c1b174", [*llm, attr("llm.model_name", 3)]),  # model not a string
            span("bbb19b7ec3c1b174", llm, startTimeUnixNano="soon"),  # unreadable
            span("ccc19b7ec3c1b174", [attr("db.system", "postgresql")]),  # not an LLM call
        ],
    )
    answer = api("POST", "/v1/traces", world.token("other_role_holder"), json=body)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert (
        "span 'span aaa19b7ec3c1b174': model_version: must be a string" in partial["errorMessage"]
    )
    assert "span 'span bbb19b7ec3c1b174': not a valid OTLP span" in partial["errorMessage"]
    with world.app.store.read() as unit:
        [stored] = unit.ingest.observations_by_id(
            SYSTEM, ["5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174"]
        )
        letters = unit.ingest.dead_letters(SYSTEM)
    assert (stored.inputs["prompt"], stored.output, stored.latency_ms) == ("Hi", "Yo", 250.0)
    assert sorted(d.source for d in letters) == ["otlp", "otlp"]
    clean = api("POST", "/v1/traces", world.token("other_role_holder"), json=otlp_json(SYSTEM, []))
    assert clean.json() == {}


def test_otlp_errors_come_in_the_request_content_type(api: Api, world: World) -> None:
    token = world.token("other_role_holder")
    bad_json = api("POST", "/v1/traces", token, json={"resourceSpans": {"not": "a list"}})
    assert bad_json.status_code == 400
    assert bad_json.json() == {"code": 3, "message": "resourceSpans must be a list"}
    protobuf = {"Content-Type": "application/x-protobuf"}
    garbage = api("POST", "/v1/traces", token, content=b"\xff\xff\xff", headers=protobuf)
    assert garbage.status_code == 400
    assert garbage.headers["content-type"] == "application/x-protobuf"
    unauthenticated = api("POST", "/v1/traces", "wk_wrong", content=b"", headers=protobuf)
    assert unauthenticated.status_code == 401
    assert unauthenticated.content.startswith(b"\x08\x10\x12")  # google.rpc.Status, code 16
    assert b"unknown API token" in unauthenticated.content
    text = api("POST", "/v1/traces", token, content=b"x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    empty = api("POST", "/v1/traces", token, content=b"", headers=protobuf)
    assert empty.status_code == 200
    assert json_format.MessageToDict(ExportTraceServiceResponse.FromString(empty.content)) == {}
    with world.app.store.read() as unit:
        assert (unit.ingest.observation_count(SYSTEM), unit.ingest.dead_letters(SYSTEM)) == (0, [])


def test_metrics_count_what_was_taken_in_per_system_and_outcome(api: Api, world: World) -> None:
    """/metrics says per system what ingest stored, skipped as duplicate, refused, and what
    OTLP spans named no applied system — what a platform team charts when data goes missing."""
    from prometheus_client.parser import text_string_to_metric_families

    token = world.token("other_role_holder")
    llm = [
        attr("gen_ai.system", "anthropic"),
        attr("input.value", "Hi"),
        attr("output.value", "Yo"),
    ]
    ok = span("eee19b7ec3c1b174", llm)
    assert api("POST", "/v1/traces", token, json=otlp_json(SYSTEM, [ok])).status_code == 200
    assert api("POST", "/v1/traces", token, json=otlp_json(SYSTEM, [ok])).status_code == 200
    bad = span("aaa19b7ec3c1b174", [*llm, attr("llm.model_name", 3)])
    assert api("POST", "/v1/traces", token, json=otlp_json(SYSTEM, [bad])).status_code == 200
    stray = otlp_json("not-applied-yet", [span("fff19b7ec3c1b174", llm)])
    assert api("POST", "/v1/traces", token, json=stray).status_code == 200
    text = api("GET", "/metrics").text
    [family] = [
        f for f in text_string_to_metric_families(text) if f.name == "watchkeeper_ingested_items"
    ]
    counted = {
        (s.labels["system"], s.labels["source"], s.labels["outcome"]): s.value
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert counted == {
        (SYSTEM, "otlp", "stored"): 1.0,
        (SYSTEM, "otlp", "duplicate"): 1.0,
        (SYSTEM, "otlp", "rejected"): 1.0,
        ("not-applied-yet", "otlp", "unknown_system"): 1.0,
    }
