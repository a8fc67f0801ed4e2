"""`wk ingest FILE --feedback`: labels that arrive months after the windows were estimated are
backfilled from a file, in batches, locally and through a server; the realized metric then shows
beside the estimate. Rejected rows are counted, named by their row, and kept as dead letters;
a file that cannot be feedback is refused before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests import _estimated as lender
from tests.cli.test_ingest_file import _remote
from tests.conftest import SQLITE_ONLY, Cli
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.server import LiveServer

LATER = (lender.after() + 90 * lender.DAY).isoformat()  # a three-month label delay


pytestmark = lender.BUILT


@pytest.fixture
def built(app: Watchkeeper) -> Watchkeeper:
    return lender.ready(app)


def _window(app: Watchkeeper, day: int) -> dict[str, object]:
    ops = Operations(app, lender.OWNER, lender.after(), enforce=False)
    [accuracy] = ops.signals(lender.NAME, lender.SIGNAL)
    return dict(accuracy["windows"][day])


def _accuracy(day: int) -> float:
    """What the day's labels say the model's accuracy was, counted here from the rows."""
    items, _ = lender.day_of(day, 0.25)
    labels = lender.later_feedback(day)
    right = sum(
        (i["output"]["approved"]) == (f["label"] == "1") for i, f in zip(items, labels, strict=True)
    )
    return right / len(items)


def test_a_csv_of_late_labels_shows_the_realized_metric(
    built: Watchkeeper, wk: Cli, tmp_path: Path
) -> None:
    day = lender.BASELINE_DAYS + 1
    rows = lender.later_feedback(day)
    path = tmp_path / "labels.csv"
    lines = [f"{f['observation_id']},{f['label']}" for f in rows] + ["d15-unlabelled,"]
    path.write_text("observation_id,label\n" + "\n".join(lines) + "\n")
    code, out, err = wk("ingest", str(path), "--feedback", "--system", lender.NAME,
                        "--batch", "128", "--now", LATER)  # fmt: skip
    assert code == 1, err  # a row was refused: something needs attention
    assert f"{lender.ROWS} stored, 0 duplicates skipped, 1 rejected" in out
    assert f"row {lender.ROWS + 1}.label: give at least one of label, score or thumbs_up" in out
    window = _window(built, day)
    assert window["realized"] == pytest.approx(_accuracy(day))
    assert window["realized_n"] == lender.ROWS
    assert _window(built, day + 1)["realized"] is None
    code, out, _ = wk("dead-letter", lender.NAME, "--json")
    [letter] = json.loads(out)
    assert letter["raw"] == {"observation_id": "d15-unlabelled"}
    code, out, _ = wk("ingest", str(path), "--feedback", "--system", lender.NAME, "--now", LATER,
                      "--json")  # fmt: skip
    again = json.loads(out)
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, lender.ROWS, 1)


def test_parquet_with_scores_and_times_and_jsonl_through_a_server(
    built: Watchkeeper, wk: Cli, tmp_path: Path
) -> None:
    first, second = lender.BASELINE_DAYS, lender.BASELINE_DAYS + 2
    rows = lender.later_feedback(first)
    table = pa.table(
        {
            "observation_id": [f["observation_id"] for f in rows],
            "label": [int(f["label"]) for f in rows],  # numbers in the file: sent as text
            "score": [0.5] * len(rows),
            "ts": [lender.after() + lender.DAY] * len(rows),
        }
    )
    pq.write_table(table, tmp_path / "labels.parquet")
    code, out, err = wk("ingest", str(tmp_path / "labels.parquet"), "--feedback",
                        "--system", lender.NAME, "--now", LATER)  # fmt: skip
    assert code == 0, err
    assert _window(built, first)["realized"] == pytest.approx(_accuracy(first))
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(f) for f in lender.later_feedback(second)) + "\n")
    token = Operations(built, "ops@corp.example", lender.after(), enforce=False).create_token(
        lender.OWNER
    )["token"]
    with LiveServer(built) as live:
        code, out, err = _remote(live.url, token, "ingest", str(path), "--feedback",
                                 "--system", lender.NAME)  # fmt: skip
    assert code == 0, err
    assert f"{lender.ROWS} stored" in out
    assert _window(built, second)["realized"] == pytest.approx(_accuracy(second))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("label\n1\n", "feedback needs an observation_id column"),
        ("observation_id,note\nd15-1,x\n", "a label, score or thumbs_up column"),
        ("observation_id,label,output\nd15-1,1,x\n", "no other columns (not output)"),
    ],
)
@SQLITE_ONLY
def test_a_table_that_cannot_be_feedback_is_refused_before_sending(
    built: Watchkeeper, wk: Cli, tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(text)
    code, _, err = wk("ingest", str(path), "--feedback", "--system", lender.NAME, "--now", LATER)
    assert code == 2 and said in err and "its columns:" in err
    assert _window(built, lender.BASELINE_DAYS + 1)["realized"] is None


@SQLITE_ONLY
def test_flags_for_observation_columns_and_missing_files_are_refused(
    built: Watchkeeper, wk: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("observation_id,label\nd15-1,1\n")
    code, _, err = wk("ingest", str(path), "--feedback", "--system", lender.NAME, "--ts", "at")
    assert code == 2 and "--ts: feedback columns are taken by name" in err
    code, _, err = wk("ingest", str(tmp_path / "nope.csv"), "--feedback", "--system", lender.NAME)
    assert code == 2 and "no such file" in err
    (tmp_path / "bad.parquet").write_text("not parquet")
    code, _, err = wk("ingest", str(tmp_path / "bad.parquet"), "--feedback", "--system", "lender")
    assert code == 2 and "not a readable parquet file" in err
