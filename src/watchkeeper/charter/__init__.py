"""The charter: who holds which role, whether they know it, and whether the system is ready
(`gate`) and still looked after (`vacuum`), with the care ledger the vacuum report reads.

Its names load on first use: the offline gate (`evaluate_all` over what the files `declared`)
and the care ledger need only the pure modules, never the service and the store behind it.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.charter._digest import manifest_digest, runbook_digest
    from watchkeeper.charter.gate import CHECK_IDS, GateReport, evaluate_all
    from watchkeeper.charter.ledger import CareEntry, Month, by_month, unspent_streak
    from watchkeeper.charter.roles import Assignment, assignments, declared, vacancy
    from watchkeeper.charter.service import (
        Change,
        CharterService,
        read_applied,
        system_vacuum,
        vacuum_report,
    )
    from watchkeeper.charter.vacuum import SystemVacuum, portfolio_critical

__all__ = [
    "CHECK_IDS",
    "Assignment",
    "CareEntry",
    "Change",
    "CharterService",
    "GateReport",
    "Month",
    "SystemVacuum",
    "assignments",
    "by_month",
    "declared",
    "evaluate_all",
    "manifest_digest",
    "portfolio_critical",
    "read_applied",
    "runbook_digest",
    "system_vacuum",
    "unspent_streak",
    "vacancy",
    "vacuum_report",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.charter._digest": ["manifest_digest", "runbook_digest"],
        "watchkeeper.charter.gate": ["CHECK_IDS", "GateReport", "evaluate_all"],
        "watchkeeper.charter.ledger": ["CareEntry", "Month", "by_month", "unspent_streak"],
        "watchkeeper.charter.roles": ["Assignment", "assignments", "declared", "vacancy"],
        "watchkeeper.charter.service": [
            "Change",
            "CharterService",
            "read_applied",
            "system_vacuum",
            "vacuum_report",
        ],
        "watchkeeper.charter.vacuum": ["SystemVacuum", "portfolio_critical"],
    },
)
