"""Care: the attention a system gets after go-live — the care log and its monthly ledger, the
knowledge records (decisions, failure modes, lessons, postmortems), the periodic quality review
and its report, and the pending retrain-or-replace decisions. Eval runs live in
`watchkeeper.evals`; this package records and schedules them.

Its names load on first use: `wk` reads the knowledge kinds for its help text and must not pay
for the service and the store to do so.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.care.service import CareService, ScheduledEvals

__all__ = ["CareService", "ScheduledEvals"]

__getattr__, __dir__ = _exports(
    __name__, {"watchkeeper.care.service": ["CareService", "ScheduledEvals"]}
)
