"""Edge-case triage: rules that queue outputs for a human look, and what the verdicts say.

Its names load on first use, like the other stages'.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.triage.rules import evaluate, in_sample
    from watchkeeper.triage.service import VERDICTS, TriageService

__all__ = ["VERDICTS", "TriageService", "evaluate", "in_sample"]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.triage.rules": ["evaluate", "in_sample"],
        "watchkeeper.triage.service": ["VERDICTS", "TriageService"],
    },
)
