"""Rehearsing the runbook: "what happens if quality drops 20%?" answered by running it.

A throwaway copy of a system — its manifest, people and channels — gets traffic from its own
baseline (or made from its contracts), a scenario is injected, and the real pipeline runs on a
simulated clock with every notification caught. The report is the timeline to check against the
runbook, and what did not happen.
"""

from watchkeeper.rehearsal._plan import SCENARIOS
from watchkeeper.rehearsal._run import MAX_BUDGET, RECORDER, Pipeline, Rehearsal, rehearse
from watchkeeper.rehearsal._service import RehearsalService

__all__ = [
    "MAX_BUDGET",
    "RECORDER",
    "SCENARIOS",
    "Pipeline",
    "Rehearsal",
    "RehearsalService",
    "rehearse",
]
