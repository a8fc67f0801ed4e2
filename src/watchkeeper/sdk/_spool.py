"""The SDK's disk spool: batches the server could not take wait here until it can.

A folder of segments, append-only files of whole batches, one per line: `KIND<TAB>JSON\\n`, the
JSON being the very body that was (or would have been) posted, so a replay sends it unchanged and
the server's idempotency on ids makes a resend harmless. Names start with the creation time, so
sorting them gives the oldest first.

Each process appends to a segment of its own, holding an exclusive `flock` on it while it grows.
A segment whose lock can be taken belongs to no one: its writer rotated it (the server came back),
closed, or died — the kernel drops the locks of a dead process, so a SIGKILLed worker's segment is
replayed by whichever process sharing the folder gets there first. The same lock keeps two
replayers from sending one segment at once. A torn last line (a crash mid-write) is skipped.

The total size is bounded: past it a batch is not written, and the caller counts and reports it.

One folder per system and server (`folder_name`): every client for that pair — other workers, the
next run of a job, `python -m watchkeeper.sdk replay` — finds and delivers what another left, and
never sends it to another system or server. The server is its URL with what does not change the
server (scheme and host case, a default port, a trailing slash) taken out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

try:
    import fcntl
except ImportError:  # Windows: no flock; there a process only replays segments it wrote
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("watchkeeper.sdk")
KINDS = ("observations", "feedback", "flags")
SUFFIX = ".spool"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_FOLDER = re.compile(r"spool-(?P<system>[A-Za-z0-9_-]+)-(?P<server>[0-9a-f]{12})")


def server_of(url: str) -> str:
    """The server a URL names, spelled one way: `HTTP://Host:80/` and `http://host` are one."""
    parsed = httpx.URL(url)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = "" if parsed.port in (None, _DEFAULT_PORTS.get(parsed.scheme)) else f":{parsed.port}"
    return f"{parsed.scheme}://{host}{port}{parsed.path.rstrip('/')}"


def key(url: str, system: str) -> str:
    """`SYSTEM-SERVERHASH`, naming what a client keeps on disk for one system on one server."""
    server = hashlib.sha256(server_of(url).encode()).hexdigest()[:12]
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', system)}-{server}"


def folder_name(url: str, system: str) -> str:
    return f"spool-{key(url, system)}"


def parse_folder_name(name: str) -> tuple[str, str] | None:
    """(system, server hash) of a spool folder's name; None for any other name. Exact for every
    system name a manifest allows (a slug)."""
    found = _FOLDER.fullmatch(name)
    return (found["system"], found["server"]) if found else None


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _replayable(path: Path) -> bool:
    """Without flock a segment cannot say whether its writer is alive: only our own is safe."""
    return fcntl is not None or f"-{os.getpid()}-" in path.name


class Claimed:
    """A segment this process holds for replay: `batches()` to read, then `done()` to delete it
    or `release()` to leave it for a later try."""

    def __init__(self, path: Path, fd: int, held: set[Path]) -> None:
        self.path, self._fd, self._held = path, fd, held
        held.add(path)

    def batches(self) -> Iterator[tuple[str, bytes]]:
        with os.fdopen(os.dup(self._fd), "rb") as handle:
            for line in handle:
                kind, tab, body = line.partition(b"\t")
                if (
                    not tab
                    or not line.endswith(b"\n")
                    or kind.decode(errors="replace") not in KINDS
                ):
                    log.warning("watchkeeper: skipping a torn line in the spool %s", self.path)
                    continue
                yield kind.decode(), body[:-1]

    def done(self) -> None:
        self.path.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        self._held.discard(self.path)
        os.close(self._fd)


class Spool:
    def __init__(self, folder: Path, *, max_bytes: int, segment_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._fd: int | None = None  # the segment this process appends to, locked
        self._path: Path | None = None
        self._written = 0
        self._mine: set[Path] = set()  # segments this process wrote that may still be there
        self._held: set[Path] = set()  # segments this process is replaying

    @property
    def writing(self) -> bool:
        return self._fd is not None

    def append(self, kind: str, body: bytes) -> bool:
        """Write one batch; False (nothing written) when that would pass the bound or the
        disk refuses — the caller counts those items as dropped."""
        line = kind.encode() + b"\t" + body + b"\n"
        try:
            if self.size() + len(line) > self.max_bytes:
                return False
            if self._fd is None or self._written + len(line) > self.segment_bytes:
                self._open()
            assert self._fd is not None
            os.write(self._fd, line)
        except OSError as exc:
            log.error("watchkeeper: cannot write the spool in %s: %s", self.folder, exc)
            return False
        self._written += len(line)
        return True

    def size(self) -> int:
        """Bytes spooled by every process sharing the folder."""
        try:
            with os.scandir(self.folder) as entries:
                return sum(e.stat().st_size for e in entries if e.name.endswith(SUFFIX))
        except FileNotFoundError:
            return 0

    def _open(self) -> None:
        self.rotate()
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        fresh = self.folder / f".{name}.new"
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _try_lock(fd)  # under a name no replayer looks at, so this cannot fail
        path = self.folder / f"{name}{SUFFIX}"
        os.rename(fresh, path)  # visible to replayers only once locked
        self._fd, self._path, self._written = fd, path, 0
        self._mine.add(path)

    def rotate(self) -> None:
        """Stop appending to the current segment: from now on anyone may replay it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = self._path = None

    def forget_inherited(self) -> None:
        """In a forked child: drop the parent's segment without touching its lock (closing our
        copy of the descriptor leaves the parent's lock in place)."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd = self._path = None
        self._written = 0
        self._mine, self._held = set(), set()

    def claim(self) -> Claimed | None:
        """The oldest segment no live writer or replayer holds, locked for us; else None."""
        for path in self.segments():
            if path == self._path or not _replayable(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            # locked, and still there: another replayer may have finished it meanwhile
            if _try_lock(fd) and os.fstat(fd).st_nlink > 0:
                return Claimed(path, fd, self._held)
            os.close(fd)
        return None

    def outstanding(self) -> frozenset[Path]:
        """The segments a flush now must see delivered: those this process wrote or is
        replaying, and every one no other process holds (left by a process that exited or died,
        or rotated for replay). Another process's segment still being written is its own."""
        self._mine = {path for path in self._mine if path.exists()}
        waiting = set(self._mine | self._held)
        for path in self.segments():
            if path in waiting or path == self._path or not _replayable(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                if _try_lock(fd):
                    waiting.add(path)
            finally:
                os.close(fd)
        return frozenset(waiting)

    def segments(self) -> list[Path]:
        """Every segment in the folder, oldest first."""
        try:
            return sorted(self.folder / p for p in os.listdir(self.folder) if p.endswith(SUFFIX))
        except FileNotFoundError:
            return []
