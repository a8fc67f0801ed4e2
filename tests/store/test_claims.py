"""Claims that keep two replicas from doing one thing twice: the first claim wins, every later
one is told so, on both stores."""

from __future__ import annotations

from watchkeeper.store import Store
from watchkeeper.testing import T0


def test_an_escalation_step_is_taken_once(store: Store) -> None:
    with store.write() as unit:
        first = unit.alerting.take_step(7, 0, 1, T0, "level 1 due")
    with store.write() as unit:
        again = unit.alerting.take_step(7, 0, 1, T0, "level 1 due")
        other_level = unit.alerting.take_step(7, 0, 2, T0, "level 2 due")
    assert (first, again, other_level) == (True, False, True)
