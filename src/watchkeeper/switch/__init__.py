"""The kill switch: per-system state, authority-bound flips, and propagation to every SDK."""

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
