"""`wk ingest` of a CSV or Parquet file whose time and output columns have their own names: the
flags say which column is which, locally and through a server, and the stored observations are
what the file says — then `wk observations` shows them back."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import SQLITE_ONLY, Cli
from tests.server._world import SYSTEM, World
from watchkeeper.server import LiveServer
from watchkeeper.testing import T0

HEADER = "timestamp,ticket,channel,label,ms\n"


def _csv(folder: Path) -> Path:
    path = folder / "tickets.csv"
    rows = [
        f"{(T0 - timedelta(hours=3, minutes=i)).strftime('%Y-%m-%dT%H:%M:%S')},"
        f"Ticket {i},{'chat' if i % 2 else 'email'},{'refund' if i % 3 == 0 else 'other'},{100 + i}"
        for i in range(6)
    ]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


FLAGS = ("--ts", "timestamp", "--output", "label", "--latency", "ms")


def _stored(world: World) -> list[tuple[str, str, dict[str, object], float | None]]:
    with world.app.store.read() as unit:
        found = unit.ingest.observations(SYSTEM, T0 - timedelta(days=1), T0)
    return sorted((o.ts.isoformat(), o.output, o.inputs, o.latency_ms) for o in found)


def test_a_csv_with_its_own_time_and_output_columns_through_the_server(
    tmp_path: Path, world: World
) -> None:
    path = _csv(tmp_path)
    with LiveServer(world.app) as live:
        code, out, err = _remote(live.url, world.token("owner"), "ingest", str(path),
                                 "--system", SYSTEM, *FLAGS)  # fmt: skip
        assert code == 0, err
        assert "6 stored" in out
        stored = _stored(world)
        assert stored[0] == (
            (T0 - timedelta(hours=3, minutes=5)).isoformat(),
            "other",
            {"ticket": "Ticket 5", "channel": "chat"},
            105.0,
        )
        assert [output for _, output, _, _ in stored].count("refund") == 2
        code, out, _ = _remote(live.url, world.token("unrelated"), "observations", SYSTEM,
                               "--where", "output == 'refund'", "--json")  # fmt: skip
        assert code == 0
        page = json.loads(out)
        assert [o["inputs"]["ticket"] for o in page["observations"]] == ["Ticket 0", "Ticket 3"]


def _remote(url: str, token: str, *args: str) -> tuple[int, str, str]:
    """`wk` in a fresh interpreter with the server's URL and a token, as a CI runner runs it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    env |= {"WATCHKEEPER_URL": url, "WATCHKEEPER_TOKEN": token}
    done = subprocess.run(
        [sys.executable, "-m", "watchkeeper.cli", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_a_parquet_file_locally_with_the_same_flags(tmp_path: Path, world: World, wk: Cli) -> None:
    times = [T0 - timedelta(hours=2, minutes=i) for i in range(3)]
    table = pa.table({"timestamp": times, "ticket": ["a", "b", "c"], "label": ["x", "y", "x"],
                      "ms": [1.0, 2.0, 3.0]})  # fmt: skip
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path)
    code, _, err = wk("ingest", str(path), "--system", SYSTEM, *FLAGS, "--now", T0.isoformat())
    assert code == 0, err
    assert [(o, i["ticket"]) for _, o, i, _ in _stored(world)] == [
        ("x", "c"),
        ("y", "b"),
        ("x", "a"),
    ]


def test_a_flag_naming_no_column_is_refused_with_the_columns_there(
    tmp_path: Path, world: World, wk: Cli
) -> None:
    path = _csv(tmp_path)
    code, _, err = wk("ingest", str(path), "--system", SYSTEM, "--ts", "created_at")
    assert code == 2
    assert "no such column for --ts created_at" in err
    assert "timestamp, ticket, channel, label, ms" in err
    assert _stored(world) == []


def test_typed_columns_and_unreadable_files_are_said_plainly(
    tmp_path: Path, world: World, wk: Cli
) -> None:
    """A date column is kept as ISO text; an empty CSV or a file that is not Parquet is named
    with exit 2, never a traceback; two flags for one column are refused."""
    path = tmp_path / "dated.csv"
    path.write_text(f"ts,opened\n{(T0 - timedelta(hours=1)).isoformat()},2024-01-05\n")
    code, _, err = wk("ingest", str(path), "--system", SYSTEM, "--now", T0.isoformat())
    assert code == 0, err
    assert [i for _, _, i, _ in _stored(world)] == [{"opened": "2024-01-05"}]
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "fake.parquet").write_text("not parquet")
    for bad in ("empty.csv", "fake.parquet"):
        code, _, err = wk("ingest", str(tmp_path / bad), "--system", SYSTEM)
        assert code == 2 and f"{bad}: not a readable" in err, err
    code, _, err = wk("ingest", str(path), "--system", SYSTEM, "--ts", "when", "--id", "when")
    assert code == 2 and "two flags name the same column" in err


@SQLITE_ONLY
def test_a_time_column_turning_from_iso_to_epoch_midway_does_not_break_the_file(
    tmp_path: Path, world: World, wk: Cli
) -> None:
    start = T0 - timedelta(hours=20)
    iso = [f"{(start + timedelta(seconds=i)).isoformat()},a{i}" for i in range(40_000)]
    epoch = [f"{(start + timedelta(seconds=40_000 + i)).timestamp():.0f},b{i}" for i in range(3)]
    path = tmp_path / "mixed.csv"
    path.write_text("ts,ticket\n" + "\n".join(iso + epoch) + "\n")
    code, out, err = wk("ingest", str(path), "--system", SYSTEM, "--now", T0.isoformat())
    assert code == 1, err  # read to the end as text: the epoch rows are refused one by one
    assert "40000 stored, 0 duplicates skipped, 3 rejected" in out, out
    assert "is not an ISO 8601 time" in out
