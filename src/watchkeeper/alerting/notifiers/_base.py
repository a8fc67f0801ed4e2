"""The shape every integration shares (Alertmanager's lesson): a message in, a Delivery out that
says whether it worked and whether trying again could help. Notifiers never sleep or loop;
retries and fallback to the next channel live in one place (`deliver`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Event = Literal["trigger", "acknowledge", "resolve", "notice"]
Status = Literal["ok", "retryable", "permanent"]


@dataclass(frozen=True)
class Message:
    """What one person is told about one thing; every integration renders this one shape."""

    event: Event
    system: str
    title: str
    severity: str
    body: str
    recipient: str
    dedup_key: str | None = None
    links: tuple[tuple[str, str], ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": "1",
            "event": self.event,
            "system": self.system,
            "title": self.title,
            "severity": self.severity,
            "body": self.body,
            "recipient": self.recipient,
            "dedup_key": self.dedup_key,
            "links": [{"text": text, "href": href} for text, href in self.links],
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Delivery:
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Notifier(Protocol):
    kind: str

    def send(self, message: Message) -> Delivery: ...


NotifierFactory = Callable[[Mapping[str, Any]], Notifier]
_REGISTRY: dict[str, NotifierFactory] = {}


def register(kind: str) -> Callable[[NotifierFactory], NotifierFactory]:
    """How built-in and third-party integrations make themselves known, alike."""

    def add(factory: NotifierFactory) -> NotifierFactory:
        _REGISTRY[kind] = factory
        return factory

    return add


def kinds() -> list[str]:
    return sorted(_REGISTRY)


def notifier_for(channel: Mapping[str, Any], context: Mapping[str, Any]) -> Notifier:
    kind = channel.get("type", "")
    if kind not in _REGISTRY:
        raise ValueError(f"no notifier for channel type {kind!r}; known: {', '.join(kinds())}")
    return _REGISTRY[kind]({**context, **channel})


def classify_http(status: int) -> Status:
    """2xx worked; 429 and 5xx may work later; anything else will not."""
    if 200 <= status < 300:
        return "ok"
    if status == 429 or status >= 500:
        return "retryable"
    return "permanent"


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Delivery details are stored and shown; they must never carry a key or token."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
