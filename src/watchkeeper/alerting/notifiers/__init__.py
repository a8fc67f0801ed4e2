"""Notification integrations behind one registry: webhook (signed), Slack, PagerDuty, email.

A third-party integration registers the same way the built-ins do: `@register("kind")` on a
factory taking the channel's config and returning an object with `send(message) -> Delivery`.
"""

from watchkeeper.alerting.notifiers import _email, _http  # noqa: F401  (registers built-ins)
from watchkeeper.alerting.notifiers._base import (
    Delivery,
    Message,
    Notifier,
    classify_http,
    kinds,
    notifier_for,
    register,
)
from watchkeeper.alerting.notifiers._http import (
    SIGNATURE_HEADER,
    SLACK_ACK,
    SLACK_OPEN,
    SLACK_RESOLVE,
    TIMESTAMP_HEADER,
    incident_of_key,
    pagerduty_event,
    sign,
    slack_payload,
)

__all__ = [
    "SIGNATURE_HEADER",
    "SLACK_ACK",
    "SLACK_OPEN",
    "SLACK_RESOLVE",
    "TIMESTAMP_HEADER",
    "Delivery",
    "Message",
    "Notifier",
    "classify_http",
    "incident_of_key",
    "kinds",
    "notifier_for",
    "pagerduty_event",
    "register",
    "sign",
    "slack_payload",
]
