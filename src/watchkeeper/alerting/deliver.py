"""Delivering one message to one person: their channels in order, a few quick retries on a
retryable failure, then the next channel. Every attempt is returned so it can be recorded."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.alerting.notifiers import Delivery, Message, notifier_for

RETRY_DELAYS = (0.5, 2.0)  # seconds between attempts on one channel


@dataclass(frozen=True)
class Attempt:
    channel: str
    attempt: int
    delivery: Delivery

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "attempt": self.attempt,
            "status": self.delivery.status,
            "detail": self.delivery.detail,
        }


def deliver(
    message: Message,
    channels: Sequence[Mapping[str, Any]],
    context: Mapping[str, Any],
    *,
    sleep: Callable[[float], None],
    delays: Sequence[float] = RETRY_DELAYS,
) -> list[Attempt]:
    """Try each channel until one works; the caller learns of every failure on the way."""
    attempts: list[Attempt] = []
    for channel in channels or [{"type": "email"}]:
        kind = str(channel.get("type"))
        try:
            notifier = notifier_for(channel, context)
        except (ValueError, KeyError) as exc:
            attempts.append(Attempt(kind, 1, Delivery("permanent", f"misconfigured: {exc}")))
            continue
        for number in range(1, len(delays) + 2):
            delivery = notifier.send(message)
            attempts.append(Attempt(kind, number, delivery))
            if delivery.status != "retryable" or number > len(delays):
                break
            sleep(delays[number - 1])
        if attempts[-1].delivery.ok:
            break
    return attempts
