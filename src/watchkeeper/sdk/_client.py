"""`watchkeeper.Client`: what serving code holds. It checks the kill switch with a memory read and
queues observations, feedback and flags for a background thread; nothing here blocks a request.

Every live client is closed (flushed, with a timeout) at interpreter exit, and rebuilt in the child
after `os.fork()` (gunicorn and uvicorn workers): a new connection pool, a new switch watcher
starting from the cached state, and a new log thread with an empty queue.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import os
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx

from watchkeeper.sdk._log import Shipper
from watchkeeper.sdk._spool import Spool, folder_name, key
from watchkeeper.sdk._switch import SwitchWatcher
from watchkeeper.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class SystemDisabled(Exception):
    """Raised by a `@client.monitored()` function while its system's kill switch is off."""

    def __init__(self, system: str, reason: str | None, fallback: str | None) -> None:
        self.system = system
        self.reason = reason
        self.fallback = fallback
        message = f"{system} is disabled by its kill switch"
        if reason:
            message += f": {reason}"
        if fallback:
            message += f" (fallback: {fallback})"
        super().__init__(message)


class Client:
    """A connection to Watchkeeper for one AI system.

    `url` and `token` default to WATCHKEEPER_URL and WATCHKEEPER_TOKEN. `grace` is how long
    (seconds) a known `enabled` is trusted without the server before `fail_mode` (the
    manifest's, once known; this argument until then) applies; `fail_mode` also decides while
    no state was ever known. A known `disabled` holds until the server itself says `enabled`:
    no silence, refused token or fail mode turns a killed system back on. `cache_dir` holds the
    last known state across restarts (default: $XDG_CACHE_HOME/watchkeeper). `transport` is
    any httpx transport, e.g. for a proxy or a test server in-process. The constructor waits up to
    `start_timeout` seconds for the first answer, so `enabled()` is right from the start.

    The switch arrives on a stream the server holds open (`switch_stream=False`: long-polls,
    as the client does by itself when the server or a proxy cannot stream). Each request tells
    the server who this process is (host, pid, SDK version, and `service`, your own name for
    what serves, shown to the kill authority), the version it holds and its fail mode, so a
    flip is confirmed by the processes that obey it and the others are named. It speaks at
    least every `heartbeat` seconds; silent for three, it is not counted as live. `on_switch`,
    if given, is called with the new value each time `enabled()` changes, on the thread that
    keeps the switch: for code that must act on a kill rather than check it per request (stop
    a queue consumer, cancel a batch). Keep it short: the next flip waits for it; what it
    raises is logged.

    `log()` batches up to `batch_size` items or `interval` seconds, whichever comes first; at
    most `max_queue` items wait in memory and `spool_bytes` on disk (under `cache_dir`) while
    the server is unreachable. `dropped` counts what those bounds made it drop. The spool is
    keyed by system and server (`cache_dir/spool-SYSTEM-HASH`, the hash of the server's URL,
    spelled one way): the next client of the same system and server, in this process or a
    later one, delivers what this one could not, and so does `python -m watchkeeper.sdk
    replay FOLDER`.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        system: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        grace: float = 60.0,
        fail_mode: Literal["open", "closed"] = "open",
        start_timeout: float = 2.0,
        service: str | None = None,
        heartbeat: float = 30.0,
        switch_stream: bool = True,
        on_switch: Callable[[bool], None] | None = None,
        batch_size: int = 1000,
        interval: float = 0.5,
        max_queue: int = 100_000,
        spool_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        settings = Settings.from_env()
        url, token = url or settings.url, token or settings.token
        if not url:
            raise ValueError("no server: pass url= or set WATCHKEEPER_URL")
        if not token:
            raise ValueError("no API token: pass token= or set WATCHKEEPER_TOKEN")
        if not system:
            raise ValueError("name the AI system this client serves: Client(system=...)")
        if fail_mode not in ("open", "closed"):
            raise ValueError(f"fail_mode must be open or closed, not {fail_mode!r}")
        if grace <= 0:
            raise ValueError("grace must be a positive number of seconds")
        if not 0 < heartbeat <= 300:
            raise ValueError("heartbeat must be more than 0 and at most 300 seconds")
        if service is not None and not (
            0 < len(service) <= 100 and service.isascii() and service.isprintable()
        ):
            raise ValueError(f"service must be 1 to 100 printable ASCII characters: {service!r}")
        if batch_size < 1 or interval <= 0 or max_queue < batch_size:
            raise ValueError("need batch_size >= 1, interval > 0 and max_queue >= batch_size")
        self.system = system
        self.url = url.rstrip("/")
        self._closed = False
        self._connect = functools.partial(
            httpx.Client,
            base_url=self.url,
            transport=transport,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "watchkeeper-sdk"},
        )
        self._http = self._connect()
        self._watch = functools.partial(
            SwitchWatcher,
            system=system,
            cache=_cache_file(cache_dir, self.url, system),
            grace=grace,
            fail_mode=fail_mode,
            heartbeat=heartbeat,
            service=service,
            stream=switch_stream,
            on_change=on_switch,
        )
        self._switch = self._watch(self._http, start_timeout=start_timeout)
        spool = Spool(
            _cache_dir(cache_dir) / folder_name(self.url, system),
            max_bytes=spool_bytes,
            segment_bytes=min(16 * 1024 * 1024, max(spool_bytes // 8, 1)),
        )
        self._shipper = Shipper(
            self._http,
            system,
            spool,
            batch_size=batch_size,
            interval=interval,
            max_queue=max_queue,
        )
        _LIVE.add(self)

    def enabled(self) -> bool:
        """Whether the system may serve now. A memory read: call it on every request."""
        return self._switch.enabled

    @property
    def switch(self) -> dict[str, Any] | None:
        """The last switch state heard (or cached): state, version, reason, changed_by, ..."""
        return self._switch.state

    @property
    def stale(self) -> bool:
        """True while the server has not answered for longer than the grace period."""
        return self._switch.stale

    def monitored(self, fallback: Callable[..., Any] | None = None) -> Callable[[F], F]:
        """Decorate the function that serves the system: while disabled, `fallback` (called
        with the same arguments) answers instead, or `SystemDisabled` is raised."""

        def decorate(function: F) -> F:
            if inspect.iscoroutinefunction(function):

                @functools.wraps(function)
                async def serve_async(*args: Any, **kwargs: Any) -> Any:
                    if self._switch.enabled:
                        return await function(*args, **kwargs)
                    result = self._disabled(fallback, args, kwargs)
                    return await result if inspect.isawaitable(result) else result

                return serve_async  # type: ignore[return-value]

            @functools.wraps(function)
            def serve(*args: Any, **kwargs: Any) -> Any:
                if self._switch.enabled:
                    return function(*args, **kwargs)
                return self._disabled(fallback, args, kwargs)

            return serve  # type: ignore[return-value]

        return decorate

    def _disabled(
        self, fallback: Callable[..., Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if fallback is not None:
            return fallback(*args, **kwargs)
        state = self._switch.state or {}
        raise SystemDisabled(self.system, state.get("reason"), state.get("fallback"))

    # --- observations -----------------------------------------------------------------------

    def log(
        self,
        inputs: Mapping[str, Any],
        output: Any,
        *,
        id: str | None = None,
        ts: datetime | float | None = None,
        latency_ms: float | None = None,
        model_version: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Record what the system saw and said; returns the observation's id (for feedback).

        Queues and returns at once: the item is encoded and sent by the background thread, so
        do not change `inputs`, `output` or `metadata` afterwards. `ts` defaults to now.
        """
        if id is None:
            id = uuid.uuid4().hex
        item = {"id": id, "ts": time.time() if ts is None else ts, "inputs": inputs}
        if output is not None:
            item["output"] = output
        if latency_ms is not None:
            item["latency_ms"] = latency_ms
        if model_version is not None:
            item["model_version"] = model_version
        if metadata is not None:
            item["metadata"] = metadata
        self._shipper.put("observations", item)
        return id

    def feedback(
        self,
        observation_id: str,
        *,
        label: str | None = None,
        score: float | None = None,
        thumbs_up: bool | None = None,
    ) -> None:
        """What someone made of an observation; it may even come before the observation."""
        if label is None and score is None and thumbs_up is None:
            raise ValueError("give at least one of label, score or thumbs_up")
        item: dict[str, Any] = {"observation_id": observation_id, "ts": time.time()}
        for name, value in (("label", label), ("score", score), ("thumbs_up", thumbs_up)):
            if value is not None:
                item[name] = value
        self._shipper.put("feedback", item)

    def flag(self, observation_id: str, reason: str) -> None:
        """Put an observation in front of the quality monitor (the triage queue), with why."""
        if not reason.strip():
            raise ValueError("a flag needs a reason")
        self._shipper.put("flags", {"observation_id": observation_id, "reason": reason})

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver now: end any back-off, send what is queued and replay the spool (what this
        client spooled, and what clients of this system and server that are gone left). True
        once the server stored all of it — or refused some for good, counted in `refused`;
        False when `timeout` seconds passed first, with the rest safe in the spool; with no
        `timeout` it waits until delivered, however long the server is away. Call it before a
        job exits: a True means nothing waits on this machine (items the memory or disk bounds
        dropped are counted in `dropped`, not waited for)."""
        return self._shipper.flush(timeout)

    @property
    def dropped(self) -> int:
        """Items dropped because the memory queue or the disk spool was full (each logged)."""
        return self._shipper.dropped

    @property
    def refused(self) -> int:
        """Items the server refused for good (a 4xx resending cannot change; each logged)."""
        return self._shipper.refused

    @property
    def delivered(self) -> int:
        """Items the server took (stored, already there, or kept as dead letters), spooled
        ones of earlier clients included."""
        return self._shipper.delivered

    def close(self, timeout: float = 10.0) -> None:
        """Flush for up to most of `timeout` seconds — a job exiting while the server is down
        waits that long — then spool the rest, stop the background threads and release the
        connection. Called at exit for clients still open."""
        if self._closed:
            return
        self._closed = True
        _LIVE.discard(self)
        self._shipper.close(timeout)
        self._switch.close()
        self._http.close()

    def _after_fork(self) -> None:
        """In a forked child: the parent's threads are gone and its sockets are its own; what
        the parent knew of the switch is still true (the cache may be older, or missing)."""
        self._http = self._connect()  # the parent's pool is left alone, not closed
        self._switch = self._watch(self._http, start_timeout=0, known=self._switch.state)
        self._shipper.after_fork(self._http)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "watchkeeper"


def _cache_file(cache_dir: str | os.PathLike[str] | None, url: str, system: str) -> Path:
    return _cache_dir(cache_dir) / f"switch-{key(url, system)}.json"


# The process-wide registry the exit and fork hooks need; weak, so it keeps no client alive.
_LIVE: weakref.WeakSet[Client] = weakref.WeakSet()


def _close_all() -> None:
    for client in list(_LIVE):
        client.close()


def _rebuild_all() -> None:
    for client in list(_LIVE):
        client._after_fork()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_rebuild_all)
