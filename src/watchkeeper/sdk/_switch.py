"""One system's kill switch, kept current in memory for the serving path.

A daemon thread holds the server's switch stream open (server-sent events: the state at once,
then every flip as it happens), so a flip arrives as one line on a connection already open, and
writes each new state to a small cache file, so a process restarted while the server is down
starts from the last known state (and a forked worker from its parent's). Where the server or a
proxy before it cannot stream (no such route; an answer whose events never come through), it
long-polls instead (`?wait=&after_version=`): a flip then costs one round trip.

Only the server turns a system on. Past `grace` seconds without an answer (unreachable, or a
401/403/404 that confirms nothing) the switch applies `decide`: a known `disabled` stays
disabled, a known `enabled` follows the manifest's fail mode (open: enabled, closed: disabled),
and a state never known follows the fail mode from the start. It says so once in the log; the
next answer puts it back on the server's word.

The serving path reads one attribute (`enabled`); only this thread ever writes it.

Every request also reports, in `Watchkeeper-*` headers, who this process is (a random id made
when it starts, host, pid, SDK version, the service's name if given), the version it holds and its
fail mode: that is how the server knows which processes obeyed a flip. A streaming process
confirms each new version with a small report; the stream's reconnect (and each long-poll) is
the heartbeat: the thread speaks to the server at least every `heartbeat` seconds (the stream's
wait, the long-poll's and any back-off are capped by it), so no request is made for the roll call
alone.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
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
# a stream that failed as a stream (no route, events held back) is tried again after this long
_POLL_AFTER_NO_STREAM = 600.0
# a stream whose first event came within this many seconds of its end came all at once
_AT_THE_END = 0.5
# when a streaming process confirms a new version, in seconds after obeying it: not in the first
# moments, when the flip is still reaching the other processes
_CONFIRM_SPREAD = (0.2, 1.0)
# a process closing with a confirmation due sends it first, waiting at most this long
_LAST_CONFIRM = 1.0
_MAX_HELD_MS = 60_000  # the server believes no more
_STATES = ("enabled", "disabled")
_PROCESS_IDS: dict[int, str] = {}
# what this process last wrote to each cache file: clients sharing one (same server, same system)
# write it once per flip, not once each; each write is a rename onto the same file
_WRITTEN: dict[Path, bytes] = {}


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


class _NoStream(Exception):
    """The server (or something before it) cannot stream the switch: long-poll instead."""


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
        stream: bool = True,
        on_change: Callable[[bool], None] | None = None,
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
        # long-poll until then: always when told not to stream, a while when streaming failed
        self._poll_until = 0.0 if stream else math.inf
        self._closing = threading.Event()
        self._on_change = on_change
        # when the next confirmation is due (monotonic), for the confirming thread
        self._confirm_due: float | None = None
        self._confirm_wake = threading.Condition()
        self._cache_made = False
        self._ticket: str | None = None  # the open stream's, for confirming without the token
        # (version, since when): written as one, so a confirmation never pairs a version with
        # another version's moment
        self._held: tuple[int | None, float] = (None, time.monotonic())
        self._answered = threading.Event()
        last = _latest(known, self._read_cache())
        if last is not None:
            self._adopt(last, fresh=False)
        self._thread = threading.Thread(
            target=self._run, name=f"watchkeeper-switch-{system}", daemon=True
        )
        self._thread.start()
        if stream:
            threading.Thread(
                target=self._confirmations, name=f"watchkeeper-confirm-{system}", daemon=True
            ).start()
        self._answered.wait(start_timeout)

    def close(self) -> None:
        """Stop, after sending a confirmation still due (within `_LAST_CONFIRM` seconds): the
        process obeyed that flip, and one that exits just after it (a rolling deploy, a job
        ending) must not be named a straggler. A long-poll in flight cannot be interrupted from
        here; the daemon thread ends when it returns (at the latest after `wait`), changing
        nothing more."""
        with self._confirm_wake:
            due, self._confirm_due = self._confirm_due, None
        if due is not None:
            self._confirm(_LAST_CONFIRM)
        self._closing.set()
        with self._confirm_wake:
            self._confirm_wake.notify()

    # --- the background thread --------------------------------------------------------------

    def _run(self) -> None:
        backoff = _MIN_BACKOFF
        while not self._closing.is_set():
            try:
                # the first contact (and the first after trouble) is a plain GET answered at
                # once: a proxy that holds a stream's events back must not delay the first state
                if self._connected and time.monotonic() >= self._poll_until:
                    self._listen()
                else:
                    self._take(self._poll())
            except _NoStream as exc:
                log.warning(
                    "watchkeeper: %s; long-polling the switch of %s for %.0f s",
                    exc,
                    self._system,
                    _POLL_AFTER_NO_STREAM,
                )
                self._poll_until = time.monotonic() + _POLL_AFTER_NO_STREAM
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

    def _take(self, answer: dict[str, Any]) -> None:
        self._connected = True
        if not self._closing.is_set():
            self._adopt(answer, fresh=True)
        self._answered.set()

    def _listen(self) -> None:
        """One stream, from connecting until the server ends it (its wait is over: reconnecting
        is the heartbeat). Each event is adopted as it arrives, then confirmed with a report
        when its version is new to the server."""
        reported = self.state["version"] if self.state is not None else None
        # the server sends the state at once and a comment every `ping` seconds while nothing
        # moves: a read that waits longer than two pings is a stream held back (a buffering
        # proxy), given up in seconds rather than after the stream's life
        ping = max(1.0, self._margin / 2)
        timeout = httpx.Timeout(2 * ping + 1, connect=self._margin)
        started = time.monotonic()
        first: float | None = None  # when the first event came
        try:
            with self._http.stream(
                "GET",
                f"{self._path}/stream",
                # a stream's length varies, so a thousand processes started together (or
                # reconnecting after a restart) do not all reconnect in the same instant
                params={"wait": round(self._wait * random.uniform(0.5, 1.0), 3), "ping": ping},
                headers=self._report(),
                timeout=timeout,
            ) as response:
                if response.status_code != 200:
                    response.read()
                    if response.status_code == 405 or _detail(response) == "Not Found":
                        raise _NoStream("the server offers no switch stream")
                    raise _NoAnswer(
                        f"HTTP {response.status_code}: {_detail(response)}",
                        refused=response.status_code in (401, 403, 404),
                    )
                self._ticket = response.headers.get("Watchkeeper-Stream")

                for data in _event_data(response.iter_raw()):
                    try:
                        answer = json.loads(data)
                    except ValueError:
                        raise _NoAnswer("an event is not JSON") from None
                    if not _valid(answer):
                        raise _NoAnswer("an event is not a switch state")
                    self._take(answer)
                    first = first or time.monotonic()
                    if answer["version"] != reported and not self._closing.is_set():
                        self._confirm_soon()
                        reported = answer["version"]
        except httpx.ReadTimeout:
            if first is None:  # the state comes at once, then pings: something holds them back
                raise _NoStream(
                    "the switch stream sent nothing at once (a buffering proxy?)"
                ) from None
            raise _NoAnswer("the switch stream went silent") from None
        except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: closed meanwhile
            raise _NoAnswer(f"{type(exc).__name__}: {exc}") from None
        if first is None:
            raise _NoAnswer("the switch stream ended without an event")
        if _held_back(first - started, time.monotonic() - started):
            raise _NoStream("the switch stream's events came only as it ended (a buffering proxy?)")

    def _confirm_soon(self) -> None:
        """Confirm a moment later, at random within `_CONFIRM_SPREAD`: a thousand processes
        confirming the instant they obey would compete with the flip's delivery to the rest.
        The report says how long the version has been held, so the server dates it right. A
        newer flip moves the moment: one report then confirms the newest version."""
        with self._confirm_wake:
            self._confirm_due = time.monotonic() + random.uniform(*_CONFIRM_SPREAD)
            self._confirm_wake.notify()

    def _confirmations(self) -> None:
        """The confirming thread, started with the watcher: a thread started per confirmation
        (a `threading.Timer`) cost every process a thread start on every flip, while the flip
        was still reaching the others."""
        while True:
            with self._confirm_wake:
                while not self._closing.is_set() and (
                    self._confirm_due is None or self._confirm_due > time.monotonic()
                ):
                    left = (
                        None if self._confirm_due is None else self._confirm_due - time.monotonic()
                    )
                    self._confirm_wake.wait(left)
                if self._closing.is_set():
                    return
                self._confirm_due = None
            self._confirm()

    def _confirm(self, timeout: float | None = None) -> None:
        """Tell the server which version this process now holds. Best effort: the next
        reconnect says it too."""
        if self._closing.is_set():
            return
        try:
            ticket = {"Watchkeeper-Stream": self._ticket} if self._ticket else {}
            self._http.post(
                f"{self._path}/report",
                headers={**self._report(), **ticket},
                timeout=httpx.Timeout(timeout or self._margin),
            )
        except (httpx.HTTPError, RuntimeError) as exc:
            log.debug("watchkeeper: could not confirm the switch of %s: %s", self._system, exc)

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
        version, since = self._held
        if version is not None:
            said["Watchkeeper-Holds"] = str(version)
            held = (time.monotonic() - since) * 1000
            said["Watchkeeper-Held-Ms"] = str(min(_MAX_HELD_MS, round(held)))
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
        if previous is None or previous["version"] != answer["version"]:
            self._held = (answer["version"], time.monotonic())
        self.state = answer
        self.fail_mode = answer.get("fail_mode") or self._default_fail_mode
        # first: the serving path sees it at once
        was, self.enabled = self.enabled, decide(answer["state"], self.fail_mode, stale=False)
        if fresh:
            self._changed(was)
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
        was, self.enabled = self.enabled, decide(known, self.fail_mode, stale=True)
        self._changed(was)
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

    def _changed(self, was: bool) -> None:
        """Tell the serving code's `on_change`, if `enabled` moved; what it raises is logged,
        never allowed to stop the thread that keeps the switch."""
        if self._on_change is None or self.enabled is was:
            return
        try:
            self._on_change(self.enabled)
        except Exception:
            log.exception("watchkeeper: on_switch of %s raised", self._system)

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
        encoded = json.dumps(answer).encode()
        if _WRITTEN.get(self._cache) == encoded:
            return
        # a scratch file of this thread's own, then an atomic rename: readers never see half a
        # file, and clients sharing the cache (same server, same system) never trip over each
        # other; plain os calls, as this runs on every flip in every process
        scratch = self._cache.with_name(
            f"{self._cache.name}.{os.getpid()}-{threading.get_ident()}.tmp"
        )
        try:
            if not self._cache_made:
                self._cache.parent.mkdir(parents=True, exist_ok=True)
                self._cache_made = True
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, encoded)
            finally:
                os.close(fd)
            os.replace(scratch, self._cache)
            _WRITTEN[self._cache] = encoded
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


def _held_back(first: float, whole: float) -> bool:
    """Whether a stream's events were held back until it ended: the server sends the state the
    moment it answers and keeps the stream open after it, so a first event that came late and
    only as the stream ended was kept by something between. A first event merely late (a
    server or network slow for seconds), with the stream living on after it, is no proxy: taken
    for one, it cost ten minutes of long-polling."""
    return first > 0.5 and whole - first < _AT_THE_END


def _event_data(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The `data` of each server-sent event as it completes (comments and other fields are
    skipped), read from the raw bytes: no text decoding on the path every flip takes."""
    buffer, data = b"", list[bytes]()
    for chunk in chunks:
        *lines, buffer = (buffer + chunk).split(b"\n")
        for line in lines:
            line = line.removesuffix(b"\r")
            if not line:
                if data:
                    yield b"\n".join(data)
                    data = []
            elif line.startswith(b"data:"):
                data.append(line[5:].removeprefix(b" "))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except (ValueError, AttributeError):
        return response.text[:200]
