"""`flush()` means delivered: a job that logs through an outage and flushes with the server back
leaves nothing on disk and exactly its observations in the store; what a job could not deliver
is delivered by the next client of that system and server, or by `python -m watchkeeper.sdk
replay`; and a batch the server refuses for good is counted, not retried until the timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SQLITE_ONLY
from tests.sdk._wait import until
from tests.sdk.test_log import count, free_port, spooled, wall_clock  # noqa: F401
from tests.server._world import SYSTEM, World
from watchkeeper import Client
from watchkeeper.sdk._spool import folder_name
from watchkeeper.server import LiveServer

# A serving job, driven line by line on stdin: `log K`, `flush SECONDS`, `close SECONDS`; each
# answers one JSON line. It exits when stdin closes.
JOB = """
import json, sys, time
from watchkeeper import Client

url, token, system, cache, name = sys.argv[1:6]
client = Client(url=url, token=token, system=system, cache_dir=cache, start_timeout=0.1,
                batch_size=100)
logged = 0
for line in sys.stdin:
    verb, _, arg = line.partition(" ")
    start = time.monotonic()
    if verb == "log":
        for _ in range(int(arg)):
            client.log({"n": logged}, "through an outage", id=f"{name}-{logged}")
            logged += 1
        answer = {}
    elif verb == "flush":
        answer = {"ok": client.flush(float(arg))}
    else:
        client.close(float(arg))
        answer = {}
    answer.update(seconds=time.monotonic() - start, delivered=client.delivered,
                  dropped=client.dropped, refused=client.refused)
    print(json.dumps(answer), flush=True)
"""


class Job:
    def __init__(self, url: str, token: str, cache: Path, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", JOB, url, token, SYSTEM, str(cache), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, self.end()
        answer: dict[str, Any] = json.loads(line)
        return answer

    def end(self) -> str:
        """Let it exit (its exit hook runs); its stderr, for a failing assertion."""
        _, errors = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, errors
        return errors


Jobs = Callable[..., Job]


@pytest.fixture
def jobs(world: World, tmp_path: Path) -> Iterator[Jobs]:
    started: list[Job] = []

    def start(url: str, name: str = "job") -> Job:
        job = Job(url, world.token("other_role_holder"), tmp_path / "cache", name)
        started.append(job)
        return job

    yield start
    for job in started:
        if job.process.poll() is None:
            job.process.kill()
            job.process.communicate()


def spooled_items(cache: Path) -> int:
    """Items in the spool's whole lines, as a replay would read them."""
    return sum(
        len(json.loads(line.partition(b"\t")[2]))
        for segment in spooled(cache)
        for line in segment.read_bytes().splitlines()
    )


def stored(world: World, ids: list[str]) -> int:
    with world.app.store.read() as unit:
        return len(unit.ingest.observations_by_id(SYSTEM, ids))


def test_a_job_that_logs_through_an_outage_has_delivered_all_when_flush_says_so(
    world: World, jobs: Jobs, tmp_path: Path
) -> None:
    server = LiveServer(world.app).start()
    job = jobs(server.url)
    job.ask("log 2000")
    server.stop()
    job.ask("log 3000")
    until(lambda: bool(spooled(tmp_path / "cache")))  # failing and backing off: batches on disk
    server.start()  # the same port
    try:
        answer = job.ask("flush 30")
        assert answer["ok"] and answer["dropped"] == 0
        # before the job exits, so its exit hook cannot be what delivered them
        assert count(world) == 5000 == stored(world, [f"job-{i}" for i in range(5000)])
        assert not spooled(tmp_path / "cache")
        job.end()
    finally:
        server.stop()
    assert count(world) == 5000


def test_what_a_job_could_not_deliver_the_next_job_delivers(
    world: World, jobs: Jobs, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet
    first = jobs(f"http://127.0.0.1:{port}", "first")
    first.ask("log 1500")
    answer = first.ask("flush 0.5")
    assert not answer["ok"] and 0.5 <= answer["seconds"] < 3
    first.ask("close 0.3")
    first.end()
    assert spooled_items(tmp_path / "cache") == 1500 and count(world) == 0
    second = jobs(f"HTTP://127.0.0.1:{port}/", "second")  # the same server, spelled apart
    assert not second.ask("flush 0.3")["ok"]  # what it found waiting is not delivered yet
    with LiveServer(world.app, port=port):
        answer = second.ask("flush 30")
        assert answer["ok"] and answer["delivered"] == 1500
        assert stored(world, [f"first-{i}" for i in range(1500)]) == 1500 == count(world)
        second.end()
    assert not spooled(tmp_path / "cache")


def replay(*arguments: str, url: str | None, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    env.update({"WATCHKEEPER_URL": url} if url else {})
    env.update({"WATCHKEEPER_TOKEN": token} if token else {})
    return subprocess.run(
        [sys.executable, "-m", "watchkeeper.sdk", "replay", *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def left_behind(world: World, url: str, cache: Path, n: int) -> Path:
    """The spool a client leaves when it closes while the server is down."""
    client = Client(
        url=url, token=world.token("other_role_holder"), system=SYSTEM, cache_dir=cache,
        start_timeout=0.1,
    )  # fmt: skip
    for i in range(n):
        client.log({"n": i}, "left behind", id=f"left-{i}")
    client.close(0.3)
    return cache / folder_name(url, SYSTEM)


def test_replay_delivers_a_spool_left_behind(world: World, tmp_path: Path) -> None:
    port = free_port()
    url, token = f"http://127.0.0.1:{port}", world.token("other_role_holder")
    folder = left_behind(world, url, tmp_path / "cache", 1200)
    assert spooled_items(tmp_path / "cache") == 1200
    down = replay(str(folder), "--timeout", "0.5", url=url, token=token)
    assert down.returncode == 1, down.stderr
    assert "remain in" in down.stdout and spooled_items(tmp_path / "cache") == 1200
    with LiveServer(world.app, port=port):
        up = replay(str(folder), url=url, token=token)
    assert up.returncode == 0, up.stderr
    assert f"{SYSTEM}: delivered 1200 item(s) to {url}" in up.stdout
    assert "nothing remains" in up.stdout
    assert count(world) == 1200 == stored(world, [f"left-{i}" for i in range(1200)])
    assert not spooled(tmp_path / "cache")


@pytest.mark.parametrize(
    ("arguments", "url", "token", "message"),
    [
        (["{spool}"], "http://127.0.0.1:9", None, "WATCHKEEPER_TOKEN"),
        (["{spool}"], None, "wk_x", "WATCHKEEPER_URL"),
        (["{spool}", "--url", "ftp://127.0.0.1:9"], None, "wk_x", "expected http(s)://"),
        (["{spool}", "--timeout", "soon"], "http://127.0.0.1:9", "wk_x", "--timeout"),
        (["{spool}", "--timeout", "0"], "http://127.0.0.1:9", "wk_x", "positive number"),
        (["{cache}"], "http://127.0.0.1:9", "wk_x", "not an SDK spool folder"),
        (["{cache}/nowhere"], "http://127.0.0.1:9", "wk_x", "no such folder"),
        ([], "http://127.0.0.1:9", "wk_x", "DIR"),
    ],
)
@SQLITE_ONLY
def test_replay_names_a_bad_argument_and_exits_2(
    tmp_path: Path, arguments: list[str], url: str | None, token: str | None, message: str
) -> None:
    spool = tmp_path / folder_name("http://127.0.0.1:9", SYSTEM)
    spool.mkdir()
    places = {"spool": str(spool), "cache": str(tmp_path)}
    done = replay(*(a.format(**places) for a in arguments), url=url, token=token)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    if arguments == ["{cache}"]:
        assert f"it holds {spool.name}: name one" in done.stderr


def test_a_batch_refused_for_good_is_counted_and_does_not_hold_up_flush(
    world: World, tmp_path: Path
) -> None:
    port = free_port()
    client = Client(
        url=f"http://127.0.0.1:{port}", token=world.token("other_role_holder"), system=SYSTEM,
        cache_dir=tmp_path / "cache", start_timeout=0.1,
    )  # fmt: skip
    try:
        kept = client.log({"n": 1}, "fine")
        client.flag(kept, "x" * 3000)  # longer than the server takes: 400 whenever it is sent
        assert not client.flush(0.3)  # spooled, the server being down
        with LiveServer(world.app, port=port):
            start = time.monotonic()
            assert client.flush(30)
            assert time.monotonic() - start < 10 and client.refused == 1
            client.flag(kept, "y" * 3000)  # refused when sent live, too
            assert client.flush(30) and client.refused == 2
        assert count(world) == 1 and client.dropped == 0 and not spooled(tmp_path / "cache")
    finally:
        client.close(0.3)
