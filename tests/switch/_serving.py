"""Real serving processes for the kill switch's end-to-end tests: each runs the SDK against a
live server and serves requests through `monitored`, counting every call that its fallback
answered. Asked with a line `report` on its standard input, it answers one JSON line: the switch
state it holds, every value `enabled()` took, and how many calls the fallback answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.server._world import SYSTEM

HEARTBEAT = 1.0
# Its wall clock shifted by CLOCK_OFFSET seconds; serves a request every millisecond.
SERVING = """
import json, os, sys, threading, time
offset = float(os.environ.get("CLOCK_OFFSET", "0"))
real = time.time
time.time = lambda: real() + offset
from watchkeeper import Client
url, token, system, cache, service, heartbeat = sys.argv[1:7]
client = Client(url=url, token=token, system=system, cache_dir=cache, service=service,
                heartbeat=float(heartbeat))
seen, counts = {client.enabled()}, {"calls": 0, "fallbacks": 0}

def fallback():
    counts["fallbacks"] += 1

@client.monitored(fallback=fallback)
def serve():
    counts["calls"] += 1

def traffic():
    while True:
        seen.add(client.enabled())
        serve()
        time.sleep(0.001)

threading.Thread(target=traffic, daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    said = {"switch": client.switch, "enabled_seen": sorted(seen), **counts}
    print(json.dumps(said), flush=True)
"""


class Serving:
    def __init__(
        self,
        url: str,
        token: str,
        cache: Path,
        service: str,
        offset: float,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.service = service
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVING, url, token, SYSTEM, str(cache), service,
             str(heartbeat)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CLOCK_OFFSET": str(offset)},
        )  # fmt: skip
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready", self.process.stderr

    def report(self) -> dict[str, Any]:
        """What the process says of its switch and its traffic so far."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("report\n")
        self.process.stdin.flush()
        said: dict[str, Any] = json.loads(self.process.stdout.readline())
        return said
