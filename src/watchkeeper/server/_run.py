"""Running the server for real: `serve` for `wk serve`, `LiveServer` for tests and benchmarks."""

from __future__ import annotations

import gc
import socket
import threading
import time
from types import TracebackType

import uvicorn

from watchkeeper.app import Watchkeeper
from watchkeeper.server._app import create_app
from watchkeeper.server._longpoll import Waiters


class _Server(uvicorn.Server):
    """Answers parked long-polls first when told to stop, so that draining connections takes
    milliseconds rather than the longest outstanding wait, and SDKs reconnect elsewhere."""

    def __init__(self, config: uvicorn.Config, waiters: Waiters) -> None:
        super().__init__(config)
        self.waiters = waiters

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.waiters.release_all()
        await super().shutdown(sockets)


def _server(
    watchkeeper: Watchkeeper,
    host: str,
    port: int,
    *,
    max_wait: float = 30.0,
    log_level: str = "info",
    tick_every: float | None = None,
) -> _Server:
    watchkeeper.courier.require_secret()
    app = create_app(watchkeeper, max_wait=max_wait, tick_every=tick_every)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # long-polls would flood it; changes are in the audit trail
        timeout_graceful_shutdown=10,
        log_level=log_level,
    )
    return _Server(config, app.state.waiters)


def serve(
    watchkeeper: Watchkeeper, host: str = "127.0.0.1", port: int = 8000, tick_every: float = 60.0
) -> None:
    """Serve until SIGINT/SIGTERM, then stop gracefully (answer long-polls, drain, close),
    ticking the scheduler every `tick_every` seconds (0: never — another replica does)."""
    server = _server(watchkeeper, host, port, tick_every=tick_every or None)
    settle_heap()
    server.run()


def settle_heap() -> None:
    """Move what start-up built (imported modules, the app) out of the cyclic collector's way.

    A page of 200 systems keeps ~20,000 containers alive while it renders, so full collections
    come every few requests, and each walked the whole start-up heap too (~130 ms with the
    dashboard benchmark's heap; its p95 fell from ~440 to ~280 ms once frozen). Frozen objects
    are still freed by reference counting; only cycles among them would wait.

    What comes after start-up is collected less often. A thousand open switch streams keep
    ~280,000 objects alive (their requests, tasks, coroutines): at Python's thresholds a
    young collection ran ~15 times a second and a full one every ~9 s, pausing the event loop
    100-270 ms, and a flip that fell in one reached the SDKs that much later. At 20,000 the
    young collections come every ~3 s (15-20 ms each) and no full one in a 70 s run
    (benchmarks/README.md, kill switch propagation). No cycle was found in those full
    collections; the few that asyncio makes wait seconds longer to be freed.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread, for what needs a socket: SDK
    long-polls, several replicas, a server that stops and comes back on the same port."""

    def __init__(self, watchkeeper: Watchkeeper, *, port: int = 0, max_wait: float = 30.0):
        self.watchkeeper = watchkeeper
        self.port = port
        self.max_wait = max_wait
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> LiveServer:
        server = _server(
            self.watchkeeper, "127.0.0.1", self.port, max_wait=self.max_wait, log_level="warning"
        )
        thread = threading.Thread(target=server.run, name="watchkeeper-live-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on 127.0.0.1:{self.port}")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._server = self._thread = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
