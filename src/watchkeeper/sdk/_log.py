"""Observations, feedback and flags from serving code to the server, without ever making the
caller wait and without losing any.

The caller's cost is one `deque.append` (atomic, no lock). A daemon thread wakes when a batch is
full or every `interval` seconds, posts batches, and on any failure that may mend (no connection,
5xx, 429, a refused token or unknown system that someone may fix) writes the batch to the disk
spool instead and backs off. Once the server answers again the spool is replayed, oldest first;
ids make a replay harmless (the server counts them as duplicates). Only the bounds drop anything
— the in-memory queue (`max_queue` items) and the spool (`spool_bytes`) — and each drop is
counted in `dropped` and logged as an error, once per run of drops. A batch the server refuses
for good (400, 413 for one item, 422: resending cannot change its answer) is counted in
`refused` and logged.

`flush()` is a promise of delivery, not of a copy on disk: it ends any back-off, sends what is
queued, replays the spool — this process's segments and every one no live process holds — and
reports success only once those are all gone from the disk, i.e. taken or refused for good by
the server. While it waits the thread retries at least every second instead of backing off.

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
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from watchkeeper.sdk._spool import Spool

log = logging.getLogger("watchkeeper.sdk")
MAX_BODY = 8 * 1024 * 1024  # under the server's 10 MiB: larger batches are split before sending
_MIN_BACKOFF, _MAX_BACKOFF = 0.5, 10.0
_REFUSED_BACKOFF = 30.0  # 401/403/404 do not mend in a second
_FLUSH_RETRY = 1.0  # the longest pause between tries while someone waits in flush()
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


class Refused(Exception):
    """The server answered that this batch will never do (400, 413, 422): retrying cannot
    help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class Unavailable(Exception):
    """Not taken now, perhaps later: no connection, 5xx, 429, or a refused token or unknown
    system that someone may mend; `backoff` is the least wait before trying again."""

    def __init__(self, detail: str, backoff: float) -> None:
        super().__init__(detail)
        self.backoff = backoff


def send(
    http: httpx.Client, system: str, kind: str, body: bytes, timeout: float
) -> tuple[int, list[dict[str, Any]]]:
    """Post one batch as it was encoded (or spooled); returns how many items the server took
    and those of them it kept as dead letters. Raises `Unavailable` or `Refused`."""
    path = f"/api/v1/systems/{quote(system, safe='')}/{kind}"
    bodies = [body] if kind != "flags" else [_dump(f).encode() for f in json.loads(body)]
    taken = 0
    rejected: list[dict[str, Any]] = []
    for one in bodies:
        try:
            response = http.post(
                path,
                content=one,
                params={"source": "sdk"} if kind == "observations" else None,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed meanwhile
            raise Unavailable(f"{type(exc).__name__}: {exc}", _MIN_BACKOFF) from None
        count, kept = _judge(response)
        taken += count
        rejected += kept
    return taken, rejected


def _judge(response: httpx.Response) -> tuple[int, list[dict[str, Any]]]:
    status = response.status_code
    if status < 300:
        try:
            result = response.json()
        except ValueError:  # not our server's answer (a proxy?): deliver again later
            detail = f"HTTP {status} but not JSON: {response.text[:100]}"
            raise Unavailable(detail, _MIN_BACKOFF) from None
        if not isinstance(result, dict) or "accepted" not in result:
            return 1, []  # a flag: one item, answered with its triage entry
        found = result.get("rejected")
        rejected = found if isinstance(found, list) else []
        return int(result["accepted"]) + int(result.get("duplicates", 0)) + len(rejected), rejected
    detail = f"HTTP {status}: {response.text[:300]}"
    if status in (401, 403, 404):
        raise Unavailable(detail, _REFUSED_BACKOFF)
    if status == 429 or status >= 500:
        raise Unavailable(detail, _MIN_BACKOFF)
    raise Refused(status, detail)


@dataclass
class _Flush:
    """A caller waiting in `flush()`; the thread fills `segments` when it reaches the mark."""

    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    segments: frozenset[Path] = frozenset()


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
        self._system = system
        self._batch_size = batch_size
        self._interval = interval
        self._max_queue = max_queue
        self._timeout = timeout
        self._start()

    def _start(self) -> None:
        self.dropped = 0
        self.refused = self.delivered = 0  # only the thread counts these
        self._queue: deque[tuple[str, Any]] = deque()
        self._flushes: list[_Flush] = []
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
        """Deliver everything put so far and the spool now; True once the server took it (or
        refused it for good, counted), False when `timeout` passed first — the rest is kept."""
        if not self._thread.is_alive():
            return not self._queue and not self.spool.outstanding()
        mark = _Flush(math.inf if timeout is None else time.monotonic() + timeout)
        self._down_until = 0.0  # what is queued ahead of the mark may go straight out too
        self._queue.append((_FLUSH, mark))
        self._wake.set()
        return mark.done.wait(timeout)

    def close(self, timeout: float) -> None:
        """Flush for most of `timeout`; whatever is still queued then goes to the spool."""
        if self._closed:
            return
        deadline = time.monotonic() + timeout
        if not self.flush(timeout * 0.8):
            self._spool_only = True
            log.warning(
                "watchkeeper: %s: not all delivered within %g s; the rest waits in %s for the "
                "next client of this system and server, or `python -m watchkeeper.sdk replay %s`",
                self._system,
                timeout,
                self.spool.folder,
                self.spool.folder,
            )
        self._closed = True
        self._wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        left = sum(1 for kind, _ in self._queue if kind != _FLUSH)
        if left:
            self._drop(left, f"close() ran out of time ({timeout:g} s)")

    def after_fork(self, http: httpx.Client) -> None:
        self.http = http
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

    def _refuse(self, count: int, why: str) -> None:
        self.refused += count
        log.error(
            "watchkeeper: %s: the server refused %d item(s) for good, not retrying: %s (%d "
            "refused so far; see Client.refused)",
            self._system,
            count,
            why,
            self.refused,
        )

    def _kept(self) -> None:
        """The server took a batch again: the next drop is a new occurrence."""
        if self._dropping:
            with self._count_lock:
                self._dropping = False

    # --- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._pause())
            self._wake.clear()
            try:
                self._ship_queued()
                if self._closed:
                    self._ship_queued()
                    self.spool.rotate()
                    return
                self._replay()
                self._settle()
            except Exception:  # a bug here must not silence logging for the process's life
                log.exception("watchkeeper: the log thread of %s failed; going on", self._system)
                time.sleep(self._interval)

    def _pause(self) -> float:
        """Until the next round: `interval`, or sooner when a flush waits out a back-off."""
        left = self._down_until - time.monotonic()
        return min(self._interval, left) if self._flushes and left > 0 else self._interval

    def _ship_queued(self) -> None:
        queue = self._queue
        while queue:
            batches: dict[str, list[Any]] = {}
            flushes: list[_Flush] = []
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
            for mark in flushes:
                self._await(mark)

    def _await(self, mark: _Flush) -> None:
        """All before `mark` is sent, spooled or dropped: it now waits for the spool as it is."""
        self.spool.rotate()  # what this process spooled becomes replayable
        mark.segments = self.spool.outstanding()
        self._down_until = 0.0
        self._flushes.append(mark)

    def _settle(self) -> None:
        """Answer the flushes whose segments are all gone; forget those past their time."""
        now, waiting = time.monotonic(), []
        for mark in self._flushes:
            if not any(path.exists() for path in mark.segments):
                mark.done.set()
            elif now < mark.deadline:
                waiting.append(mark)
        self._flushes = waiting

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
            except Refused as exc:
                if exc.status == 413 and len(items) > 1:
                    half = len(items) // 2
                    self._deliver(kind, items[:half])
                    self._deliver(kind, items[half:])
                else:
                    self._refuse(len(items), str(exc))
                return
            except Unavailable:  # spool below
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
        """Deliver one batch, keeping the back-off. Unavailable: spool it; Refused: never."""
        try:
            taken, rejected = send(self.http, self._system, kind, body, self._timeout)
        except Unavailable as exc:
            self._failed(exc.backoff, str(exc))
            raise
        self.delivered += taken
        if rejected:
            self._warn(
                f"{len(rejected)} item(s) rejected and kept as dead letters "
                f"(`wk dead-letter {self._system}`), e.g. {rejected[0].get('error')}"
            )
        self._kept()
        if self._backoff:
            log.warning("watchkeeper: %s: the server answers again", self._system)
            self._down_until, self._backoff, self._last_warning = 0.0, 0.0, ""
        if self.spool.writing:  # back: what we spooled may be replayed now
            self.spool.rotate()

    def _failed(self, backoff: float, why: str) -> None:
        self._backoff = max(backoff, min(self._backoff * 2, _MAX_BACKOFF))
        wait = self._backoff
        if self._flushes and backoff < _REFUSED_BACKOFF:
            wait = min(wait, _FLUSH_RETRY)
        self._down_until = time.monotonic() + wait
        self._warn(f"cannot deliver to the server ({why}); spooling, retry in {wait:g} s")

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
                except Refused as exc:  # cannot ever be taken: do not block the rest on it
                    self._refuse(len(json.loads(body)), f"a spooled batch: {exc}")
                except Unavailable:
                    claimed.release()
                    return
                if len(self._queue) >= self._batch_size:
                    self._ship_queued()
            claimed.done()
            self._settle()
