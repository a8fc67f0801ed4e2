"""`client.log()` and friends against a real server: batches arrive once, threads and forks are
safe, an outage is spooled to disk and replayed, and the spool's bound drops loudly."""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.sdk._wait import until
from tests.sdk.conftest import MakeClient
from tests.server._world import SYSTEM, World
from watchkeeper import Client
from watchkeeper.sdk._spool import folder_name
from watchkeeper.server import LiveServer


def count(world: World) -> int:
    with world.app.store.read() as unit:
        return unit.ingest.observation_count(SYSTEM)


def spooled(cache: Path) -> list[Path]:
    return sorted(cache.glob("spool-*/*.spool"))


@pytest.fixture(autouse=True)
def wall_clock(world: World) -> None:
    """The SDK stamps observations with the wall clock; a server whose clock lagged it by months
    would refuse them as coming from its future."""
    world.app.clock.set(datetime.now(UTC))  # type: ignore[attr-defined]


def test_observations_feedback_and_flags_arrive_once(world: World, make_client: MakeClient) -> None:
    client = make_client(batch_size=100)
    ids = [
        client.log({"n": i}, f"answer {i}", latency_ms=3.5, model_version="v1") for i in range(1000)
    ]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    named = client.log({"n": -1}, "named", id="my-id", ts=yesterday)
    client.feedback(ids[0], thumbs_up=False, label="wrong")
    client.flag(ids[1], "looks off")
    assert client.flush(30) and named == "my-id" and len(set(ids)) == 1000
    assert count(world) == 1001
    with world.app.store.read() as unit:
        found = {o.id: o for o in unit.ingest.observations_by_id(SYSTEM, [ids[0], "my-id"])}
        queued = unit.care.queued_observation_ids(SYSTEM, [ids[1]])
    first, mine = found[ids[0]], found["my-id"]
    assert (first.inputs, first.output, first.model_version) == ({"n": 0}, "answer 0", "v1")
    assert first.feedback == {"thumbs_up": False, "label": "wrong"}
    assert mine.ts == yesterday and queued == {ids[1]}
    with pytest.raises(ValueError, match="at least one of"):
        client.feedback(ids[0])
    with pytest.raises(ValueError, match="needs a reason"):
        client.flag(ids[0], " ")


def test_values_json_lacks_are_sent_as_json_and_rejections_are_reported(
    world: World, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    when = datetime(2026, 1, 5, tzinfo=UTC)
    odd = client.log({"x": math.nan, "when": when, "obj": Path("/tmp")}, [math.inf])
    client.log({"q": 1}, "negative", latency_ms=-1)
    with caplog.at_level(logging.WARNING, "watchkeeper.sdk"):
        assert client.flush(30)
    with world.app.store.read() as unit:
        [stored] = unit.ingest.observations_by_id(SYSTEM, [odd])
        letters = unit.ingest.dead_letters(SYSTEM)
    assert stored.inputs == {"x": None, "when": when.isoformat(), "obj": "/tmp"}
    assert stored.output == [None]
    assert letters[0].source == "sdk" and "latency_ms" in letters[0].reason
    assert "1 item(s) rejected and kept as dead letters" in caplog.text
    assert client.dropped == 0


def test_many_threads_log_at_once(world: World, make_client: MakeClient) -> None:
    client = make_client(batch_size=250)
    ids: list[list[str]] = [[] for _ in range(8)]

    def serve(k: int) -> None:
        ids[k] = [client.log({"thread": k, "n": i}, "ok") for i in range(1500)]

    threads = [threading.Thread(target=serve, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.flush(60)
    assert count(world) == 12_000 == len({i for chunk in ids for i in chunk})


def test_an_outage_is_spooled_and_replayed_on_the_same_port(
    world: World, live: LiveServer, make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(batch_size=200)
    before = [client.log({"n": i}, "before") for i in range(500)]
    assert client.flush(30)
    port = live.port
    live.stop()
    during = [client.log({"n": i}, "during") for i in range(3000)]
    client.feedback(during[0], score=0.5)
    assert not client.flush(1)  # nothing can be delivered: kept on disk
    assert spooled(tmp_path / "cache") and count(world) == 500
    with LiveServer(world.app, port=port):
        after = [client.log({"n": i}, "after") for i in range(500)]
        assert client.flush(30)
        assert count(world) == 4000 and not spooled(tmp_path / "cache")
    with world.app.store.read() as unit:
        stored = unit.ingest.observations_by_id(SYSTEM, before + during + after)
    assert len(stored) == 4000 and client.dropped == 0
    assert next(o for o in stored if o.id == during[0]).feedback == {"score": 0.5}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_full_spool_drops_loudly_once_and_counts(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there yet
    client = Client(
        url=f"http://127.0.0.1:{port}",
        token=world.token("other_role_holder"),
        system=SYSTEM,
        cache_dir=tmp_path / "cache",
        start_timeout=0.1,
        batch_size=100,
        spool_bytes=20_000,
    )
    try:
        with caplog.at_level(logging.ERROR, "watchkeeper.sdk"):
            ids = [client.log({"n": i}, "x" * 50) for i in range(2000)]
            assert not client.flush(1)  # the server is down: not delivered
        drops = [r for r in caplog.records if "DROPPING" in r.getMessage()]
        assert client.dropped > 0 and len(drops) == 1
        assert sum(p.stat().st_size for p in spooled(tmp_path / "cache")) <= 20_000
        with LiveServer(world.app, port=port):
            assert client.flush(30)
        assert not spooled(tmp_path / "cache")
        assert count(world) + client.dropped == len(ids) == client.delivered + client.dropped
    finally:
        client.close()


def test_a_dead_writers_segment_is_replayed_and_a_torn_line_skipped(
    world: World, live: LiveServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As left by a worker SIGKILLed mid-write: nobody holds its lock, its last line is torn."""
    folder = tmp_path / "cache" / folder_name(live.url, SYSTEM)
    folder.mkdir(parents=True)
    whole = json.dumps([{"id": f"left-{i}", "output": "from a dead worker"} for i in range(50)])
    (folder / f"{1:020d}-999999-deadbeef.spool").write_bytes(
        b"observations\t" + whole.encode() + b'\nobservations\t[{"id": "torn"'
    )
    with caplog.at_level(logging.WARNING, "watchkeeper.sdk"):
        client = Client(
            url=live.url,
            token=world.token("other_role_holder"),
            system=SYSTEM,
            cache_dir=tmp_path / "cache",
            interval=0.05,
        )
        try:
            until(lambda: not spooled(tmp_path / "cache"), timeout=30)
        finally:
            client.close()
    assert count(world) == 50
    assert "skipping a torn line" in caplog.text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_logs_through_its_own_queue_and_thread(
    world: World, make_client: MakeClient
) -> None:
    client = make_client(batch_size=100)
    parent = [client.log({"who": "parent", "n": i}, "p") for i in range(300)]
    pid = os.fork()
    if pid == 0:  # the child: a worker forked after the client was made
        ok = False
        try:
            [client.log({"who": "child", "n": i}, "c", id=f"child-{i}") for i in range(700)]
            ok = client.flush(30) and client.dropped == 0
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.flush(30)
    until(lambda: count(world) == 1000)
    with world.app.store.read() as unit:
        assert len(unit.ingest.observations_by_id(SYSTEM, parent)) == 300


def test_what_is_queued_at_exit_is_delivered(
    world: World, live: LiveServer, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "from watchkeeper import Client\n"
        "client = Client(url=sys.argv[1], token=sys.argv[2], system=sys.argv[3],"
        " cache_dir=sys.argv[4], interval=60)\n"
        "for i in range(1500):\n"
        "    client.log({'n': i}, 'at exit')\n"
    )  # no flush, no close: the exit hook does it
    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            live.url,
            world.token("other_role_holder"),
            SYSTEM,
            str(tmp_path),
        ],
        check=True,
        timeout=60,
    )
    assert count(world) == 1500
