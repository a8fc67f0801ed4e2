"""Care and knowledge: eval runs, owner reviews and reports, the care ledger, decisions, failure
modes, near-misses, postmortems, and the Markdown export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from watchkeeper.care.knowledge import KINDS
from watchkeeper.cli._common import (
    ATTENTION,
    OK,
    JsonOpt,
    NowOpt,
    answer,
    err,
    operations,
    out,
    print_json,
)

eval_app = typer.Typer(help="Golden-set evals.", no_args_is_help=True)
care_app = typer.Typer(
    help="The care ledger: hours given against the budget.", no_args_is_help=True
)
log_app = typer.Typer(
    help="Write down decisions, failure modes and near-misses.", no_args_is_help=True
)
knowledge_app = typer.Typer(help="Knowledge records: list and export.", no_args_is_help=True)
SystemArg = Annotated[str, typer.Argument(help="System name.")]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option("--field", "-f", help="NAME=TEXT for any field of the record (repeatable)."),
]


@eval_app.command("run")
def eval_run(
    system: SystemArg,
    suite: Annotated[str | None, typer.Option(help="One suite (default: all).")] = None,
    base_dir: Annotated[
        Path | None, typer.Option(help="Where datasets and targets are (default: here).")
    ] = None,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Run the golden set(s) through the target here, score, record, and diff against the last
    run; with WATCHKEEPER_URL set the run is uploaded for the server to record."""
    from rich.progress import Progress

    with operations(now) as ops, Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"eval {system}", total=None)

        def progress(done: int, total: int, _case: Any) -> None:
            bar.update(task, completed=done, total=total)

        runs = ops.eval_run(system, suite, str(base_dir or os.getcwd()), progress)
    if json:
        print_json([{k: v for k, v in r.items() if k != "run"} for r in runs])
    regressions = 0
    for run in runs if not json else []:
        out.print(
            f"{run['system']} {run['suite']}: pass rate {run['pass_rate']:.1%} "
            f"over {run['count']} cases"
        )
        diff = run["diff"]
        if diff is None:
            out.print("  first run: nothing to compare with")
            continue
        for tag, flips in sorted(diff["by_tag"].items()):
            if flips["regressions"]:
                out.print(f"  [red]regressed[/] ({tag}): {', '.join(flips['regressions'])}")
            if flips["fixes"]:
                out.print(f"  [green]fixed[/] ({tag}): {', '.join(flips['fixes'])}")
    for run in runs:
        regressions += len(run["diff"]["regressions"]) if run["diff"] else 0
    return ATTENTION if regressions else OK


def review(
    system: SystemArg,
    verdict: Annotated[str, typer.Option(help="healthy | concerns | action-needed")],
    notes: Annotated[str, typer.Option(help="What the owner saw and decided.")] = "",
    days: Annotated[int, typer.Option(help="Period the report covers.")] = 30,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """The owner signs off the period's quality report with a verdict (stored with the report)."""
    with operations(now) as ops:
        row = ops.review(system, verdict, notes, days)
    return answer(
        row, json, f"review of {system} recorded: {row['verdict']} ({row['reviewed_at'][:10]})"
    )


def report(
    system: SystemArg,
    format: Annotated[str, typer.Option("--format", help="md | html | json")] = "md",
    days: Annotated[int, typer.Option(help="Period to cover, ending now.")] = 30,
    now: NowOpt = None,
) -> int:
    """The period report an owner reviews; HTML is one self-contained file with charts."""
    from watchkeeper.care import report as reports

    if format not in ("md", "html", "json"):
        raise typer.BadParameter("md, html or json", param_hint="--format")
    with operations(now) as ops:
        data = ops.report(system, days)
    if format == "json":
        print_json(data)
    else:
        text = reports.markdown(data) if format == "md" else reports.html_page(data)
        out.print(text, markup=False, highlight=False, soft_wrap=True)
    return OK


@care_app.command("log")
def care_log(
    system: SystemArg,
    hours: Annotated[float, typer.Option(help="Hours given.")],
    kind: Annotated[str, typer.Option(help="maintenance | eval | review | retraining | triage")],
    note: Annotated[str, typer.Option(help="What was done.")] = "",
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Record care given (evals and reviews are recorded by themselves)."""
    with operations(now) as ops:
        row = ops.care_log(system, hours, kind, note)
    return answer(row, json, f"{row['hours']:g} h of {row['kind']} recorded for {system}")


@care_app.command("ledger")
def care_ledger(system: SystemArg, json: JsonOpt = False, now: NowOpt = None) -> int:
    """Planned against given, per month."""
    with operations(now) as ops:
        ledger = ops.care_ledger(system)
    if json:
        print_json(ledger)
    else:
        for month in ledger["months"]:
            flag = "  UNSPENT" if month["unspent"] else ""
            out.print(f"{month['month']}: {month['given']:g} of {month['planned']:g} h{flag}")
    return ATTENTION if ledger["unspent_streak"] >= 2 else OK


def _fields(items: list[str] | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: write NAME=TEXT", param_hint="--field")
        if name in fields:
            existing = fields[name]
            fields[name] = [*existing, text] if isinstance(existing, list) else [existing, text]
        else:
            fields[name] = text
    return fields


def _log(kind: str) -> Any:
    def command(
        system: SystemArg,
        title: Annotated[str, typer.Option(help="A short title.")],
        field: FieldOpt = None,
        closes: Annotated[
            int | None, typer.Option(help="Close this pending decision with your call.")
        ] = None,
        json: JsonOpt = False,
        now: NowOpt = None,
    ) -> int:
        with operations(now) as ops:
            row = ops.record(kind, system, title, _fields(field), None, closes)
        if json:
            print_json(row)
        else:
            out.print(
                f"{KINDS[kind].title} {row['number']} of {system}: {row['title']} ({row['status']})"
            )
        return OK

    spec = KINDS[kind]
    names = ", ".join(f.name + ("*" if f.required else "") for f in spec.fields)
    command.__doc__ = f"Record a {spec.title.lower()}. Fields (* required): {names}."
    return command


log_app.command("decision")(_log("decision"))
log_app.command("failure-mode")(_log("failure-mode"))
log_app.command("near-miss")(_log("near-miss"))


def postmortem(
    incident: Annotated[int, typer.Argument(help="Incident number.")],
    title: Annotated[str, typer.Option(help="A short title.")],
    field: FieldOpt = None,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Write the postmortem of an incident (summary*, impact*, root_causes*, action_items, ...)."""
    with operations(now) as ops:
        row = ops.postmortem(incident, title, _fields(field))
    return answer(
        row, json, f"Postmortem {row['number']} of {row['system']} for incident #{incident}"
    )


@knowledge_app.command("list")
def knowledge_list(system: SystemArg, json: JsonOpt = False) -> int:
    """Every record of a system."""
    with operations() as ops:
        rows = ops.knowledge(system)
    if json:
        print_json(rows)
    else:
        for row in rows:
            out.print(
                f"{row['kind']} {row['number']}: {row['title']} ({row['status']})", markup=False
            )
    return OK


@knowledge_app.command("export")
def knowledge_export(
    system: SystemArg,
    dir: Annotated[Path, typer.Option("--dir", help="Folder in the system's repo.")],
    now: NowOpt = None,
) -> int:
    """Write every record as Markdown (and an index) for the team to commit beside its code."""
    from watchkeeper.care.knowledge import write_export

    with operations(now) as ops:
        records = ops.knowledge(system)
    for path in write_export(system, records, str(dir)):
        out.print(f"wrote {path}", markup=False)
    return OK
