"""OTLP/HTTP traces -> observations: spans of LLM calls become one observation each.

Works on the OTLP/JSON shape (hex ids, integer enums); protobuf requests are decoded into the same
shape first. Spans that are not LLM calls are ignored (not refused); LLM spans of a system we do
not know are refused and counted, as OTLP's partialSuccess expects.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from watchkeeper.ingest import semconv

ValueMap = dict[str, Any]


@dataclass(frozen=True)
class MappedSpan:
    system: str
    item: dict[str, Any]


@dataclass
class MappedRequest:
    spans: list[MappedSpan] = field(default_factory=list)
    ignored: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)


def any_value(value: Mapping[str, Any] | None) -> Any:
    """OTLP AnyValue -> Python (intValue arrives as text in OTLP/JSON)."""
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: Iterable[Mapping[str, Any]]) -> ValueMap:
    return {item["key"]: any_value(item.get("value")) for item in items if "key" in item}


def hex_id(value: str | None) -> str:
    """OTLP/JSON ids are hex; protobuf-to-dict gives base64. Normalise to hex."""
    if not value:
        return ""
    try:
        int(value, 16)
        return value.lower()
    except ValueError:
        return base64.b64decode(value).hex()


def _first(attrs: ValueMap, names: Iterable[str]) -> Any:
    return next((attrs[n] for n in names if attrs.get(n) is not None), None)


def _indexed(attrs: ValueMap, prefixes: Iterable[str]) -> list[dict[str, Any]]:
    """`llm.input_messages.0.message.role` / `gen_ai.prompt.0.content` -> ordered messages."""
    messages: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        for prefix in prefixes:
            if not key.startswith(prefix):
                continue
            index, _, rest = key[len(prefix) :].partition(".")
            if not index.isdigit():
                continue
            name = rest.removeprefix("message.")
            if name in ("role", "content"):
                messages.setdefault(int(index), {})[name] = value
    return [messages[i] for i in sorted(messages)]


def _json_messages(text: Any) -> list[dict[str, Any]]:
    if isinstance(text, list):
        return [m for m in text if isinstance(m, dict)]
    if not isinstance(text, str):
        return []
    try:
        parsed = json.loads(text)
    except ValueError:
        return [{"role": "user", "content": text}]
    return [m for m in parsed if isinstance(m, dict)] if isinstance(parsed, list) else []


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message whether it carries `content` or GenAI `parts`."""
    if isinstance(message.get("content"), str):
        return message["content"]
    parts = message.get("parts") or []
    texts = [p.get("content", "") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
    return "".join(str(t) for t in texts)


def _events(span: Mapping[str, Any]) -> list[tuple[str, ValueMap]]:
    return [
        (e.get("name", ""), attributes(e.get("attributes", []))) for e in span.get("events", [])
    ]


def _prompt(attrs: ValueMap, events: list[tuple[str, ValueMap]]) -> list[dict[str, Any]]:
    if attrs.get(semconv.INPUT_MESSAGES) is not None:
        return _json_messages(attrs[semconv.INPUT_MESSAGES])
    messages = [
        {"role": name.split(".")[1], "content": ev.get("content", "")}
        for name, ev in events
        if name in semconv.MESSAGE_EVENTS and name != "gen_ai.assistant.message"
    ]
    for name, ev in events:
        if name == semconv.PROMPT_EVENT and ev.get(semconv.PROMPT_EVENT_ATTR) is not None:
            messages += _json_messages(ev[semconv.PROMPT_EVENT_ATTR])
    if not messages:
        messages = _indexed(attrs, semconv.INDEXED_INPUT_PREFIXES)
    if not messages and attrs.get(semconv.OPENINFERENCE_INPUT) is not None:
        messages = [{"role": "user", "content": str(attrs[semconv.OPENINFERENCE_INPUT])}]
    return messages


def _completion(attrs: ValueMap, events: list[tuple[str, ValueMap]]) -> str | None:
    if attrs.get(semconv.OUTPUT_MESSAGES) is not None:
        texts = [message_text(m) for m in _json_messages(attrs[semconv.OUTPUT_MESSAGES])]
        return "\n".join(texts)
    for name, ev in events:
        if name == semconv.CHOICE_EVENT:
            message = ev.get("message")
            if isinstance(message, dict):
                return message_text(message)
            if isinstance(message, str):
                parsed = _json_messages(f"[{message}]") if message.startswith("{") else []
                return message_text(parsed[0]) if parsed else message
            return str(ev.get("content", "")) or None
        if name == semconv.COMPLETION_EVENT and ev.get(semconv.COMPLETION_EVENT_ATTR) is not None:
            texts = [message_text(m) for m in _json_messages(ev[semconv.COMPLETION_EVENT_ATTR])]
            return "\n".join(texts)
    indexed = _indexed(attrs, semconv.INDEXED_OUTPUT_PREFIXES)
    if indexed:
        return "\n".join(str(m.get("content", "")) for m in indexed)
    value = attrs.get(semconv.OPENINFERENCE_OUTPUT)
    return None if value is None else str(value)


def is_llm_span(attrs: ValueMap) -> bool:
    return any(attrs.get(name) is not None for name in semconv.MARKERS)


def to_item(span: Mapping[str, Any], resource: ValueMap) -> dict[str, Any]:
    """An LLM span as an observation item (the same shape the observations API accepts)."""
    attrs = attributes(span.get("attributes", []))
    events = _events(span)
    start = int(span.get("startTimeUnixNano") or 0)
    end = int(span.get("endTimeUnixNano") or start)
    prompt = _prompt(attrs, events)
    trace_id, span_id = hex_id(span.get("traceId")), hex_id(span.get("spanId"))
    metadata = {
        "source": "otlp",
        "trace_id": trace_id,
        "span_id": span_id,
        "span_name": span.get("name", ""),
        "operation": _first(attrs, semconv.OPERATION),
        "provider": _first(attrs, semconv.PROVIDER),
        "input_tokens": _first(attrs, semconv.INPUT_TOKENS),
        "output_tokens": _first(attrs, semconv.OUTPUT_TOKENS),
        "finish_reasons": _first(attrs, semconv.FINISH_REASONS),
        "service": resource.get("service.name"),
    }
    return {
        "id": f"{trace_id}:{span_id}",
        "ts": datetime.fromtimestamp(start / 1e9, UTC).isoformat() if start else None,
        "inputs": {
            "prompt": "\n".join(message_text(m) for m in prompt if m.get("role") != "system"),
            "messages": prompt,
        },
        "output": _completion(attrs, events),
        "latency_ms": max(0.0, (end - start) / 1e6),
        "model_version": _first(attrs, semconv.MODEL),
        "metadata": {k: v for k, v in metadata.items() if v is not None},
    }


def spans(request: Mapping[str, Any]) -> Iterator[tuple[ValueMap, Mapping[str, Any]]]:
    for resource_spans in request.get("resourceSpans", []) or []:
        resource = attributes((resource_spans.get("resource") or {}).get("attributes", []))
        for scope in resource_spans.get("scopeSpans", []) or []:
            for span in scope.get("spans", []) or []:
                yield resource, span


def map_request(request: Mapping[str, Any], known_systems: set[str]) -> MappedRequest:
    result = MappedRequest()
    for resource, span in spans(request):
        attrs = attributes(span.get("attributes", []))
        if not is_llm_span(attrs):
            result.ignored += 1
            continue
        system = _first(resource, semconv.SYSTEM_RESOURCE)
        if system not in known_systems:
            result.refused += 1
            result.errors.append(
                f"span {span.get('name', '?')!r}: unknown system {system!r} "
                "(set resource attribute watchkeeper.system or service.name to a system name)"
            )
            continue
        result.spans.append(MappedSpan(str(system), to_item(span, resource)))
    return result
