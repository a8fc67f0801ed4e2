"""Alerting: findings become alerts and incidents, escalation walks the runbook's path, and
notifiers deliver. The decisions are pure (`lifecycle`, `escalation`, `mute`); the service is the
shell that applies them to the store; the courier is the only I/O.

Its names load on first use: the courier and its messages are wanted by stages that never fold a
finding, and the service brings the monitor and the store with it.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.alerting.courier import (
        AckLink,
        Courier,
        ack_link_refusal,
        used_link_refusal,
    )
    from watchkeeper.alerting.incidents import incident_dict
    from watchkeeper.alerting.notifiers import Message
    from watchkeeper.alerting.service import AlertingService

__all__ = [
    "AckLink",
    "AlertingService",
    "Courier",
    "Message",
    "ack_link_refusal",
    "incident_dict",
    "used_link_refusal",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.alerting.courier": [
            "AckLink",
            "Courier",
            "ack_link_refusal",
            "used_link_refusal",
        ],
        "watchkeeper.alerting.incidents": ["incident_dict"],
        "watchkeeper.alerting.notifiers": ["Message"],
        "watchkeeper.alerting.service": ["AlertingService"],
    },
)
