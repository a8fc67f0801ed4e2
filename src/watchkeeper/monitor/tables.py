"""Read CSV or Parquet files into drift-ready columns, and compare two files (`wk drift`).

pyarrow does the reading on all cores. Numeric columns come back as float64 numpy arrays (nulls as
NaN). Categorical columns stay pyarrow arrays, dictionary-encoded where the file allows: turning a
million strings into Python objects costs more than the drift test itself, and the drift module
counts arrow values natively.

A column's kind is decided once, from the reference file's schema (or forced by the caller), and
the current file is read under the same kinds, so a current column that arrives as text where
the reference had numbers is reported as such instead of being silently re-typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from watchkeeper.monitor.drift import (
    KINDS,
    ColumnValues,
    DriftReport,
    Kind,
    Override,
    dataset_drift,
    summarize,
)
from watchkeeper.monitor.embedding import Embedder, text_drift

PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
CSV_SUFFIXES = frozenset({".csv", ".tsv"})
COMPRESSION_SUFFIXES = frozenset({".gz", ".bz2", ".zst", ".lz4"})


@dataclass(frozen=True)
class Column:
    """A column ready for drift tests: numeric -> float64 numpy, categorical -> pyarrow array."""

    name: str
    kind: Kind
    values: ColumnValues


def read_columns(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, Kind] | None = None,
) -> dict[str, Column]:
    """Read the chosen columns (default: all of a supported type), with kinds forced by `kinds`.

    Columns whose type is neither numeric nor text-like (dates, lists, binary) are skipped, as
    drift on them means little; naming one in `columns` raises a ValueError that says why.
    """
    kinds = dict(kinds or {})
    for name, forced in kinds.items():
        if forced not in KINDS:
            raise ValueError(f"column {name!r}: unknown kind {forced!r}; expected one of {KINDS}")
    table = _read(Path(path), columns, kinds)
    result: dict[str, Column] = {}
    for name in table.column_names:
        data = table.column(name)
        kind = kinds.get(name) or kind_of_type(data.type)
        if kind is None:
            if columns is not None and name in columns:
                raise ValueError(
                    f"column {name!r} has type {data.type}, which drift cannot compare"
                )
            continue
        result[name] = Column(name, kind, _values(data, kind))
    return result


def compare_files(
    reference: Path,
    current: Path,
    *,
    columns: Sequence[str] | None = None,
    overrides: Mapping[str, Override] | None = None,
    kinds: Mapping[str, Kind] | None = None,
    drift_share: float = 0.5,
    embed: Sequence[str] = (),
    embedder: Embedder | None = None,
) -> DriftReport:
    """Drift of every comparable reference column (or `columns`) between two files; the text
    columns in `embed` are compared by what they say (their embeddings) instead of value counts.

    A column the current file lacks, or whose values there are not numbers where the reference
    had numbers, gets no verdict and a reason instead of failing the whole comparison.
    """
    if embed and embedder is None:
        raise ValueError("comparing embeddings needs an embedding model")
    absent = [name for name in embed if name not in _schema(Path(reference)).names]
    if absent:
        raise ValueError(f"{reference}: no column named {', '.join(map(repr, absent))}")
    ref = read_columns(reference, columns=columns, kinds=kinds)
    settled = {name: col.kind for name, col in ref.items()}
    wanted = list(ref) if columns is None else list(columns)
    present = set(_schema(Path(current)).names)
    cur = read_columns(
        current,
        columns=[name for name in wanted if name in present],
        kinds={name: kind for name, kind in settled.items() if name in present},
    )
    report = dataset_drift(
        {name: col.values for name, col in ref.items()},
        {name: col.values for name, col in cur.items()},
        columns=[name for name in wanted if name not in embed],
        kinds=settled,
        overrides=overrides,
        drift_share=drift_share,
    )
    if not embed:
        return report
    assert embedder is not None
    texts = [
        text_drift(name, _texts(reference, name), _texts(current, name), embedder) for name in embed
    ]
    return summarize([*report.columns, *texts], drift_share=drift_share)


def _texts(path: Path, column: str) -> list[str | None]:
    """A column's values as text (None where empty); a file without the column has none."""
    if column not in _schema(path).names:
        return []
    data = _read(path, [column], {column: "categorical"}).column(column)
    return [None if v is None else str(v) for v in data.to_pylist()]


def kind_of_type(data_type: pa.DataType) -> Kind | None:
    """Numbers are numeric; text, booleans and dictionaries categorical; anything else neither."""
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return "numeric"
    if pa.types.is_decimal(data_type):
        return "numeric"
    if pa.types.is_dictionary(data_type) or pa.types.is_boolean(data_type) or _is_text(data_type):
        return "categorical"
    return None


def _read(path: Path, columns: Sequence[str] | None, kinds: Mapping[str, Kind]) -> pa.Table:
    schema = _schema(path)
    wanted = list(schema.names) if columns is None else list(columns)
    missing = [name for name in [*wanted, *kinds] if name not in schema.names]
    if missing:
        raise ValueError(f"{path}: no column named {', '.join(map(repr, missing))}")
    if _format(path) == "parquet":
        text = [
            name
            for name in wanted
            if kinds.get(name, "categorical") == "categorical" and _is_text(schema.field(name).type)
        ]
        return pq.read_table(path, columns=wanted, read_dictionary=text)
    # CSV categories are always read as text: codes like "007" keep their leading zeros, and a
    # column guessed boolean in one file and text in the other still compares value for value.
    as_text = {
        name: pa.string()
        for name in wanted
        if (kinds.get(name) or kind_of_type(schema.field(name).type)) == "categorical"
    }
    return pacsv.read_csv(
        path,
        parse_options=_csv_parse_options(path),
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=as_text,
            strings_can_be_null=True,
        ),
    )


def _schema(path: Path) -> pa.Schema:
    if _format(path) == "parquet":
        return pq.read_schema(path)
    with pacsv.open_csv(path, parse_options=_csv_parse_options(path)) as reader:
        return reader.schema


def _format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in PARQUET_SUFFIXES:
        return "parquet"
    if last in CSV_SUFFIXES:
        return "csv"
    raise ValueError(f"{path}: expected a .csv, .tsv or .parquet file")


def _csv_parse_options(path: Path) -> pacsv.ParseOptions:
    tab = any(s.lower() == ".tsv" for s in path.suffixes)
    return pacsv.ParseOptions(delimiter="\t" if tab else ",")


def _values(data: pa.ChunkedArray, kind: Kind) -> ColumnValues:
    # Text under a numeric kind stays text here: the drift test parses it or says why it cannot.
    if kind == "numeric" and kind_of_type(data.type) == "numeric":
        return pc.cast(data, pa.float64()).to_numpy(zero_copy_only=False)
    return data


def _is_text(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(data_type) or pa.types.is_large_string(data_type))
