"""`tick(now)`: the one heartbeat. Reads nothing but `now` from outside, runs every due piece of
work once, and is safe to call from several processes at once: a database lease lets one
process tick at a time, and every step it takes is claimed under a unique key besides.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.store import Store

LEASE = "scheduler"
LEASE_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class TickReport:
    now: datetime
    ran: bool
    windows: int = 0
    findings: int = 0
    incidents_opened: list[int] = field(default_factory=list)
    pages: int = 0
    other: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "ran": self.ran,
            "windows": self.windows,
            "findings": self.findings,
            "incidents_opened": self.incidents_opened,
            "pages": self.pages,
            **self.other,
        }


Job = Callable[[datetime], Any]


class Scheduler:
    """Runs monitoring, alerting, escalation and the registered jobs (evals, reviews, triage,
    retention) in that order."""

    def __init__(self, store: Store, monitor: Any, alerting: Any) -> None:
        self.store = store
        self.monitor = monitor
        self.alerting = alerting
        self.jobs: dict[str, Job] = {}
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def register(self, name: str, job: Job) -> None:
        self.jobs[name] = job

    def tick(self, now: datetime) -> TickReport:
        # Each call holds the lease under its own name: a server's heartbeat and a `POST /tick`
        # share one Scheduler, and under one name the second call would renew the first's lease
        # and run alongside it.
        holder = f"{self.holder}/{uuid.uuid4().hex[:8]}"
        with self.store.write() as unit:
            if not unit.acquire_lease(LEASE, holder, now, now + LEASE_TTL):
                return TickReport(now, ran=False)
        try:
            evaluations = self.monitor.evaluate_all(now)
            opened: list[int] = []
            for evaluation in evaluations:
                opened += self.alerting.process(evaluation, now)
            pages = self.alerting.escalate(now)
            other = {name: job(now) for name, job in self.jobs.items()}
        finally:
            with self.store.write() as unit:
                unit.release_lease(LEASE, holder, now)
        return TickReport(
            now,
            ran=True,
            windows=sum(e.windows for e in evaluations),
            findings=sum(len(e.new) for e in evaluations),
            incidents_opened=opened,
            pages=pages,
            other=other,
        )
