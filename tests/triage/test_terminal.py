"""`wk triage` driven end to end through a pseudo-terminal, as a person over SSH would."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from watchkeeper.app import Operations, build
from watchkeeper.manifest import load_text
from watchkeeper.settings import Settings
from watchkeeper.testing import T0

from .test_service import manifests


def _key(fd: int, key: bytes) -> None:
    """A single keypress once the program reads raw keys (before that the tty buffers lines)."""
    time.sleep(1.0)
    os.write(fd, key)


def _read_until(fd: int, marker: bytes, buffer: bytearray, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while marker not in buffer:
        remaining = deadline - time.monotonic()
        assert remaining > 0, (
            f"never saw {marker!r}; screen so far:\n{buffer.decode(errors='replace')}"
        )
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                buffer.extend(os.read(fd, 4096))
            except OSError:
                break


def test_keyboard_review_records_verdicts(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'wk.db'}"
    app = build(Settings(db=db))
    try:
        app.charter.apply(load_text(manifests("http://127.0.0.1:9")), "ops", T0)
        items = [{"id": f"o{i}", "ts": T0.isoformat(), "output": f"Sorry {i}"} for i in range(2)]
        ops = Operations(app, "ops", T0, enforce=False)
        ops.ingest("bot", items)
        app.triage.scan(T0.replace(hour=0) + timedelta(days=1, hours=1))
    finally:
        app.close()
    env = {
        **os.environ,
        "WATCHKEEPER_DB": db,
        "WATCHKEEPER_USER": "qa@corp.example",
        "COLUMNS": "100",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }
    parent, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "watchkeeper.cli", "triage", "bot"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
    )
    os.close(child)
    screen = bytearray()
    try:
        _read_until(parent, b"uit", screen)
        assert b"item 1 of 2" in screen
        _key(parent, b"w")
        _read_until(parent, b"corrected label", screen)
        os.write(parent, b"apology\r")
        _read_until(parent, b"tags", screen)
        os.write(parent, b"over-apology, tone\r")
        _read_until(parent, b"note", screen)
        os.write(parent, b"needless apology\r")
        _read_until(parent, b"item 2 of 2", screen)
        screen = bytearray(screen[screen.index(b"item 2 of 2") :])
        _read_until(parent, b"uit", screen)
        _key(parent, b"o")
        _read_until(parent, b"tags", screen)
        os.write(parent, b"\r")
        _read_until(parent, b"note", screen)
        os.write(parent, b"\r")
        _read_until(parent, b"verdict(s) recorded", screen)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        os.close(parent)
    listing = subprocess.run(
        [sys.executable, "-m", "watchkeeper.cli", "triage", "bot", "--all", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    reviewed = sorted((i["verdict"], i["label"], i["tags"]) for i in json.loads(listing.stdout))
    assert reviewed == [("ok", None, []), ("wrong", "apology", ["over-apology", "tone"])]
