"""The server's heartbeat: call `tick(now)` every few seconds in a background thread. Several
replicas may all run one; the scheduler's lease and claimed steps keep each page single."""

from __future__ import annotations

import logging
import threading

from watchkeeper.app import Watchkeeper

log = logging.getLogger("watchkeeper.scheduler")


class Heartbeat:
    def __init__(self, watchkeeper: Watchkeeper, every: float) -> None:
        self.watchkeeper = watchkeeper
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchkeeper-tick", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.watchkeeper.scheduler.tick(self.watchkeeper.clock.now())
            except Exception:  # one bad tick must not stop the next: log it loudly and go on
                log.exception("scheduler tick failed")
