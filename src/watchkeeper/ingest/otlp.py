"""OTLP/HTTP traces -> observations: spans of LLM calls become one observation each.

Works on the OTLP/JSON shape (hex ids, integer enums); protobuf requests are decoded into the same
shape first. Spans that are not LLM calls are ignored (not refused); LLM spans of a system we do
not know, and spans that cannot be read, are refused and counted, as OTLP's partialSuccess
expects.

The system is the resource attribute `watchkeeper.system`, else `service.name`: a service whose
name is its manifest's `metadata.name` needs no extra attribute.
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
    refusals: list[tuple[str | None, Any, str]] = field(default_factory=list)  # system, span, why

    @property
    def refused(self) -> int:
        return len(self.refusals)

    @property
    def errors(self) -> list[str]:
        return [why for _, _, why in self.refusals]

    def refuse(self, system: str | None, span: Any, why: str) -> None:
        self.refusals.append((system, span, why))


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
    content = message.get("content")
    if isinstance(content, str):
        return content
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


class NotOtlp(ValueError):
    """The request is not an ExportTraceServiceRequest at all (as opposed to a bad span)."""


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NotOtlp(f"{where} must be a list")
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise NotOtlp(f"{where} must be an object")
    return value


def spans(request: Any) -> Iterator[tuple[ValueMap, Any]]:
    """(resource attributes, span) for every span; the spans themselves are not checked here."""
    body = _object(request, "the request")
    for i, resource_spans in enumerate(_list(body.get("resourceSpans"), "resourceSpans")):
        where = f"resourceSpans[{i}]"
        resource_spans = _object(resource_spans, where)
        resource = _object(resource_spans.get("resource") or {}, f"{where}.resource")
        try:
            attrs = attributes(_list(resource.get("attributes"), f"{where}.resource.attributes"))
        except (TypeError, ValueError, AttributeError) as exc:
            raise NotOtlp(f"{where}.resource.attributes: {exc}") from None
        for j, scope in enumerate(_list(resource_spans.get("scopeSpans"), f"{where}.scopeSpans")):
            scope = _object(scope, f"{where}.scopeSpans[{j}]")
            for span in _list(scope.get("spans"), f"{where}.scopeSpans[{j}].spans"):
                yield attrs, span


def system_of(resource: ValueMap) -> str | None:
    """The system a resource names: `watchkeeper.system`, else `service.name`."""
    name = _first(resource, semconv.SYSTEM_RESOURCE)
    return name if isinstance(name, str) else None


def system_names(request: Any) -> set[str]:
    return {name for resource, _ in spans(request) if (name := system_of(resource))}


# What a malformed span raises while being read: it is refused, the others go on.
_MALFORMED = (TypeError, ValueError, AttributeError, KeyError, OverflowError, OSError)


def map_request(request: Any, known_systems: set[str]) -> MappedRequest:
    """Raises NotOtlp when the request's structure is wrong; a span that cannot be read, or
    whose system is unknown, is refused with its reason (see MappedRequest.refusals)."""
    result = MappedRequest()
    for resource, span in spans(request):
        system = system_of(resource)
        name = span.get("name", "?") if isinstance(span, dict) else "?"
        try:
            if not isinstance(span, dict):
                raise TypeError("a span must be an object")
            if not is_llm_span(attributes(_list(span.get("attributes"), "attributes"))):
                result.ignored += 1
                continue
            item = to_item(span, resource)
        except _MALFORMED as exc:
            result.refuse(system, span, f"span {name!r}: not a valid OTLP span ({exc})")
            continue
        if system not in known_systems:
            result.refuse(
                system,
                span,
                f"span {name!r}: unknown system {system!r} (set resource attribute "
                "watchkeeper.system or service.name to a system name)",
            )
            continue
        result.spans.append(MappedSpan(str(system), item))
    return result


# --- the wire: protobuf in, answers out ---------------------------------------------------------


def from_protobuf(body: bytes) -> dict[str, Any]:
    """A protobuf ExportTraceServiceRequest in the OTLP/JSON shape the mapping reads (ids come
    out base64, which `hex_id` undoes)."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    try:
        message = ExportTraceServiceRequest.FromString(body)
    except DecodeError as exc:
        raise NotOtlp(f"not a protobuf ExportTraceServiceRequest: {exc}") from None
    document: dict[str, Any] = json_format.MessageToDict(message)
    return document


def export_response(rejected: int, message: str, *, protobuf: bool) -> bytes:
    """ExportTraceServiceResponse; `partialSuccess` only when something was refused."""
    if protobuf:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTracePartialSuccess,
            ExportTraceServiceResponse,
        )

        answer = ExportTraceServiceResponse()
        if rejected or message:
            answer.partial_success.CopyFrom(
                ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
            )
        encoded: bytes = answer.SerializeToString()
        return encoded
    body: dict[str, Any] = {}
    if rejected or message:
        body["partialSuccess"] = {"rejectedSpans": str(rejected), "errorMessage": message}
    return json.dumps(body).encode()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def status(code: int, message: str, *, protobuf: bool) -> bytes:
    """google.rpc.Status, the body OTLP/HTTP errors carry: {code = 1, message = 2}. Encoded by
    hand because opentelemetry-proto does not ship the message and two fields need no library."""
    if not protobuf:
        return json.dumps({"code": code, "message": message}).encode()
    text = message.encode("utf-8", "backslashreplace")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
