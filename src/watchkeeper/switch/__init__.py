"""The kill switch: per-system state, authority-bound flips and drills, and propagation to every
SDK.

Its names load on first use: the state's vocabulary (`STATES`, `SwitchState`, `state_of`) needs
neither the service's access checks nor the feed's store listener.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.switch._confirm import Confirmation, Straggler, confirmation, live_at
    from watchkeeper.switch._drill import DEFAULT_DRILL_REASON
    from watchkeeper.switch._feed import SwitchFeed
    from watchkeeper.switch._service import MAX_HEARTBEAT, MAX_REASON, MAX_WAIT, SwitchService
    from watchkeeper.switch._state import (
        CHANNEL,
        STATES,
        DrillMark,
        SwitchChange,
        SwitchState,
        state_of,
    )

__all__ = [
    "CHANNEL",
    "DEFAULT_DRILL_REASON",
    "MAX_HEARTBEAT",
    "MAX_REASON",
    "MAX_WAIT",
    "STATES",
    "Confirmation",
    "DrillMark",
    "Straggler",
    "SwitchChange",
    "SwitchFeed",
    "SwitchService",
    "SwitchState",
    "confirmation",
    "live_at",
    "state_of",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.switch._confirm": ["Confirmation", "Straggler", "confirmation", "live_at"],
        "watchkeeper.switch._drill": ["DEFAULT_DRILL_REASON"],
        "watchkeeper.switch._feed": ["SwitchFeed"],
        "watchkeeper.switch._service": [
            "MAX_HEARTBEAT",
            "MAX_REASON",
            "MAX_WAIT",
            "SwitchService",
        ],
        "watchkeeper.switch._state": [
            "CHANNEL",
            "STATES",
            "DrillMark",
            "SwitchChange",
            "SwitchState",
            "state_of",
        ],
    },
)
