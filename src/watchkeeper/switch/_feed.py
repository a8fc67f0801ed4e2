"""Noticing every switch move, whichever server process made it.

A background thread listens on the store's change channel — PostgreSQL NOTIFY reaches every
process at commit; on SQLite only flips made through the same Store are heard — and compares
switch versions with those it last saw, on each announcement and every `rescan` seconds. The
rescan is what carries SQLite flips between processes (0.1 s: one indexed read of a tiny table),
and a safety net on PostgreSQL should the listening connection drop a notification.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from watchkeeper.store import Listener, Store
from watchkeeper.switch._service import SwitchService
from watchkeeper.switch._state import CHANNEL, SwitchState

log = logging.getLogger("watchkeeper.switch")
RESCAN = {"sqlite": 0.1, "postgresql": 5.0}
_SLICE = 0.5  # longest uninterrupted wait, so stop() returns promptly


class SwitchFeed:
    def __init__(
        self,
        service: SwitchService,
        store: Store,
        publish: Callable[[SwitchState], None],
        *,
        rescan: float | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.publish = publish
        self.rescan = rescan if rescan is not None else RESCAN.get(store.dialect, 1.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._known: dict[str, int] = {}

    def start(self) -> None:
        """Take the baseline now, so that no flip after this call can go unnoticed, and publish
        every switch once, so subscribers start from the current states."""
        self._known = self.service.versions()
        for system in self._known:
            self.publish(self.service.state(system))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="watchkeeper-switch-feed")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        listener: Listener | None = None
        last_scan = time.monotonic()
        while not self._stop.is_set():
            try:
                if listener is None:
                    listener = self.store.listen(CHANNEL)
                    self._scan()  # catch up on anything missed while not listening
                heard = listener.wait(min(self.rescan, _SLICE))
                if heard or time.monotonic() - last_scan >= self.rescan:
                    last_scan = time.monotonic()
                    self._scan()
            except Exception:
                log.exception("kill-switch feed interrupted; listening again in 1 s")
                if listener is not None:
                    listener.close()
                    listener = None
                self._stop.wait(1.0)
        if listener is not None:
            listener.close()

    def _scan(self) -> None:
        current = self.service.versions()
        for system, version in current.items():
            if self._known.get(system) != version:
                self.publish(self.service.state(system))
        self._known = current
