"""LLM spans in each convention map to the same observation shape."""

from __future__ import annotations

import json
from typing import Any

from watchkeeper.ingest.otlp import map_request


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def request(
    span_attrs: list[dict[str, Any]],
    events: list[dict[str, Any]] | None = None,
    service: str = "support-assistant",
) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", service)]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "chat gpt-4o",
                                "kind": 3,
                                "startTimeUnixNano": "1767600000000000000",
                                "endTimeUnixNano": "1767600000250000000",
                                "attributes": span_attrs,
                                "events": events or [],
                            },
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "aaa",
                                "name": "db query",
                                "attributes": [attr("db.system", "postgresql")],
                            },
                        ]
                    }
                ],
            }
        ]
    }


def only(result: Any) -> dict[str, Any]:
    assert result.ignored == 1 and result.refused == 0
    [mapped] = result.spans
    assert mapped.system == "support-assistant"
    return mapped.item


def test_current_genai_conventions() -> None:
    item = only(
        map_request(
            request(
                [
                    attr("gen_ai.operation.name", "chat"),
                    attr("gen_ai.provider.name", "openai"),
                    attr("gen_ai.request.model", "gpt-4o"),
                    attr("gen_ai.response.model", "gpt-4o-2024-08-06"),
                    attr("gen_ai.usage.input_tokens", 42),
                    attr("gen_ai.usage.output_tokens", 7),
                    attr(
                        "gen_ai.input.messages",
                        json.dumps(
                            [
                                {
                                    "role": "user",
                                    "parts": [{"type": "text", "content": "Where is my order?"}],
                                }
                            ]
                        ),
                    ),
                    attr(
                        "gen_ai.output.messages",
                        json.dumps(
                            [
                                {
                                    "role": "assistant",
                                    "parts": [{"type": "text", "content": "It ships today."}],
                                }
                            ]
                        ),
                    ),
                ]
            ),
            {"support-assistant"},
        )
    )
    assert item["id"] == "5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174"
    assert item["model_version"] == "gpt-4o-2024-08-06"
    assert item["inputs"]["prompt"] == "Where is my order?"
    assert item["output"] == "It ships today."
    assert item["latency_ms"] == 250.0
    assert item["metadata"]["input_tokens"] == 42 and item["metadata"]["output_tokens"] == 7
    assert item["metadata"]["provider"] == "openai"


def test_deprecated_attributes_and_events() -> None:
    events = [
        {
            "name": "gen_ai.content.prompt",
            "attributes": [
                attr("gen_ai.prompt", json.dumps([{"role": "user", "content": "Refund please"}]))
            ],
        },
        {
            "name": "gen_ai.content.completion",
            "attributes": [
                attr(
                    "gen_ai.completion",
                    json.dumps([{"role": "assistant", "content": "I can't help with refunds."}]),
                )
            ],
        },
    ]
    item = only(
        map_request(
            request(
                [
                    attr("gen_ai.system", "openai"),
                    attr("gen_ai.request.model", "gpt-3.5-turbo"),
                    attr("gen_ai.usage.prompt_tokens", 5),
                    attr("gen_ai.usage.completion_tokens", 9),
                ],
                events,
            ),
            {"support-assistant"},
        )
    )
    assert item["inputs"]["prompt"] == "Refund please"
    assert item["output"] == "I can't help with refunds."
    assert item["metadata"]["input_tokens"] == 5 and item["metadata"]["provider"] == "openai"


def test_message_and_choice_events() -> None:
    events = [
        {"name": "gen_ai.user.message", "attributes": [attr("content", "Hi")]},
        {
            "name": "gen_ai.choice",
            "attributes": [attr("message", json.dumps({"role": "assistant", "content": "Hello!"}))],
        },
    ]
    item = only(
        map_request(request([attr("gen_ai.system", "anthropic")], events), {"support-assistant"})
    )
    assert item["inputs"]["prompt"] == "Hi" and item["output"] == "Hello!"


def test_openinference_conventions() -> None:
    item = only(
        map_request(
            request(
                [
                    attr("openinference.span.kind", "LLM"),
                    attr("llm.model_name", "claude-3-5-sonnet"),
                    attr("llm.token_count.prompt", 11),
                    attr("llm.token_count.completion", 3),
                    attr("llm.input_messages.0.message.role", "system"),
                    attr("llm.input_messages.0.message.content", "Be brief."),
                    attr("llm.input_messages.1.message.role", "user"),
                    attr("llm.input_messages.1.message.content", "Status?"),
                    attr("llm.output_messages.0.message.content", "Shipped."),
                ]
            ),
            {"support-assistant"},
        )
    )
    assert item["model_version"] == "claude-3-5-sonnet"
    assert item["inputs"]["prompt"] == "Status?"
    assert [m["role"] for m in item["inputs"]["messages"]] == ["system", "user"]
    assert item["output"] == "Shipped."
    assert item["metadata"]["input_tokens"] == 11


def test_unknown_system_is_refused_with_a_reason() -> None:
    result = map_request(request([attr("gen_ai.system", "openai")], service="nope"), {"bot"})
    assert result.refused == 1 and not result.spans
    assert "unknown system 'nope'" in result.errors[0]
