"""The one application object. The CLI, the server and the tests all build it the same way and
reach every service through it; it holds no logic of its own."""

from __future__ import annotations

from dataclasses import dataclass

from watchkeeper.access import AccessService
from watchkeeper.charter import CharterService
from watchkeeper.clock import Clock, SystemClock
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.switch import SwitchService


@dataclass
class Watchkeeper:
    settings: Settings
    store: Store
    clock: Clock
    charter: CharterService
    access: AccessService
    switch: SwitchService

    def close(self) -> None:
        self.store.close()


def build(
    settings: Settings | None = None, *, store: Store | None = None, clock: Clock | None = None
) -> Watchkeeper:
    settings = settings or Settings.from_env()
    store = store or Store.open(settings.db)
    access = AccessService(store)
    return Watchkeeper(
        settings=settings,
        store=store,
        clock=clock or SystemClock(),
        charter=CharterService(store),
        access=access,
        switch=SwitchService(store, access),
    )
