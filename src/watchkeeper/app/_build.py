"""The one application object. The CLI, the server and the tests all build it the same way and
reach every service through it; it holds no logic of its own.

Each service is built on first use, with the services it needs, and its module imported only
then: `wk vacuum` builds the charter and loads neither the monitor's numpy nor the courier's
httpx, and `wk kill` builds the switch, the access service it asks and the courier that tells the
owners. The scheduler needs them all, so the server (which ticks) and `wk tick` build everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from watchkeeper.clock import Clock, FixedClock, SystemClock
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    import httpx

    from watchkeeper.access import AccessService
    from watchkeeper.alerting.courier import Courier
    from watchkeeper.alerting.service import AlertingService
    from watchkeeper.care.service import CareService
    from watchkeeper.charter import CharterService
    from watchkeeper.evidence import EvidenceService
    from watchkeeper.ingest.service import IngestService
    from watchkeeper.monitor.engine import MonitorService
    from watchkeeper.rehearsal import RehearsalService
    from watchkeeper.scheduler import Scheduler
    from watchkeeper.store import Store
    from watchkeeper.switch import SwitchService
    from watchkeeper.triage.service import TriageService

S = TypeVar("S")


class _Service(Generic[S]):
    """A service of the application: built by the decorated method on first use, then kept in
    the instance, where later reads find it as a plain attribute. Built once even when threads
    race to it (the server's request threads): a second AccessService would keep its own noise
    counts, a second Courier its own HTTP connections."""

    def __init__(self, make: Callable[[Watchkeeper], S]) -> None:
        self._make = make
        self._name = make.__name__
        self.__doc__ = make.__doc__

    @overload
    def __get__(self, app: None, owner: type[Watchkeeper]) -> _Service[S]: ...

    @overload
    def __get__(self, app: Watchkeeper, owner: type[Watchkeeper]) -> S: ...

    def __get__(self, app: Watchkeeper | None, owner: type[Watchkeeper]) -> _Service[S] | S:
        if app is None:
            return self
        with app._building:
            if self._name not in vars(app):
                vars(app)[self._name] = self._make(app)
            built: S = vars(app)[self._name]
            return built


class Watchkeeper:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        http: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._http = http
        # Reentrant: building a service builds those it needs (alerting: courier, switch).
        self._building = threading.RLock()

    @_Service
    def charter(self) -> CharterService:
        from watchkeeper.charter import CharterService

        return CharterService(self.store)

    @_Service
    def access(self) -> AccessService:
        from watchkeeper.access import AccessService

        return AccessService(self.store, registrars=self.settings.registrars)

    @_Service
    def switch(self) -> SwitchService:
        from watchkeeper.switch import SwitchService

        return SwitchService(self.store, self.access, lambda: self.courier)

    @_Service
    def ingest(self) -> IngestService:
        from watchkeeper.ingest.service import IngestService

        return IngestService(self.store)

    @_Service
    def monitor(self) -> MonitorService:
        from watchkeeper.monitor.engine import MonitorService

        return MonitorService(self.store)

    @_Service
    def courier(self) -> Courier:
        import httpx

        from watchkeeper.alerting.courier import Courier

        settings = self.settings
        return Courier(
            self.store,
            smtp=settings.smtp,
            public_url=settings.public_url or settings.url,
            secret=settings.secret or "",
            http=self._http or httpx.Client(timeout=10),
            sleep=self.clock.sleep,
        )

    @_Service
    def alerting(self) -> AlertingService:
        from watchkeeper.alerting.service import AlertingService

        return AlertingService(self.store, self.courier, self.switch)

    @_Service
    def care(self) -> CareService:
        from watchkeeper.care.service import CareService
        from watchkeeper.evals import EvalPolicy

        policy = EvalPolicy.configure(self.settings.eval_modules, self.settings.eval_data)
        return CareService(self.store, self.courier, policy)

    @_Service
    def triage(self) -> TriageService:
        from watchkeeper.triage.service import TriageService

        return TriageService(self.store, self.courier)

    @_Service
    def rehearsal(self) -> RehearsalService:
        """Each rehearsal runs a whole application of its own over a throwaway store: this one's
        settings for what the pipeline needs, with nothing that reaches people or runs code."""
        from watchkeeper.rehearsal import RECORDER, RehearsalService

        def make(store: Store, clock: FixedClock, http: httpx.Client) -> Watchkeeper:
            settings = Settings(db=str(store.engine.url), public_url=RECORDER, secret="rehearsal")
            return Watchkeeper(settings, store, clock, http)

        return RehearsalService(self.store, make, smtp=bool(self.settings.smtp))

    @_Service
    def evidence(self) -> EvidenceService:
        from watchkeeper.evidence import EvidenceService

        return EvidenceService(self.store)

    @_Service
    def scheduler(self) -> Scheduler:
        """The tick's jobs: every stage's, so it builds every service."""
        from watchkeeper.care.service import ScheduledEvals
        from watchkeeper.ingest.service import combine_purges
        from watchkeeper.scheduler import Scheduler

        scheduler = Scheduler(self.store, self.monitor, self.alerting, self.clock)
        scheduler.register_each(
            "evals", self.care.system_evals, lambda runs: ScheduledEvals.combine(runs).to_dict()
        )
        scheduler.register_each("review_reminders", self.care.remind_review)
        scheduler.register_each("serious_reminders", self.alerting.remind_serious)
        scheduler.register_each("triage_queued", self.triage.scan_system)
        scheduler.register("audit_noise", self.access.flush_noise)
        scheduler.register_each("retention", self.ingest.purge_system, combine_purges)
        scheduler.register("retention_unapplied", self.ingest.purge_unapplied)
        return scheduler

    def close(self) -> None:
        switch: SwitchService | None = vars(self).get("switch")
        if switch is not None:
            switch.drain(timeout=30)
        courier: Courier | None = vars(self).get("courier")
        http = courier.http if courier is not None else self._http
        if http is not None:
            http.close()
        self.store.close()


def build(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    http: httpx.Client | None = None,
) -> Watchkeeper:
    """The application over `store` (else the settings' store, opened here); its services are
    built as they are first used."""
    from watchkeeper.access import audit_seal
    from watchkeeper.store import Store

    settings = settings or Settings.from_env()
    store = store or Store.open(settings.db)
    store.seal_audit(audit_seal(settings))
    return Watchkeeper(settings, store, clock or SystemClock(), http)
