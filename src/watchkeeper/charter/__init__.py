"""The charter: who holds which role, whether they know it, and whether the system is ready
(`gate`) and still looked after (`vacuum`)."""

from watchkeeper.charter.gate import CHECK_IDS, GateReport
from watchkeeper.charter.roles import Assignment, Directory
from watchkeeper.charter.service import Change, CharterService, system_vacuum, vacuum_report
from watchkeeper.charter.vacuum import SystemVacuum, portfolio_critical

__all__ = [
    "CHECK_IDS",
    "Assignment",
    "Change",
    "CharterService",
    "Directory",
    "GateReport",
    "SystemVacuum",
    "portfolio_critical",
    "system_vacuum",
    "vacuum_report",
]
