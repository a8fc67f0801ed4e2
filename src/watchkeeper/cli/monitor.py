"""Monitoring commands that need no server: `wk drift` compares two files directly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from watchkeeper.cli._common import ATTENTION, INVALID, OK, JsonOpt, err, out, print_json

ColumnsOpt = Annotated[
    list[str] | None, typer.Option("--column", help="Only these columns (repeatable).")
]


def drift(
    reference: Annotated[Path, typer.Argument(help="Reference data (CSV, TSV or Parquet).")],
    current: Annotated[Path, typer.Argument(help="Current data to compare.")],
    column: ColumnsOpt = None,
    method: Annotated[
        list[str] | None,
        typer.Option(help="Per-column method override, COLUMN=METHOD[:THRESHOLD] (repeatable)."),
    ] = None,
    share: Annotated[
        float, typer.Option(help="Share of drifted columns at which the dataset drifts.")
    ] = 0.5,
    json: JsonOpt = False,
) -> int:
    """Per-column drift between two files; exit 1 when the dataset drifted."""
    from watchkeeper.monitor.drift import Override
    from watchkeeper.monitor.tables import compare_files

    overrides: dict[str, Override] = {}
    for item in method or []:
        name, _, spec = item.partition("=")
        chosen, _, threshold = spec.partition(":")
        if not name or not chosen:
            err.print(f"--method {item!r}: write COLUMN=METHOD or COLUMN=METHOD:THRESHOLD")
            return INVALID
        try:
            overrides[name] = Override(chosen, float(threshold) if threshold else None)  # type: ignore[arg-type]
        except ValueError:
            err.print(f"--method {item!r}: the threshold is not a number", markup=False)
            return INVALID
    for path in (reference, current):
        if not path.is_file():
            err.print(f"no such file: {path}", markup=False)
            return INVALID
    try:
        report = compare_files(
            reference, current, columns=column, overrides=overrides, drift_share=share
        )
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        return INVALID
    if json:
        print_json(report.to_dict())
    else:
        table = Table(title=f"Drift: {reference.name} -> {current.name}", header_style="bold")
        for name in ("column", "kind", "method", "score", "threshold", "drifted", "rows ref/cur"):
            table.add_column(name)
        for c in report.columns:
            verdict = {True: "[red]DRIFT[/]", False: "no", None: "no verdict"}[c.drifted]
            score = "-" if c.score is None else f"{c.score:.4g}"
            limit = "-" if c.threshold is None else f"{c.threshold:g}"
            rows = f"{c.reference_n}/{c.current_n}"
            table.add_row(c.column, c.kind, c.method or "-", score, limit, verdict, rows)
        out.print(table)
        out.print(
            f"{len(report.drifted)} of {len(report.columns)} columns drifted "
            f"({report.share:.0%}); dataset {'DRIFTED' if report.dataset_drifted else 'stable'}"
            f" at share >= {share:g}"
        )
    return ATTENTION if report.dataset_drifted else OK
