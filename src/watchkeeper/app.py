"""The one application object. The CLI, the server and the tests all build it the same way and
reach every service through it; it holds no logic of its own."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from watchkeeper.access import AccessService, audit_seal
from watchkeeper.alerting.courier import Courier
from watchkeeper.alerting.service import AlertingService
from watchkeeper.care.evals import EvalPolicy
from watchkeeper.care.service import CareService, ScheduledEvals
from watchkeeper.charter import CharterService
from watchkeeper.clock import Clock, SystemClock
from watchkeeper.ingest.service import IngestService, combine_purges
from watchkeeper.monitor.engine import MonitorService
from watchkeeper.scheduler import Scheduler
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.switch import SwitchService
from watchkeeper.triage.service import TriageService


@dataclass
class Watchkeeper:
    settings: Settings
    store: Store
    clock: Clock
    charter: CharterService
    access: AccessService
    switch: SwitchService
    ingest: IngestService
    monitor: MonitorService
    courier: Courier
    alerting: AlertingService
    care: CareService
    triage: TriageService
    scheduler: Scheduler

    def close(self) -> None:
        self.courier.http.close()
        self.store.close()


def build(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    http: httpx.Client | None = None,
) -> Watchkeeper:
    settings = settings or Settings.from_env()
    store = store or Store.open(settings.db)
    store.seal_audit(audit_seal(settings))
    access = AccessService(store, registrars=settings.registrars)
    switch = SwitchService(store, access)
    courier = Courier(
        store,
        smtp=settings.smtp,
        public_url=settings.public_url or settings.url,
        secret=settings.secret or "",
        http=http or httpx.Client(timeout=10),
    )
    monitor = MonitorService(store)
    alerting = AlertingService(store, courier, switch)
    care = CareService(
        store, courier, EvalPolicy.configure(settings.eval_modules, settings.eval_data)
    )
    triage = TriageService(store, courier)
    ingest = IngestService(store)
    clock = clock or SystemClock()
    scheduler = Scheduler(store, monitor, alerting, clock)
    scheduler.register_each(
        "evals", care.system_evals, lambda runs: ScheduledEvals.combine(runs).to_dict()
    )
    scheduler.register_each("review_reminders", care.remind_review)
    scheduler.register_each("serious_reminders", alerting.remind_serious)
    scheduler.register_each("triage_queued", triage.scan_system)
    scheduler.register("audit_noise", access.flush_noise)
    scheduler.register_each("retention", ingest.purge_system, combine_purges)
    scheduler.register("retention_unapplied", ingest.purge_unapplied)
    return Watchkeeper(
        settings=settings,
        store=store,
        clock=clock,
        charter=CharterService(store),
        access=access,
        switch=switch,
        ingest=ingest,
        monitor=monitor,
        courier=courier,
        alerting=alerting,
        care=care,
        triage=triage,
        scheduler=scheduler,
    )
