"""Window partials for data that lives in a lake: Parquet files (or a directory of them) profiled
where they are, into the same partials ingest makes, so the monitor finds the same things
whether the rows came through the API or were profiled here.

Two engines: `local` reads the files with pyarrow a record batch at a time; `spark` runs the
same profiling inside PySpark (`mapInPandas`, one accumulator per partition) and brings only the
partials back to the driver to merge — raw rows are never shuffled or collected. Columns map onto
an observation by name: `ts` (required), `id`, `output`, `latency_ms` and `model_version` where
given; every other column is an input, and an empty cell is a field that row did not have (a
file cannot tell a null from an absent field).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from watchkeeper.errors import ActionError
from watchkeeper.monitor.partials import Partial, Profiling, build, merged

Engine = Literal["local", "spark"]
BATCH_ROWS = 50_000  # rows a local read holds at once


@dataclass(frozen=True)
class Columns:
    """Which column holds what: the rest are inputs."""

    ts: str
    id: str | None = None
    output: str | None = None
    latency_ms: str | None = None
    model_version: str | None = None

    def named(self) -> set[str]:
        return {
            c for c in (self.ts, self.id, self.output, self.latency_ms, self.model_version) if c
        }


@dataclass(frozen=True)
class Row:
    """One lake row as an observation (what `monitor.signals.Observed` reads)."""

    id: str
    ts: datetime
    inputs: dict[str, Any]
    output: Any
    latency_ms: float | None
    model_version: str | None
    metadata: dict[str, Any]
    feedback: None = None


def rows_of(records: Iterable[Mapping[str, Any]], columns: Columns) -> list[Row]:
    """Lake records as observations; a row without its time is refused, naming the column."""
    named = columns.named()
    made = []
    for record in records:
        ts = _utc(record.get(columns.ts), columns.ts)
        # A file has every column in every row: an empty cell is a field the row did not have.
        inputs = {k: _plain(v) for k, v in record.items() if k not in named}
        inputs = {k: v for k, v in inputs.items() if v is not None}
        ident = record.get(columns.id) if columns.id else None
        if ident is None:
            ident = hashlib.blake2b(
                json.dumps([ts.isoformat(), inputs], sort_keys=True, default=str).encode(),
                digest_size=16,
            ).hexdigest()
        latency = record.get(columns.latency_ms) if columns.latency_ms else None
        version = record.get(columns.model_version) if columns.model_version else None
        made.append(
            Row(
                str(ident), ts, inputs,
                _plain(record.get(columns.output)) if columns.output else None,
                float(latency) if isinstance(latency, int | float) else None,
                str(version) if version is not None else None, {},
            )
        )  # fmt: skip
    return made


def profile(
    path: Path,
    profiling: Profiling,
    columns: Columns,
    edges: Mapping[str, Sequence[float]],
    *,
    engine: Engine = "local",
) -> list[Partial]:
    """The partials of every row under `path`, one per (key, window), marked with where they
    came from: the same files profiled again make partials the store already has."""
    files = parquet_files(path)
    if engine == "spark":
        made = _spark(files, profiling, columns, edges)
    else:
        acc: dict[tuple[str, datetime], Partial] = {}
        import pyarrow.parquet as pq

        for file in files:
            for batch in pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS):
                accumulate(acc, build(profiling, rows_of(batch.to_pylist(), columns), edges))
        made = list(acc.values())
    source = origin(files)
    return [replace(p, origin=source) for p in made]


def origin(files: Sequence[Path]) -> str:
    """The files by name and size: what a re-run of the same profile recognises."""
    listed = sorted((f.name, f.stat().st_size) for f in files)
    return hashlib.blake2b(json.dumps(listed).encode(), digest_size=16).hexdigest()


def parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise ActionError("invalid", f"{path}: no such file or directory")
    if not files:
        raise ActionError("invalid", f"{path}: no .parquet files")
    return files


def accumulate(acc: dict[tuple[str, datetime], Partial], partials: Iterable[Partial]) -> None:
    """Merge `partials` into `acc`, one partial per (key, window)."""
    for p in partials:
        held = acc.get((p.key, p.window_start))
        if held is None:
            acc[p.key, p.window_start] = p
            continue
        state = merged(p.key, [held.state, p.state]).to_dict()
        acc[p.key, p.window_start] = Partial(
            p.key, p.window_start, p.window_end, held.rows + p.rows, state
        )


_SCHEMA = "key string, window_start string, window_end string, rows long, state string"


def _spark(
    files: list[Path],
    profiling: Profiling,
    columns: Columns,
    edges: Mapping[str, Sequence[float]],
) -> list[Partial]:
    """Each partition profiles its rows into one accumulator and yields its partials; the
    driver merges them. A job that fails raises before anything is returned, so nothing half
    made is ever recorded."""
    # Spark's Python workers must be this interpreter, with this environment's packages; and
    # a local session stays on loopback.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(os.environ.get("WATCHKEEPER_SPARK_MASTER", "local[*]"))
        .appName("watchkeeper-profile")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        # Profiling costs far more per byte than a scan: smaller splits keep every core busy.
        .config("spark.sql.files.maxPartitionBytes", str(16 * 2**20))
        .getOrCreate()
    )
    # Files whose columns differ in type (an upstream changed one) cannot be read as one
    # frame: one job per schema, read from each file's footer on the driver.
    by_schema: dict[str, list[str]] = {}
    for file in files:
        by_schema.setdefault(str(pq.read_schema(file)), []).append(str(file))

    def per_partition(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        acc: dict[tuple[str, datetime], Partial] = {}
        for pdf in batches:
            records = pdf.to_dict(orient="records")
            accumulate(acc, build(profiling, rows_of(records, columns), edges))
        yield pd.DataFrame(
            [
                (
                    p.key,
                    p.window_start.isoformat(),
                    p.window_end.isoformat(),
                    p.rows,
                    json.dumps(p.state),
                )
                for p in acc.values()
            ],
            columns=["key", "window_start", "window_end", "rows", "state"],
        )

    acc: dict[tuple[str, datetime], Partial] = {}
    try:
        for paths in by_schema.values():
            frame = spark.read.parquet(*paths)
            # collect, not toLocalIterator: the latter runs one job per partition, in turn.
            for row in frame.mapInPandas(per_partition, _SCHEMA).collect():
                partial = Partial(
                    row["key"], datetime.fromisoformat(row["window_start"]),
                    datetime.fromisoformat(row["window_end"]), int(row["rows"]),
                    json.loads(row["state"]),
                )  # fmt: skip
                accumulate(acc, [partial])
    except Exception as exc:  # Spark wraps what failed in a worker in its own errors
        raise ActionError(
            "invalid", f"the Spark job failed, nothing was recorded: {_cause(exc)}"
        ) from None
    return list(acc.values())


def _cause(exc: Exception) -> str:
    """The line of a Spark error that says what went wrong, not the JVM's stack."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    named = [line for line in lines if "ActionError" in line or "Error:" in line]
    return (named or lines or [type(exc).__name__])[-1][:500]


def _utc(value: Any, column: str) -> datetime:
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value), column)
        except ValueError:
            pass
    raise ActionError("invalid", f"column {column!r}: {value!r} is not a time")


def _plain(value: Any) -> Any:
    """Lake values as the JSON values ingest would hold: numpy scalars and arrays, pandas
    missing values and times become plain Python."""
    if value is None:
        return None
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
