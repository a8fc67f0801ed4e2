"""Lake data profiled where it lives (`wk profile`): the same findings as the same rows ingested,
with pyarrow or with Spark in local mode; refusals that leave the store as it was."""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import Cli
from tests.monitor.test_engine import DAY, START, World, system
from tests.monitor.test_partials import RUNBOOK, SIGNALS, UPSTREAM, item, outcome
from watchkeeper.errors import ActionError
from watchkeeper.ingest.lake import Columns, profile
from watchkeeper.manifest import load_text
from watchkeeper.store import Store

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

DAYS = 30
PER_DAY = 60
COLUMNS = Columns(ts="ts", id="id", output="output", latency_ms="latency_ms")


def rows(seed: int = 7) -> list[dict[str, Any]]:
    """What `tests.monitor.test_partials` ingests, as flat rows."""
    rng = np.random.default_rng(seed)
    made = []
    for day in range(DAYS):
        for i in range(PER_DAY):
            made.append({"id": f"{day}-{i}", "ts": START + day * DAY + i * DAY / PER_DAY,
                         **item(day, i, rng)})  # fmt: skip
    return made


def write_lake(folder: Path, made: list[dict[str, Any]], files: int = 3) -> Path:
    """Rows as Parquet files, inputs as columns of their own (a text `tier` in a file of its
    own, as a type change in a lake would come)."""
    folder.mkdir(parents=True, exist_ok=True)
    flat = [{k: v for k, v in r.items() if k != "inputs"} | r["inputs"] for r in made]
    for n in range(files):
        part = flat[n::files]
        for typed in (int, str):
            chunk = [r for r in part if isinstance(r["tier"], typed)]
            if chunk:
                table = pa.Table.from_pylist(chunk)
                pq.write_table(table, folder / f"part-{n}-{typed.__name__}.parquet")
    return folder


def ingested(store: Store) -> tuple[list[Any], dict[str, list[Any]]]:
    world = World(store, system(RUNBOOK, UPSTREAM))
    items = [{**r, "ts": r["ts"].isoformat()} for r in rows()]
    for start in range(0, len(items), 500):
        result = world.ingest.observations("bot", items[start : start + 500], START + DAYS * DAY)
        assert not result.rejected
    return outcome(world, range(DAYS))


def profiled(store: Store, lake: Path, engine: str) -> tuple[list[Any], dict[str, list[Any]]]:
    world = World(store, system(RUNBOOK, UPSTREAM))
    plan, edges = world.ingest.profiling("bot")
    made = profile(lake, plan, COLUMNS, edges, engine=engine)  # type: ignore[arg-type]
    items = [_item(p) for p in made]
    stored = world.ingest.record_partials("bot", items, START + DAYS * DAY)
    assert stored["rows"] == DAYS * PER_DAY and stored["duplicates"] == 0
    again = world.ingest.record_partials("bot", items, START + DAYS * DAY)
    assert again["partials"] == 0, "the same files profiled again store nothing"
    return outcome(world, range(DAYS))


def _item(p: Any) -> dict[str, Any]:
    return {"key": p.key, "window_start": p.window_start.isoformat(),
            "window_end": p.window_end.isoformat(), "rows": p.rows, "state": p.state,
            "origin": p.origin}  # fmt: skip


def test_profiled_with_pyarrow_the_findings_are_those_of_the_rows_ingested(
    store: Store, tmp_path: Path
) -> None:
    lake = write_lake(tmp_path / "lake", rows())
    expected = ingested(Store.open(f"sqlite:///{tmp_path / 'ingested.db'}"))
    findings, series = profiled(store, lake, "local")
    assert {"contract", "drift"} <= {f[0] for f in findings}
    assert findings == expected[0]
    assert series == expected[1]
    assert set(series) == set(SIGNALS)


def test_profiled_with_spark_the_findings_are_those_of_the_rows_ingested(
    tmp_path: Path,
) -> None:
    """Spark in local mode, two partitions a file: per-partition partials merged on the driver."""
    lake = write_lake(tmp_path / "lake", rows(), files=2)
    expected = ingested(Store.open(f"sqlite:///{tmp_path / 'ingested.db'}"))
    with_spark = profiled(Store.open(f"sqlite:///{tmp_path / 'spark.db'}"), lake, "spark")
    assert with_spark == expected

    pq.write_table(pa.Table.from_pylist([{"ts": "not a time", "id": "x"}]), lake / "bad.parquet")
    world = World(Store.open(f"sqlite:///{tmp_path / 'failed.db'}"), system(RUNBOOK, UPSTREAM))
    plan, edges = world.ingest.profiling("bot")
    with pytest.raises(ActionError, match=r"the Spark job failed, nothing was recorded: .*'ts'"):
        profile(lake, plan, COLUMNS, edges, engine="spark")


def test_refused_partials_leave_the_store_as_it_was(store: Store, tmp_path: Path) -> None:
    world = World(store, system(RUNBOOK, UPSTREAM))
    plan, edges = world.ingest.profiling("bot")
    lake = write_lake(tmp_path / "lake", rows()[: 5 * PER_DAY])
    good = [_item(p) for p in profile(lake, plan, COLUMNS, edges)]
    late = START + 400 * DAY

    def stored() -> int:
        with store.read() as unit:
            return sum(len(v) for v in unit.ingest.partials("bot", ["day"], START, late).values())

    with pytest.raises(ActionError, match="outside retention") as refused:
        world.ingest.record_partials("bot", good, late)
    assert refused.value.kind == "invalid" and stored() == 0

    changed = json.loads(json.dumps(system(RUNBOOK, UPSTREAM)))
    changed["spec"]["upstream"][0]["contract"]["tier"]["type"] = "string"
    people = {"apiVersion": "watchkeeper/v1", "kind": "People",
              "people": [{"email": e} for e in ("ana@corp.example", "chen@corp.example",
                                                "dana@corp.example")]}  # fmt: skip
    text = "\n---\n".join(json.dumps(d) for d in (people, changed))
    world.charter.apply(load_text(text), "ops", START + DAY)
    with pytest.raises(ActionError, match=r"partials\[\d+\]: key 'contract:crm:.*type") as bad:
        world.ingest.record_partials("bot", good, START + 6 * DAY)
    assert "nothing was stored" in str(bad.value) and stored() == 0

    plan, edges = world.ingest.profiling("bot")
    fresh = [_item(p) for p in profile(lake, plan, COLUMNS, edges)]
    broken = [*fresh[:-1], {**fresh[-1], "state": {"rows": "many"}}]
    with pytest.raises(ActionError, match=rf"partials\[{len(fresh) - 1}\]"):
        world.ingest.record_partials("bot", broken, START + 6 * DAY)
    assert stored() == 0, "one bad partial refuses the request whole"

    for spoiled in (
        {"kll": "AAAA"},
        {"f64": base64.b64encode(struct.pack("<d", math.nan)).decode()},
    ):
        item = next(p for p in fresh if _spread_in(p["state"]))
        bad_state = json.loads(json.dumps(item["state"]))
        _spread_in_parent(bad_state)["spread"] = spoiled
        with pytest.raises(ActionError, match=r"partials\[0\]: (not a KLL|at most \d+ finite)"):
            world.ingest.record_partials("bot", [{**item, "state": bad_state}], START + 6 * DAY)
    assert stored() == 0, "a state a tick could not read is refused on the way in"

    with pytest.raises(ActionError) as unknown:
        world.ingest.record_partials("nobody", fresh, START + 6 * DAY)
    assert unknown.value.kind == "not_found"
    assert world.ingest.record_partials("bot", fresh, START + 6 * DAY)["rows"] == 5 * PER_DAY


def test_wk_profile_records_a_lake_and_says_what_it_refused(
    wk: Cli, tmp_path: Path, store: Store
) -> None:
    World(store, system(RUNBOOK, UPSTREAM))
    lake = write_lake(tmp_path / "lake", rows()[: 3 * PER_DAY])
    args = ["profile", str(lake), "--system", "bot", "--ts", "ts", "--id", "id",
            "--output", "output", "--latency", "latency_ms", "--now",
            (START + 4 * DAY).isoformat()]  # fmt: skip
    code, out, err = wk(*args)
    assert code == 0, err
    assert f"{3 * PER_DAY} rows profiled into 3 windows" in out
    code, out, _ = wk(*args, "--json")
    assert code == 0 and json.loads(out)["partials"] == 0
    code, _, err = wk("profile", str(tmp_path / "none"), "--system", "bot", "--ts", "ts")
    assert code == 2 and "no such file or directory" in err
    code, _, err = wk("profile", str(lake), "--system", "bot", "--ts", "when")
    assert code == 2 and "column 'when'" in err


def _spread_in_parent(state: Any) -> dict[str, Any]:
    """The object in a partial's state that holds a `spread` (a quantile's values, a column's)."""
    if isinstance(state, dict):
        if "spread" in state:
            return state
        for value in state.values():
            found = _spread_in_parent(value)
            if found:
                return found
    return {}


def _spread_in(state: Any) -> dict[str, Any]:
    parent = _spread_in_parent(state)
    return parent.get("spread", {}) if parent else {}
