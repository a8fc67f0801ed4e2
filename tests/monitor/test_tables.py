from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from watchkeeper.monitor.drift import Override
from watchkeeper.monitor.tables import compare_files, read_columns


def _tables(n: int = 3000, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    words = np.array(["email", "chat", "phone"], dtype=object)

    def table(shift: float, mix: list[float]) -> pa.Table:
        amount = rng.normal(100 + shift, 10, n)
        amount[rng.random(n) < 0.05] = np.nan
        return pa.table(
            {
                "amount": pa.array(amount, from_pandas=True),
                "age_days": pa.array(rng.integers(0, 1000, n)),
                "stable": pa.array(rng.normal(0, 1, n)),
                "channel": pa.array(rng.choice(words, n, p=mix)),
                "flag": pa.array(rng.random(n) < 0.3),
            }
        )

    return table(0, [0.5, 0.3, 0.2]), table(5, [0.2, 0.3, 0.5])


def _write(table: pa.Table, path: Path) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_compare_files_finds_the_injected_drift(tmp_path: Path, suffix: str) -> None:
    ref, cur = _tables()
    report = compare_files(
        _write(ref, tmp_path / f"ref{suffix}"), _write(cur, tmp_path / f"cur{suffix}")
    )
    assert [c.column for c in report.columns] == ["amount", "age_days", "stable", "channel", "flag"]
    assert set(report.drifted) == {"amount", "channel"}
    amount = report.columns[0]
    assert amount.kind == "numeric" and amount.detail["reference_null_rate"] > 0.03
    assert report.columns[3].kind == report.columns[4].kind == "categorical"


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_kinds_are_inferred_and_can_be_forced(tmp_path: Path, suffix: str) -> None:
    ref, _ = _tables(200)
    path = _write(ref, tmp_path / f"ref{suffix}")
    columns = read_columns(path)
    assert {name: col.kind for name, col in columns.items()} == {
        "amount": "numeric",
        "age_days": "numeric",
        "stable": "numeric",
        "channel": "categorical",
        "flag": "categorical",
    }
    assert isinstance(columns["amount"].values, np.ndarray)
    assert np.isnan(columns["amount"].values).any()
    forced = read_columns(path, columns=["age_days"], kinds={"age_days": "categorical"})
    assert list(forced) == ["age_days"] and forced["age_days"].kind == "categorical"


def test_forced_categories_in_csv_keep_their_text(tmp_path: Path) -> None:
    path = tmp_path / "zips.csv"
    path.write_text("zip,n\n007,1\n010,2\n007,3\n")
    columns = read_columns(path, kinds={"zip": "categorical"})
    assert columns["zip"].values.to_pylist() == ["007", "010", "007"]


def test_tab_separated_files_are_read(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    path.write_text("a\tb\n1\tx\n2\ty\n")
    assert {name: col.kind for name, col in read_columns(path).items()} == {
        "a": "numeric",
        "b": "categorical",
    }


def test_current_file_problems_become_column_reasons(tmp_path: Path) -> None:
    ref = tmp_path / "ref.csv"
    cur = tmp_path / "cur.csv"
    ref.write_text("score,gone\n" + "".join(f"{i % 7},{i}\n" for i in range(100)))
    cur.write_text("score\n" + "".join(f"{'n/a-ish' if i == 3 else i % 7}\n" for i in range(100)))
    report = compare_files(ref, cur)
    score, gone = report.columns
    assert score.drifted is None
    assert score.detail["reason"] == "current has values that are not numbers"
    assert gone.detail["reason"] == "column missing from current"
    assert report.drifted == () and not report.dataset_drifted


def test_overrides_and_column_choice_reach_the_tests(tmp_path: Path) -> None:
    ref, cur = _tables()
    ref_path, cur_path = _write(ref, tmp_path / "r.parquet"), _write(cur, tmp_path / "c.parquet")
    report = compare_files(
        ref_path,
        cur_path,
        columns=["amount", "channel"],
        overrides={"amount": Override(method="psi", threshold=5.0)},
    )
    amount, channel = report.columns
    assert (amount.method, amount.threshold, amount.drifted) == ("psi", 5.0, False)
    assert channel.drifted and report.drifted == ("channel",)


def test_unsupported_and_unknown_columns(tmp_path: Path) -> None:
    table = pa.table({"when": pa.array([1, 2], type=pa.timestamp("s")), "x": pa.array([1.0, 2.0])})
    path = _write(table, tmp_path / "t.parquet")
    assert list(read_columns(path)) == ["x"]
    with pytest.raises(ValueError, match="drift cannot compare"):
        read_columns(path, columns=["when"])
    with pytest.raises(ValueError, match="no column named 'nope'"):
        read_columns(path, columns=["nope"])
    with pytest.raises(ValueError, match="unknown kind"):
        read_columns(path, kinds={"x": "text"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"expected a \.csv"):
        read_columns(tmp_path / "data.json")
