"""Observations, feedback and flags from serving code to the server, without ever making the
caller wait and without losing any.

The caller's cost is one `deque.append` (atomic, no lock). A daemon thread wakes when a batch is
full or every `interval` seconds, posts batches, and on any failure that may mend (no connection,
5xx, 429, a refused token or unknown system that someone may fix) writes the batch to the disk
spool instead and backs off. Once the server answers again the spool is replayed, oldest first;
ids make a replay harmless (the server counts them as duplicates). Only the bounds drop anything
— the in-memory queue (`max_queue` items) and the spool (`spool_bytes`) — and each drop is
counted in `dropped` and logged as an error, once per run of drops.

After `os.fork()` the child starts over with an empty queue, its own thread and, when it needs
one, its own spool segment: what the parent had queued is the parent's to deliver.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from watchkeeper.sdk._spool import Spool

log = logging.getLogger("watchkeeper.sdk")
MAX_BODY = 8 * 1024 * 1024  # under the server's 10 MiB: larger batches are split before sending
_MIN_BACKOFF, _MAX_BACKOFF = 0.5, 10.0
_REFUSED_BACKOFF = 30.0  # 401/403/404 do not mend in a second
_FLUSH = "flush"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


_dump = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=_plain).encode


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON: send them as null rather than lose the item."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class _Refused(Exception):
    """The server answered that this batch will never do (400, 413): retrying cannot help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class Shipper:
    def __init__(
        self,
        http: httpx.Client,
        system: str,
        spool: Spool,
        *,
        batch_size: int,
        interval: float,
        max_queue: int,
        timeout: float = 5.0,
    ) -> None:
        self.http = http
        self.spool = spool
        self.dropped = 0
        self._system = system
        self._paths = {
            kind: f"/api/v1/systems/{quote(system, safe='')}/{kind}"
            for kind in ("observations", "feedback", "flags")
        }
        self._batch_size = batch_size
        self._interval = interval
        self._max_queue = max_queue
        self._timeout = timeout
        self._start()

    def _start(self) -> None:
        self._queue: deque[tuple[str, Any]] = deque()
        self._wake = threading.Event()
        self._count_lock = threading.Lock()
        self._dropping = False
        self._closed = False
        self._spool_only = False
        self._down_until = 0.0
        self._backoff = 0.0
        self._last_warning = ""
        self._thread = threading.Thread(
            target=self._run, name=f"watchkeeper-log-{self._system}", daemon=True
        )
        self._thread.start()

    # --- the caller's side ------------------------------------------------------------------

    def put(self, kind: str, payload: Any) -> None:
        """The hot path: append and, when a batch is full, wake the thread. Never blocks."""
        queue = self._queue
        if len(queue) >= self._max_queue or self._closed:
            self._drop(1, "the in-memory queue is full" if not self._closed else "closed")
            return
        queue.append((kind, payload))
        if len(queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything put so far is delivered or spooled (or dropped at a bound)."""
        if not self._thread.is_alive():
            return not self._queue
        done = threading.Event()
        self._queue.append((_FLUSH, done))
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float) -> None:
        """Flush for most of `timeout`; whatever is still queued then goes to the spool."""
        if self._closed:
            return
        deadline = time.monotonic() + timeout
        if not self.flush(timeout * 0.8):
            self._spool_only = True
        self._closed = True
        self._wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        left = sum(1 for kind, _ in self._queue if kind != _FLUSH)
        if left:
            self._drop(left, f"close() ran out of time ({timeout:g} s)")

    def after_fork(self, http: httpx.Client) -> None:
        self.http = http
        self.dropped = 0
        self.spool.forget_inherited()
        self._start()

    def _drop(self, count: int, why: str) -> None:
        with self._count_lock:
            self.dropped += count
            first = not self._dropping
            self._dropping = True
        if first:
            log.error(
                "watchkeeper: DROPPING observations of %s: %s (%d dropped so far; see "
                "Client.dropped)",
                self._system,
                why,
                self.dropped,
            )

    def _kept(self) -> None:
        """The server took a batch again: the next drop is a new occurrence."""
        if self._dropping:
            with self._count_lock:
                self._dropping = False

    # --- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._ship_queued()
                if self._closed:
                    self._ship_queued()
                    self.spool.rotate()
                    return
                self._replay()
            except Exception:  # a bug here must not silence logging for the process's life
                log.exception("watchkeeper: the log thread of %s failed; going on", self._system)
                time.sleep(self._interval)

    def _ship_queued(self) -> None:
        queue = self._queue
        while queue:
            batches: dict[str, list[Any]] = {}
            flushes: list[threading.Event] = []
            taken = 0
            while queue and taken < self._batch_size:
                kind, payload = queue.popleft()
                if kind == _FLUSH:
                    flushes.append(payload)
                    break
                batches.setdefault(kind, []).append(payload)
                taken += 1
            for kind, items in batches.items():
                self._deliver(kind, items)
            for done in flushes:
                done.set()

    def _deliver(self, kind: str, items: list[Any]) -> None:
        body = self._encode(items)
        if body is None:
            return
        if len(body) > MAX_BODY and len(items) > 1:
            half = len(items) // 2
            self._deliver(kind, items[:half])
            self._deliver(kind, items[half:])
            return
        if not self._spool_only and time.monotonic() >= self._down_until:
            try:
                self._post(kind, body)
            except _Refused as exc:
                if exc.status == 413 and len(items) > 1:
                    half = len(items) // 2
                    self._deliver(kind, items[:half])
                    self._deliver(kind, items[half:])
                else:
                    self._drop(len(items), str(exc))
                return
            except OSError:  # unreachable or failing: spool below
                pass
            else:
                return
        if not self.spool.append(kind, body):
            self._drop(len(items), f"the spool in {self.spool.folder} is full")

    def _encode(self, items: list[Any]) -> bytes | None:
        try:
            return _dump(items).encode()
        except (ValueError, TypeError, RecursionError):
            pass
        kept = []
        for item in items:
            try:
                _dump(_finite(item))
            except (ValueError, TypeError, RecursionError) as exc:
                self._drop(1, f"an item cannot be sent as JSON ({exc})")
                continue
            kept.append(_finite(item))
        return _dump(kept).encode() if kept else None

    def _post(self, kind: str, body: bytes) -> None:
        """Deliver one batch. OSError: try again later (spool it). _Refused: never will."""
        path = self._paths[kind]
        bodies = [body] if kind != "flags" else [_dump(f).encode() for f in json.loads(body)]
        for one in bodies:
            try:
                response = self.http.post(
                    path,
                    content=one,
                    params={"source": "sdk"} if kind == "observations" else None,
                    headers={"Content-Type": "application/json"},
                    timeout=self._timeout,
                )
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed meanwhile
                self._failed(_MIN_BACKOFF, f"{type(exc).__name__}: {exc}")
                raise OSError(str(exc)) from None
            self._judge(response)
        self._kept()
        if self._backoff:
            log.warning("watchkeeper: %s: the server answers again", self._system)
            self._down_until, self._backoff, self._last_warning = 0.0, 0.0, ""
        if self.spool.writing:  # back: what we spooled may be replayed now
            self.spool.rotate()

    def _judge(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            try:
                result = response.json()
            except ValueError:  # not our server's answer (a proxy?): deliver again later
                self._failed(_MIN_BACKOFF, f"HTTP {status} but not JSON: {response.text[:100]}")
                raise OSError("not a batch result") from None
            rejected = result.get("rejected") if isinstance(result, dict) else None
            if rejected:
                self._warn(
                    f"{len(rejected)} item(s) rejected and kept as dead letters "
                    f"(`wk dead-letter {self._system}`), e.g. {rejected[0].get('error')}"
                )
            return
        detail = f"HTTP {status}: {response.text[:300]}"
        if status in (401, 403, 404):
            self._failed(_REFUSED_BACKOFF, detail)
            raise OSError(detail)
        if status == 429 or status >= 500:
            self._failed(_MIN_BACKOFF, detail)
            raise OSError(detail)
        raise _Refused(status, detail)

    def _failed(self, backoff: float, why: str) -> None:
        self._backoff = max(backoff, min(self._backoff * 2, _MAX_BACKOFF))
        self._down_until = time.monotonic() + self._backoff
        self._warn(f"cannot deliver to the server ({why}); spooling, retry in {self._backoff:g} s")

    def _warn(self, message: str) -> None:
        if message.split(";")[0] != self._last_warning.split(";")[0]:
            log.warning("watchkeeper: %s: %s", self._system, message)
        self._last_warning = message

    def _replay(self) -> None:
        """Send spooled segments, oldest first, while the server takes them; live batches
        go first whenever a full one is waiting."""
        while time.monotonic() >= self._down_until and not self._closed:
            self.spool.rotate()  # our own segment too: a replay is also the probe
            claimed = self.spool.claim()
            if claimed is None:
                return
            for kind, body in claimed.batches():
                try:
                    self._post(kind, body)
                except _Refused as exc:  # cannot ever be taken: do not block the rest on it
                    self._drop(len(json.loads(body)), f"the server refuses a spooled batch: {exc}")
                except OSError:
                    claimed.release()
                    return
                if len(self._queue) >= self._batch_size:
                    self._ship_queued()
            claimed.done()
