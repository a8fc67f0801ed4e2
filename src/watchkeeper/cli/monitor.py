"""Observations in and what the monitor makes of them: ingest, profile, dead-letter, tick, check,
findings — and `wk drift`, which compares two files directly, without a store."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from watchkeeper.cli._common import (
    ATTENTION,
    INVALID,
    OK,
    JsonOpt,
    NowOpt,
    application,
    err,
    operations,
    out,
    parse_now,
    print_json,
)
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    from watchkeeper.app import Operations
    from watchkeeper.cli._client import Remote

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
    embed: Annotated[
        list[str] | None,
        typer.Option(
            help="Compare this text column by embedding drift (repeatable; needs the "
            "`embeddings` extra)."
        ),
    ] = None,
    json: JsonOpt = False,
) -> int:
    """Per-column drift between two files; exit 1 when the dataset drifted."""
    from watchkeeper.monitor.drift import Override
    from watchkeeper.monitor.embedder import INSTALL_HINT, load_embedder
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
    embedder = load_embedder() if embed else None
    if embed and embedder is None:
        err.print(f"--embed needs an embedding model: {INSTALL_HINT}", markup=False)
        return INVALID
    try:
        report = compare_files(
            reference,
            current,
            columns=column,
            overrides=overrides,
            drift_share=share,
            embed=embed or (),
            embedder=embedder,
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


SystemArg = Annotated[str, typer.Argument(help="System name.")]


# What an item's own fields are called in a file unless a flag names another column.
ITEM_FIELDS = ("id", "ts", "output", "latency_ms", "model_version")
BY_NAME = {field: field for field in ITEM_FIELDS}
JSONL = (".jsonl", ".ndjson", ".json")


def _rows(path: Path, names: dict[str, str] = BY_NAME) -> Iterator[dict[str, Any]]:
    """Items from JSONL (one object a line), CSV or Parquet, read a batch at a time; `names`
    maps a file's column (or a JSONL key) to the item field it holds."""
    if path.suffix.lower() in JSONL:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        parsed = jsonlib.loads(line)
                    except ValueError as exc:
                        yield {"__invalid__": f"{path}:{number}: not JSON ({exc})"}
                        continue
                    yield _renamed(parsed, names) if isinstance(parsed, dict) else parsed
        return
    for batch in _table_batches(path, [c for c, field in names.items() if field == "ts"]):
        for row in batch.to_pylist():
            yield _item(row, names)


def _table_batches(
    path: Path, text_columns: list[str], *, empty_is_null: bool = False
) -> Iterator[Any]:
    """A table's rows a batch at a time; in a CSV, `text_columns` are read as text (the time
    column: Arrow infers a type from the first block, and a column that turns from ISO to epoch
    seconds later would fail halfway through the file), and an empty cell of text is "" unless
    `empty_is_null`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix.lower() in (".parquet", ".pq"):
        yield from pq.ParquetFile(path).iter_batches()
    else:
        types = {name: pa.string() for name in text_columns}
        options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=empty_is_null)
        yield from pacsv.open_csv(path, convert_options=options)


def _columns_of(path: Path) -> list[str] | None:
    """A table's column names; None for JSONL, whose keys may differ line by line."""
    if path.suffix.lower() in JSONL:
        return None
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix.lower() in (".parquet", ".pq"):
        return list(pq.read_schema(path).names)
    with pacsv.open_csv(path) as reader:
        return list(reader.schema.names)


def _renamed(item: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    moved = {names.get(key, key): value for key, value in item.items() if key in names}
    kept = {key: value for key, value in item.items() if key not in names}
    return {**kept, **moved}


def _plain(value: Any) -> Any:
    """What a JSON request can carry: times and dates as ISO text, decimals as numbers, bytes
    as hex, as Arrow hands them over from a typed column."""
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _item(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A flat row as an item: the named columns are its fields, `inputs.x` and `metadata.x`
    columns go where they say, every other column is an input. Times anywhere become ISO text,
    as the API takes them."""
    item: dict[str, Any] = {"inputs": {}, "metadata": {}}
    for key, value in row.items():
        if value is None:
            continue
        value = _plain(value)
        if key in names:
            item[names[key]] = value
        elif key in ("inputs", "metadata"):
            item[key] = value
        elif key.startswith(("inputs.", "metadata.")):
            group, _, name = key.partition(".")
            item[group][name] = value
        else:
            item["inputs"][key] = value
    return item


FEEDBACK_FIELDS = ("observation_id", "label", "score", "thumbs_up", "ts", "metadata")
# Read as text from a CSV: Arrow would make numbers of ids and labels such as 0/1 (the API takes
# them as strings) and would type the time column from its first block only.
FEEDBACK_TEXT = ["observation_id", "label", "ts"]


def ingest(
    file: Annotated[
        Path, typer.Argument(help="JSONL, CSV or Parquet file of observations (or feedback).")
    ],
    system: Annotated[str, typer.Option("--system", help="System the rows belong to.")],
    feedback: Annotated[
        bool,
        typer.Option(
            "--feedback",
            help="The rows are feedback on stored observations: `observation_id` and `label` "
            "(or `score`, `thumbs_up`), optionally `ts` — labels that arrive late.",
        ),
    ] = False,
    batch: Annotated[int, typer.Option(min=1, help="Items per request.")] = 1000,
    ts: Annotated[str, typer.Option("--ts", help="The column of each row's time.")] = "ts",
    id_column: Annotated[str, typer.Option("--id", help="The column of ids.")] = "id",
    output: Annotated[str, typer.Option(help="The column holding the output.")] = "output",
    latency: Annotated[str, typer.Option(help="The column of latency in ms.")] = "latency_ms",
    model_version: Annotated[str, typer.Option(help="The model version column.")] = "model_version",
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Backfill observations, or with --feedback their labels, from a file; rejected rows go to
    the dead letters. Observation columns are taken by name (`ts`, `id`, `output`,
    `latency_ms`, `model_version`), or as the flags say; every other column is an input."""
    if not file.is_file():
        err.print(f"no such file: {file}", markup=False)
        return INVALID
    chosen = dict(zip(ITEM_FIELDS, (id_column, ts, output, latency, model_version), strict=True))
    flags = dict(zip(ITEM_FIELDS, ("id", "ts", "output", "latency", "model-version"), strict=True))
    renamed = [f"--{flags[field]}" for field, column in chosen.items() if column != field]
    if feedback and renamed:
        err.print(
            f"{', '.join(renamed)}: feedback columns are taken by name "
            f"({', '.join(FEEDBACK_FIELDS)}); rename the file's columns instead",
            markup=False,
        )
        return INVALID
    names = {column: field for field, column in chosen.items()}
    if len(names) < len(chosen):
        err.print("two flags name the same column; each column holds one field", markup=False)
        return INVALID
    try:
        columns = _columns_of(file)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        err.print(f"{file}: not a readable {file.suffix.lstrip('.')} file ({exc})", markup=False)
        return INVALID
    if columns is not None:
        refused = (
            _feedback_columns(columns)
            if feedback
            else [f"--{flags[f]} {c}" for f, c in chosen.items() if c != f and c not in columns]
        )
        if refused:
            what = "feedback needs" if feedback else "no such column for"
            err.print(
                f"{file}: {what} {', '.join(refused)}; its columns: {', '.join(columns)}",
                markup=False,
            )
            return INVALID
    with operations(now) as ops:
        if feedback:
            sent = _backfill(
                file, _feedback_rows(file), lambda b: ops.feedback(system, b, source="file"), batch
            )
        else:
            rows = _rows(file, names)
            sent = _backfill(file, rows, lambda b: ops.ingest(system, b, source="file"), batch)
    if sent is None:
        return INVALID
    totals, errors = sent
    if json:
        print_json({**totals, "errors": errors})
    else:
        out.print(
            f"{totals['accepted']} stored, {totals['duplicates']} duplicates skipped, "
            f"{totals['rejected']} rejected (kept as dead letters: `wk dead-letter {system}`)"
        )
        for line in errors[:10]:
            out.print(f"  {line}", markup=False)
    return ATTENTION if totals["rejected"] else OK


def _feedback_columns(columns: list[str]) -> list[str]:
    """What a feedback table lacks or holds beyond feedback, said as the refusal lists it."""
    lacking = [] if "observation_id" in columns else ["an observation_id column"]
    if not {"label", "score", "thumbs_up"} & set(columns):
        lacking.append("a label, score or thumbs_up column")
    extra = [c for c in columns if c not in FEEDBACK_FIELDS]
    if extra:
        lacking.append(f"no other columns (not {', '.join(extra)})")
    return lacking


def _feedback_rows(path: Path) -> Iterator[Any]:
    """Feedback items from JSONL as written, or from a table with its empty cells left out (an
    empty label beside a score is no label) and whole-number ids and labels as text, as a
    typed Parquet column holds 0/1 labels."""
    if path.suffix.lower() in JSONL:
        yield from _rows(path, {})
        return
    for batch in _table_batches(path, FEEDBACK_TEXT, empty_is_null=True):
        for row in batch.to_pylist():
            yield {
                key: str(value) if key in FEEDBACK_TEXT and type(value) is int else _plain(value)
                for key, value in row.items()
                if value is not None
            }


MAX_ERRORS_KEPT = 5  # per request: a file of bad rows should not fill the terminal


def _backfill(
    file: Path, rows: Iterator[Any], send: Callable[[list[Any]], dict[str, Any]], batch: int
) -> tuple[dict[str, int], list[str]] | None:
    """Send a file's rows in batches, summing what was stored and refused, each refusal named
    by the row of the file it came from; None (after saying why) when the file turns unreadable
    partway, with what was sent before kept."""
    from rich.progress import Progress

    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    errors: list[str] = []
    pending: list[Any] = []
    with Progress(transient=True, console=err) as progress:
        task = progress.add_task(f"ingesting {file.name}", total=None)

        def flush() -> None:
            offset = totals["accepted"] + totals["duplicates"] + totals["rejected"]
            result = send(pending)
            totals["accepted"] += result["accepted"]
            totals["duplicates"] += result["duplicates"]
            totals["rejected"] += len(result["rejected"])
            errors.extend(
                _row_error(r["error"], r["index"], offset)
                for r in result["rejected"][:MAX_ERRORS_KEPT]
            )
            progress.advance(task, len(pending))
            pending.clear()

        try:
            for row in rows:
                pending.append(row)
                if len(pending) >= batch:
                    flush()
        except (OSError, ValueError) as exc:  # a file that turns unreadable partway
            read = totals["accepted"] + totals["duplicates"] + totals["rejected"]
            err.print(
                f"{file}: unreadable after {read + len(pending)} rows ({exc}); the {read} sent "
                "before are stored or refused as said, the rest was not sent",
                markup=False,
            )
            return None
        if pending:
            flush()
    return totals, errors


def _row_error(error: str, index: int, offset: int) -> str:
    """A refusal as the file's row (1 the first) rather than the request's `items[i]`."""
    prefix = f"items[{index}]"
    return f"row {offset + index + 1}{error.removeprefix(prefix)}"


PARTIALS_PER_REQUEST = 5_000  # each is one whole window, so any prefix stored is consistent


def profile(
    path: Annotated[Path, typer.Argument(help="A Parquet file, or a directory of them.")],
    system: Annotated[str, typer.Option("--system", help="System the rows belong to.")],
    ts: Annotated[str, typer.Option("--ts", help="The column holding each row's time.")],
    id_column: Annotated[
        str | None, typer.Option("--id", help="The column of observation ids (else a hash).")
    ] = None,
    output: Annotated[str | None, typer.Option(help="The column holding the output.")] = None,
    latency: Annotated[str | None, typer.Option(help="The column of latency in ms.")] = None,
    model_version: Annotated[str | None, typer.Option(help="The model version column.")] = None,
    engine: Annotated[
        str, typer.Option(help="`local` (pyarrow, one process) or `spark` (PySpark).")
    ] = "local",
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Profile lake data where it lives into the window partials the monitor reads, and record
    them for the system (on the database, or through the server with WATCHKEEPER_URL): the same
    findings as if every row had been ingested. Profiling the same files again stores nothing."""
    from watchkeeper.ingest.lake import Columns
    from watchkeeper.ingest.lake import profile as profile_lake
    from watchkeeper.manifest import SystemManifest
    from watchkeeper.monitor.partials import profiling_for

    if engine not in ("local", "spark"):
        raise typer.BadParameter("use `local` or `spark`", param_hint="--engine")
    columns = Columns(ts, id_column, output, latency, model_version)
    totals = {"partials": 0, "duplicates": 0, "rows": 0, "windows": 0}
    with operations(now) as ops:
        plan = ops.profiling(system)
        profiling = profiling_for(SystemManifest.model_validate(plan["manifest"]))
        made = profile_lake(path, profiling, columns, plan["edges"], engine=engine)  # type: ignore[arg-type]
        items = [
            {"key": p.key, "window_start": p.window_start.isoformat(),
             "window_end": p.window_end.isoformat(), "rows": p.rows, "state": p.state,
             "origin": p.origin}
            for p in made
        ]  # fmt: skip
        for start in range(0, len(items), PARTIALS_PER_REQUEST):
            result = ops.record_partials(system, items[start : start + PARTIALS_PER_REQUEST])
            for key in totals:
                totals[key] += result[key]
    if json:
        print_json(totals)
    else:
        out.print(
            f"{totals['rows']} rows profiled into {totals['windows']} windows: "
            f"{totals['partials']} partials stored, {totals['duplicates']} already there"
        )
    return OK


def observations(
    system: SystemArg,
    since: Annotated[
        str | None, typer.Option(help="Only those at or after (ISO 8601, or 2h / 3d ago).")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help='An expression of the runbook\'s language, e.g. "latency_ms > 500".'),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 20,
    after: Annotated[str | None, typer.Option(help="Go on from a page's `next`.")] = None,
    json: JsonOpt = False,
) -> int:
    """What a system saw, newest first: inputs, output, latency and feedback as stored."""
    from watchkeeper.durations import parse_duration

    start: datetime | None = None
    if since:
        try:
            start = datetime.now(UTC) - parse_duration(since)
        except ValueError:
            try:
                start = datetime.fromisoformat(since)
            except ValueError:
                err.print(
                    f"--since {since}: neither a time (ISO 8601) nor a duration", markup=False
                )
                return INVALID
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
    with operations() as ops:
        page = ops.observations(system, since=start, where=where, limit=limit, after=after)
    if json:
        print_json(page)
        return OK
    for seen in page["observations"]:
        latency = f" {seen['latency_ms']:g} ms" if seen["latency_ms"] is not None else ""
        told = f"  feedback {jsonlib.dumps(seen['feedback'])}" if seen["feedback"] else ""
        out.print(f"{seen['ts'][:19]} {seen['id']}{latency}{told}", markup=False)
        out.print(f"    inputs {jsonlib.dumps(seen['inputs'])[:160]}", markup=False)
        out.print(f"    output {jsonlib.dumps(seen['output'])[:160]}", markup=False)
    if not page["observations"]:
        out.print(f"none found among the {page['scanned']} read", markup=False)
    if page["next"]:
        out.print(f"more: --after {page['next']}", markup=False)
    return OK


def dead_letter(
    system: SystemArg,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    json: JsonOpt = False,
) -> int:
    """Items that were rejected, with the reason, kept verbatim for inspection."""
    with operations() as ops:
        letters = ops.dead_letters(system, limit)
    if json:
        print_json(letters)
    else:
        for letter in letters:
            out.print(
                f"#{letter['id']} {letter['received_at'][:19]} [{letter['source']}] "
                f"{letter['reason']}",
                markup=False,
            )
            out.print(f"    {jsonlib.dumps(letter['raw'])[:200]}", markup=False)
        if not letters:
            out.print("no dead letters")
    return OK


@contextmanager
def _replaying(now: str | None) -> Iterator[Operations | Remote]:
    """Operations as of `--now` on the real clock: `--now` names the instant evaluated, never
    the clock, so the scheduler's lease and evaluation marks still follow real time (and a
    `--now` in the future is refused rather than run)."""
    instant = parse_now(now)
    if instant is None or Settings.from_env().url:
        with operations(now) as ops:  # (which refuses --now against a server)
            yield ops
        return
    from watchkeeper.app import Operations

    with application() as app:
        yield Operations(app, Settings.from_env().actor(), instant, enforce=False)


def tick(
    now: Annotated[
        str | None, typer.Option("--now", help="Run as of this ISO 8601 instant (replays).")
    ] = None,
    json: JsonOpt = False,
) -> int:
    """Run every due check, escalation step and reminder once (the server does this itself)."""
    with _replaying(now) as ops:
        report = ops.tick()
    if json:
        print_json(report)
    elif not report["ran"]:
        out.print("another process holds the scheduler lease; nothing done")
    else:
        out.print(
            f"{report['now'][:19]}: {report['windows']} windows evaluated, {report['findings']} "
            f"new findings, {len(report['incidents_opened'])} incidents opened, "
            f"{report['pages']} escalation steps"
        )
        for failure in report["failures"]:
            where = f" for {failure['system']}" if failure["system"] else ""
            err.print(f"  FAILED {failure['step']}{where}: {failure['error']}", markup=False)
    return ATTENTION if report.get("failures") else OK


def check(
    system: SystemArg,
    json: JsonOpt = False,
    now: NowOpt = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also show each statistical check's threshold, its share of the alarm budget "
            "and the smallest shift it can see.",
        ),
    ] = False,
) -> int:
    """Show what the checks conclude for one system's current windows. Read-only: nothing is
    recorded and nothing alerted; the scheduler's tick does that."""
    with operations(now) as ops:
        result = ops.check(system)
    if json:
        print_json(result)
    else:
        out.print(
            f"{system}: {result['windows']} windows looked at; read-only, nothing was recorded "
            "(the scheduler's tick stores findings and alerts)"
        )
        for finding in result["findings"]:
            out.print(
                f"  [{finding['severity']}] {finding['check']} {finding['subject']}: "
                f"{finding['summary']}",
                markup=False,
            )
        if explain:
            _explain(result)
    # "Too few to tell" is recorded for the record, never a reason to act.
    acting = [f for f in result["findings"] if f["check"] != "undecided"]
    return ATTENTION if acting else OK


def _explain(result: dict[str, Any]) -> None:
    entries = result["calibration"]
    out.print(f"alarm budget: {result['alarm_budget']}, shared by {len(entries)} checks")
    if not entries:
        out.print("  nothing calibrated yet: the baseline period has not ended")
    for entry in entries:
        rule = f" ({entry['rule']})" if entry["rule"] else ""
        out.print(f"  {entry['check']} {entry['subject']}{rule}", markup=False)
        out.print(f"    fires when:   {entry['threshold']}", markup=False)
        out.print(f"    false alarms: {entry['false_alarms']}", markup=False)
        out.print(
            f"    sees:         {entry['detects']} "
            f"(~{entry['rows_per_window']:.0f} rows per window)",
            markup=False,
        )
        if not entry["meets_budget"]:
            out.print(f"    [yellow]budget not met[/]: {entry['needs']}")


def findings(
    system: Annotated[str | None, typer.Argument(help="One system; all when omitted.")] = None,
    limit: Annotated[
        int, typer.Option(help="How many findings to read, newest first, before rolling up.")
    ] = 200,
    json: JsonOpt = False,
) -> int:
    """What the checks found: one row per cause per run of windows, dated by the windows it is
    about; --json gives every finding with its evidence, and the rows that group them."""
    from watchkeeper.monitor.rollup import rollup, span, told

    with operations() as ops:
        found = ops.findings(system, limit)
    rows = rollup(found)
    if json:
        print_json({"rows": rows, "findings": found})
        return OK
    table = Table(header_style="bold", pad_edge=False)
    for name in ("windows", "system", "check", "severity", "what"):
        table.add_column(name)
    for row in rows:
        check = f"{row['check']} ({row['rule']})" if row["rule"] else row["check"]
        table.add_row(span(row), row["system"], Text(check), row["severity"], Text(told(row)))
    out.print(table)
    return OK


def signals(
    system: SystemArg,
    signal: Annotated[str | None, typer.Option("--signal", help="Only this signal.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=400, help="How many of each signal's newest windows.")
    ] = 30,
    json: JsonOpt = False,
) -> int:
    """Each signal's values window by window, oldest first: the value and the rows behind it,
    and for an estimated metric its interval and, once labels have come, the metric realized
    on them — how good the estimate was."""
    with operations() as ops:
        listed = ops.signals(system, signal, limit)
    if json:
        print_json(listed)
        return OK
    for entry in listed:
        estimated = entry["metric"] is not None
        what = f"estimated {entry['metric']}" if estimated else entry["kind"]
        table = Table(
            title=f"{entry['signal']} ({what}, {entry['window']} windows)",
            header_style="bold",
            pad_edge=False,
        )
        for name in ("window start", "value", "n") + (
            ("interval", "realized") if estimated else ()
        ):
            table.add_column(name, justify="left" if name == "window start" else "right")
        for window in entry["windows"]:
            cells = [window["window_start"][:16].replace("T", " "), _number(window["value"]),
                     str(window["n"])]  # fmt: skip
            if estimated:
                cells += [_interval(window["low"], window["high"]), _realized(window)]
            table.add_row(*cells)
        out.print(table)
        if not entry["windows"]:
            out.print(f"  no windows yet for {entry['signal']}", markup=False)
    return OK


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{low:.3g}–{high:.3g}"


def _realized(window: dict[str, Any]) -> str:
    """The realized metric and how many labels it rests on; blank until labels come."""
    if window["realized"] is None:
        return "-"
    return f"{window['realized']:.4g} (n={window['realized_n']})"
