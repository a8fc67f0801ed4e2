"""`watchkeeper.Client`: what serving code holds. It checks the kill switch with a memory read and
(in later releases) queues observations in the background; nothing here blocks a request."""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx

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
    (seconds) the last known switch state is trusted without the server before `fail_mode` (the
    manifest's, once known; this argument until then) applies. `cache_dir` holds the last known
    state across restarts (default: $XDG_CACHE_HOME/watchkeeper). `transport` is any httpx
    transport, e.g. for a proxy or a test server in-process. The constructor waits up to
    `start_timeout` seconds for the first answer, so `enabled()` is right from the start.
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
        self.system = system
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            transport=transport,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "watchkeeper-sdk"},
        )
        self._switch = SwitchWatcher(
            self._http,
            system,
            cache=_cache_file(cache_dir, self.url, system),
            grace=grace,
            fail_mode=fail_mode,
            start_timeout=start_timeout,
        )

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

    def close(self) -> None:
        """Stop the background thread and release the connection."""
        self._switch.close()
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cache_file(cache_dir: str | os.PathLike[str] | None, url: str, system: str) -> Path:
    folder = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    server = hashlib.sha256(url.encode()).hexdigest()[:12]
    return folder / f"switch-{re.sub(r'[^A-Za-z0-9_-]', '_', system)}-{server}.json"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "watchkeeper"
