"""One system's kill switch, kept current in memory for the serving path.

A daemon thread long-polls the server (`?wait=&after_version=`), so a flip arrives within one
round trip, and writes each new state to a small cache file, so a process restarted while the
server is down starts from the last known state (and a forked worker from its parent's).

Only the server turns a system on. Past `grace` seconds without an answer (unreachable, or a
401/403/404 that confirms nothing) the switch applies `decide`: a known `disabled` stays
disabled, a known `enabled` follows the manifest's fail mode (open: enabled, closed: disabled),
and a state never known follows the fail mode from the start. It says so once in the log; the
next answer puts it back on the server's word.

The serving path reads one attribute (`enabled`); only this thread ever writes it.

Every poll also reports, in `Watchkeeper-*` headers, who this process is (a random id made when
it starts, host, pid, SDK version, the service's name if given), the version it holds and its
fail mode: that is how the server knows which processes obeyed a flip. The poll is the heartbeat:
the thread speaks to the server at least every `heartbeat` seconds (the long-poll's wait and any
back-off are capped by it), so no request is ever made for the roll call alone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import quote

import httpx

log = logging.getLogger("watchkeeper.sdk")
_MIN_BACKOFF, _MAX_BACKOFF = 0.25, 2.0
# 401/403/404 will not mend by retrying soon, and each 403 is a row in the audit trail
_REFUSED_BACKOFF = 30.0
_STATES = ("enabled", "disabled")
_PROCESS_IDS: dict[int, str] = {}


def process_id() -> str:
    """This process's random id, made on first use; a forked child (another pid) gets its own."""
    return _PROCESS_IDS.setdefault(os.getpid(), uuid.uuid4().hex)


@cache
def _sdk_version() -> str:
    try:
        return metadata.version("watchkeeper")[:32]
    except metadata.PackageNotFoundError:
        return "unknown"


def identity(service: str | None, heartbeat: float) -> dict[str, str]:
    """The headers that say who polls: the same on every poll of this process."""
    said = {
        "Watchkeeper-Process": process_id(),
        "Watchkeeper-Host": socket.gethostname()[:253],
        "Watchkeeper-Pid": str(os.getpid()),
        "Watchkeeper-Sdk": _sdk_version(),
        "Watchkeeper-Heartbeat": f"{heartbeat:g}",
    }
    if service is not None:
        said["Watchkeeper-Service"] = service
    return said


def decide(known: str | None, fail_mode: str, *, stale: bool) -> bool:
    """Whether the system may serve, from the last state heard (None: never heard) and whether
    the server has been silent past the grace period. A kill is never undone by silence: the
    fail mode decides only what the SDK cannot know, never against a known `disabled`."""
    if known == "disabled":
        return False
    if known == "enabled" and not stale:
        return True
    return fail_mode == "open"


class _NoAnswer(Exception):
    """The server could not be reached or did not answer with a switch state."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class SwitchWatcher:
    def __init__(
        self,
        http: httpx.Client,
        system: str,
        *,
        cache: Path | None,
        grace: float,
        fail_mode: str,
        start_timeout: float,
        heartbeat: float,
        service: str | None = None,
        known: dict[str, Any] | None = None,
    ) -> None:
        self.enabled = decide(None, fail_mode, stale=False)
        self.state: dict[str, Any] | None = None
        self.stale = False
        self.fail_mode = fail_mode
        self._default_fail_mode = fail_mode
        self._http = http
        self._path = f"/api/v1/systems/{quote(system, safe='')}/switch"
        self._system = system
        self._cache = cache
        self._grace = grace
        # a healthy long-poll answers at least every `wait` s, well inside the grace period,
        # and the next poll (the heartbeat) follows at once
        self._wait = min(25.0, grace / 3, heartbeat)
        self._heartbeat = heartbeat
        self._identity = identity(service, heartbeat)
        self._margin = min(5.0, grace / 3)
        self._last_contact = time.monotonic()
        self._last_trouble = ""
        self._connected = False  # long-poll only right after an answer; reconnect with a plain GET
        self._closing = threading.Event()
        self._answered = threading.Event()
        last = _latest(known, self._read_cache())
        if last is not None:
            self._adopt(last, fresh=False)
        self._thread = threading.Thread(
            target=self._run, name=f"watchkeeper-switch-{system}", daemon=True
        )
        self._thread.start()
        self._answered.wait(start_timeout)

    def close(self) -> None:
        """Stop at once. A long-poll in flight cannot be interrupted from here; the daemon
        thread ends when it returns (at the latest after `wait`), changing nothing more."""
        self._closing.set()

    # --- the background thread --------------------------------------------------------------

    def _run(self) -> None:
        backoff = _MIN_BACKOFF
        while not self._closing.is_set():
            try:
                answer = self._poll()
            except _NoAnswer as exc:
                self._connected = False
                self._answered.set()
                if self._closing.is_set():
                    return
                self._trouble(str(exc))
                self._pause(_REFUSED_BACKOFF if exc.refused else backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                if not self.stale and time.monotonic() - self._last_contact >= self._grace:
                    self._go_stale()
            else:
                backoff = _MIN_BACKOFF
                self._connected = True
                if not self._closing.is_set():
                    self._adopt(answer, fresh=True)
                self._answered.set()

    def _poll(self) -> dict[str, Any]:
        params: dict[str, float | int] = {}
        if self.state is not None and self._connected:
            params = {"wait": self._wait, "after_version": self.state["version"]}
        timeout = httpx.Timeout(self._wait + self._margin, connect=self._margin)
        try:
            response = self._http.get(
                self._path, params=params, headers=self._report(), timeout=timeout
            )
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed meanwhile
            raise _NoAnswer(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise _NoAnswer(
                f"HTTP {response.status_code}: {_detail(response)}",
                refused=response.status_code in (401, 403, 404),
            )
        try:
            answer = response.json()
        except ValueError:
            raise _NoAnswer("the answer is not JSON") from None
        if not _valid(answer):
            raise _NoAnswer("the answer is not a switch state")
        return answer

    def _report(self) -> dict[str, str]:
        said = {**self._identity, "Watchkeeper-Fail-Mode": self.fail_mode}
        if self.state is not None:
            said["Watchkeeper-Holds"] = str(self.state["version"])
        return said

    def _pause(self, seconds: float) -> None:
        """Sleep, but wake when the grace period ends, so the fail mode applies on time, and
        when a heartbeat is due, so the server still hears from this process."""
        seconds = min(seconds, self._heartbeat)
        if not self.stale:
            remaining = self._grace - (time.monotonic() - self._last_contact)
            seconds = max(0.0, min(seconds, remaining))
        self._closing.wait(seconds)

    def _adopt(self, answer: dict[str, Any], *, fresh: bool) -> None:
        previous = self.state
        self.state = answer
        self.fail_mode = answer.get("fail_mode") or self._default_fail_mode
        # first: the serving path sees it at once
        self.enabled = decide(answer["state"], self.fail_mode, stale=False)
        if fresh:
            self._last_contact = time.monotonic()
            if self.stale:
                log.warning("watchkeeper: %s reached again; following its switch", self._system)
                self.stale = False
            self._last_trouble = ""
            if answer != previous:
                self._write_cache(answer)

    def _go_stale(self) -> None:
        self.stale = True
        known = self.state["state"] if self.state is not None else None
        self.enabled = decide(known, self.fail_mode, stale=True)
        log.warning(
            "watchkeeper: no answer about %s for %.0f s (%s); %s: %s",
            self._system,
            self._grace,
            self._last_trouble or "unreachable",
            "keeping the known kill until the server lifts it"
            if known == "disabled"
            else f"following fail_mode={self.fail_mode}",
            "enabled" if self.enabled else "DISABLED",
        )

    def _trouble(self, message: str) -> None:
        if message != self._last_trouble:
            log.warning("watchkeeper: cannot read the switch of %s: %s", self._system, message)
            self._last_trouble = message

    # --- the cache file ---------------------------------------------------------------------

    def _read_cache(self) -> dict[str, Any] | None:
        if self._cache is None or not self._cache.exists():
            return None
        try:
            cached = json.loads(self._cache.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("watchkeeper: ignoring unreadable cache %s: %s", self._cache, exc)
            return None
        return cached if _valid(cached) else None

    def _write_cache(self, answer: dict[str, Any]) -> None:
        if self._cache is None:
            return
        try:
            self._cache.parent.mkdir(parents=True, exist_ok=True)
            # a scratch file of our own, then an atomic rename: readers never see half a file,
            # and clients sharing the cache (same server, same system) never trip over each other
            with tempfile.NamedTemporaryFile(
                "w", dir=self._cache.parent, suffix=".tmp", delete=False, encoding="utf-8"
            ) as scratch:
                scratch.write(json.dumps(answer))
            os.replace(scratch.name, self._cache)
        except OSError as exc:
            log.warning("watchkeeper: cannot write the switch cache %s: %s", self._cache, exc)
            self._cache = None


def _latest(*states: dict[str, Any] | None) -> dict[str, Any] | None:
    """The newest of several known states (a parent's memory, the cache file)."""
    known = [state for state in states if state is not None]
    return max(known, key=lambda state: state["version"]) if known else None


def _valid(answer: Any) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(answer, dict)
        and answer.get("state") in _STATES
        and isinstance(answer.get("version"), int)
    )


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except (ValueError, AttributeError):
        return response.text[:200]
