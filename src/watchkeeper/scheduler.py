"""`tick(now)`: the one heartbeat. Runs every due piece of work once as of `now`, and is safe to
call from several processes at once: a database lease lets one process tick at a time, and every
step it takes is claimed under a unique key besides.

The lease follows the scheduler's clock, never the `now` being evaluated: a replay of last month
holds the lease for as long as it runs in real time and frees it when done, so it can never
leave live servers waiting for a lease that expires in the simulated future.

Each system is a step of its own: one that fails (a manifest the code cannot read, a check that
raises) is logged, reported as a finding of that system and a metric, and the others go on. That
holds for escalation and for every job that works system by system (`register_each`): the
scheduler hands such a job one system at a time, guards each, and combines what they did into
the job's line of the report.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.clock import Clock, SystemClock
from watchkeeper.monitor.checks import Failure
from watchkeeper.store import Store

__all__ = ["LEASE", "LEASE_TTL", "MAX_ERROR", "Scheduler", "TickReport"]

LEASE = "scheduler"
LEASE_TTL = timedelta(minutes=5)
MAX_ERROR = 1000  # characters of an error kept in a failure's finding

log = logging.getLogger("watchkeeper.scheduler")


@dataclass(frozen=True)
class TickReport:
    now: datetime
    ran: bool
    windows: int = 0
    findings: int = 0
    incidents_opened: list[int] = field(default_factory=list)
    pages: int = 0
    other: dict[str, Any] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "ran": self.ran,
            "windows": self.windows,
            "findings": self.findings,
            "incidents_opened": self.incidents_opened,
            "pages": self.pages,
            **self.other,
            "failures": [f.to_dict() for f in self.failures],
        }


Job = Callable[[datetime], Any]
SystemJob = Callable[[datetime, str], Any]  # (now, system) -> what it did for that system
Combine = Callable[[list[Any]], Any]  # what each system's run did -> the job's line of the report


@dataclass(frozen=True)
class _EachSystem:
    job: SystemJob
    combine: Combine


def _error(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


class Scheduler:
    """Runs monitoring, alerting, escalation and the registered jobs (evals, reviews, triage,
    retention) in that order."""

    def __init__(
        self, store: Store, monitor: Any, alerting: Any, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.monitor = monitor
        self.alerting = alerting
        self.clock = clock or SystemClock()
        self.jobs: dict[str, Job | _EachSystem] = {}
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.last: TickReport | None = None  # the last tick this process ran, for /readyz

    def register(self, name: str, job: Job) -> None:
        """A portfolio-wide job: it fails as a whole, reported under no system."""
        self.jobs[name] = job

    def register_each(self, name: str, job: SystemJob, combine: Combine = sum) -> None:
        """A job done system by system, over every applied system: one that raises is reported
        as that system's failure of `job:<name>` and the rest go on."""
        self.jobs[name] = _EachSystem(job, combine)

    def tick(self, now: datetime) -> TickReport:
        # Each call holds the lease under its own name: a server's heartbeat and a `POST /tick`
        # share one Scheduler, and under one name the second call would renew the first's lease
        # and run alongside it.
        holder = f"{self.holder}/{uuid.uuid4().hex[:8]}"
        started = self.clock.now()
        with self.store.write() as unit:
            if not unit.alerting.acquire_lease(LEASE, holder, started, started + LEASE_TTL):
                return TickReport(now, ran=False)
        try:
            report = self._run(now)
        finally:
            with self.store.write() as unit:
                unit.alerting.release_lease(LEASE, holder, self.clock.now())
        self.last = report
        return report

    def _run(self, now: datetime) -> TickReport:
        failures: list[Failure] = []

        def guarded(system: str | None, step: str, work: Callable[[], Any]) -> Any:
            try:
                return work()
            except Exception as exc:  # one failing step must not stop the rest: say which
                log.exception("tick step %s failed%s", step, f" for {system}" if system else "")
                failures.append(Failure(system, step, _error(exc)))
                return None

        def each(step: str, job: SystemJob) -> list[Any]:
            done = [guarded(name, step, functools.partial(job, now, name)) for name in systems]
            return [result for result in done if result is not None]

        with self.store.read() as unit:
            systems = [record.name for record in unit.systems()]
        windows, new = 0, 0
        opened: list[int] = []
        for system in self.monitor.live_systems():
            evaluation = guarded(
                system, "monitor", functools.partial(self.monitor.evaluate, system, now)
            )
            if evaluation is None:
                continue
            windows, new = windows + evaluation.windows, new + len(evaluation.new)
            alerted = guarded(
                system, "alerting", functools.partial(self.alerting.process, evaluation, now)
            )
            opened += alerted or []
        pages = sum(each("escalation", self.alerting.escalate))
        other = {
            name: (
                job.combine(each(f"job:{name}", job.job))
                if isinstance(job, _EachSystem)
                else guarded(None, f"job:{name}", functools.partial(job, now))
            )
            for name, job in self.jobs.items()
        }
        guarded(None, "failures", lambda: self.monitor.record_failures(failures, now))
        return TickReport(now, True, windows, new, opened, pages, other, failures)
