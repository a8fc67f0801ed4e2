"""`wk rehearse`: play a failure against a throwaway copy of the system's monitoring and say
whether the runbook pages someone, printed as a timeline the reader can hold against the runbook.

The rehearsal itself (and the check of the scenario's name and the budget) is the engine's, reached
through `Operations` or the server as every other command does; this module only prints it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from watchkeeper.cli._common import ATTENTION, OK, JsonOpt, NowOpt, operations, out, print_json

SystemArg = Annotated[str, typer.Argument(help="System name.")]
FilesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Manifest files or directories (people.yaml and the system's file) to rehearse "
        "before they are applied; none: the applied version.",
        show_default=False,
    ),
]
ScenarioOpt = Annotated[
    str,
    typer.Option(
        "--scenario",
        help="What goes wrong: quality-drop, drift, upstream-break, silence or harmful-output.",
    ),
]
BudgetOpt = Annotated[
    float,
    typer.Option(
        "--budget", help="Most wall-clock seconds the rehearsal may take (1-600).", min=1, max=600
    ),
]


def rehearse(
    system: SystemArg,
    files: FilesArg = None,
    scenario: ScenarioOpt = "quality-drop",
    budget: BudgetOpt = 120.0,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Rehearse the runbook: replay the system's traffic with a failure (--scenario) through a
    throwaway copy of its monitoring, alerting and paging, and print what happened and when —
    the finding, the incident, each page, the playbook — then what did not happen. Recorded
    (the vacuum report's `runbook.rehearsed` check reads it). Exit 1 when nobody responsible
    was paged in time; 2 for an unknown system or scenario."""
    with operations(now) as ops:
        record = ops.rehearse(system, scenario, files or (), budget)
    if json:
        print_json(record)
    else:
        out.print(told(record["report"]), markup=False, soft_wrap=True)
    return OK if record["passed"] else ATTENTION


def told(report: dict[str, Any]) -> str:
    """The header, the timeline (`+HH:MM  KIND  text`), what did not happen, and the verdict."""
    lines = [_header(report), ""]
    width = max((len(e["kind"]) for e in report["timeline"]), default=0)
    lines += [
        f"{offset(e['after_s'])}  {e['kind'].upper():<{width}}  {e['text']}"
        for e in report["timeline"]
    ] or ["nothing happened"]
    lines += ["", "Did not happen:"]
    lines += [f"  {m['check']}: {m['text']}" for m in report["missed"]] or ["  nothing"]
    lines += ["", f"{'passed' if report['passed'] else 'FAILED'}: {report['verdict']}"]
    return "\n".join(lines)


def _header(report: dict[str, Any]) -> str:
    """`PASSED  SYSTEM  scenario S  rule R → signal X  baseline from B  first page after N min`;
    a rule without a signal (drift), or none at all, or no baseline (nothing could be rehearsed)
    leaves its part out rather than print a placeholder."""
    aim = f"rule {report['rule']}" if report["rule"] else "no rule to aim at"
    if report["rule"] and report["signal"]:
        aim += f" → signal {report['signal']}"
    seconds = report["time_to_page_s"]
    parts = [
        "PASSED" if report["passed"] else "FAILED",
        report["system"],
        f"scenario {report['scenario']}",
        aim,
        f"baseline from {report['source']}" if report["source"] else "",
        "nobody paged" if seconds is None else f"first page after {round(seconds / 60)} min",
    ]
    return "  ".join(p for p in parts if p)


def offset(seconds: float) -> str:
    """`+01:05`: hours and minutes since the scenario began, to the nearest minute; before it,
    with a minus sign. Hours are not wrapped into days: a runbook is read in hours."""
    minutes = round(abs(seconds) / 60)
    hours, rest = divmod(minutes, 60)
    sign = "-" if seconds < 0 and minutes else "+"
    return f"{sign}{hours:02d}:{rest:02d}"
