"""The kill switch: per-system state, authority-bound flips, and propagation to every SDK.

Its names load on first use: the state's vocabulary (`STATES`, `SwitchState`, `state_of`) needs
neither the service's access checks nor the feed's store listener.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.switch._feed import SwitchFeed
    from watchkeeper.switch._service import SwitchService
    from watchkeeper.switch._state import CHANNEL, STATES, SwitchChange, SwitchState, state_of

__all__ = [
    "CHANNEL",
    "STATES",
    "SwitchChange",
    "SwitchFeed",
    "SwitchService",
    "SwitchState",
    "state_of",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.switch._feed": ["SwitchFeed"],
        "watchkeeper.switch._service": ["SwitchService"],
        "watchkeeper.switch._state": [
            "CHANNEL",
            "STATES",
            "SwitchChange",
            "SwitchState",
            "state_of",
        ],
    },
)
