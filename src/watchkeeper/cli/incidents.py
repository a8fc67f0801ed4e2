"""Incidents and silences: list, show, acknowledge, resolve, classify serious; mute."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from watchkeeper.alerting.timeline import timeline
from watchkeeper.cli._common import OK, JsonOpt, NowOpt, answer, operations, out, print_json

incident_app = typer.Typer(
    help="Incidents: list, show, ack, resolve, serious.", no_args_is_help=True
)
IdArg = Annotated[int, typer.Argument(help="Incident number.")]


@incident_app.command("list")
def list_incidents(
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    json: JsonOpt = False,
) -> int:
    """Incidents, newest first."""
    with operations() as ops:
        rows = ops.incidents(system, open_only)
    if json:
        print_json(rows)
        return OK
    table = Table(header_style="bold", pad_edge=False)
    for name in ("#", "system", "severity", "status", "opened", "title"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["system"],
            row["severity"],
            row["status"],
            row["opened_at"][:16],
            row["title"],
        )
    out.print(table)
    return OK


@incident_app.command("show")
def show(incident: IdArg, json: JsonOpt = False) -> int:
    """One incident with its timeline — each alert's rule and what it said, each escalation —
    and every delivery attempt."""
    with operations() as ops:
        detail = ops.incident(incident)
    if json:
        print_json(detail)
        return OK
    out.print(
        f"#{detail['id']} {detail['system']} [{detail['severity']}] {detail['status']}: "
        f"{detail['title']}",
        markup=False,
    )
    for event in timeline(detail):
        out.print(f"  {event['at'][:16]} {event['text']}", markup=False)
    for d in detail["deliveries"]:
        out.print(
            f"  {d['at'][:16]} -> {d['recipient']} via {d['channel']}: {d['status']}", markup=False
        )
    return OK


@incident_app.command("ack")
def ack(incident: IdArg, json: JsonOpt = False, now: NowOpt = None) -> int:
    """Acknowledge: stops the escalation (anyone on the path or in the charter may)."""
    with operations(now) as ops:
        row = ops.incident_ack(incident)
    return answer(row, json, f"#{row['id']} {row['status']} by {row['acknowledged_by']}")


@incident_app.command("resolve")
def resolve(
    incident: IdArg,
    reason: Annotated[str, typer.Option(help="What fixed it.")] = "",
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Resolve by hand (incidents also resolve themselves once their findings clear)."""
    with operations(now) as ops:
        row = ops.incident_resolve(incident, reason)
    return answer(row, json, f"#{row['id']} {row['status']} by {row['resolved_by']}")


@incident_app.command("serious")
def serious(
    incident: IdArg,
    kind: Annotated[
        str, typer.Option(help="default | widespread | critical-infrastructure | death")
    ] = "default",
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Classify as a serious incident (EU AI Act Art. 3(49)); shows the Art. 73 report deadline."""
    with operations(now) as ops:
        row = ops.incident_serious(incident, kind)
    return answer(
        row, json, f"#{row['id']} serious ({row['serious_kind']}): report due {row['report_due']}"
    )


def silence(
    system: Annotated[str | None, typer.Option(help="Only this system (default: all).")] = None,
    match: Annotated[
        list[str] | None, typer.Option(help="LABEL=PATTERN, e.g. rule=quality-* (repeatable).")
    ] = None,
    hours: Annotated[float, typer.Option(help="How long.")] = 4.0,
    reason: Annotated[str, typer.Option(help="Why (required).")] = "",
    maintenance: Annotated[bool, typer.Option(help="A maintenance window for the system.")] = False,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Mute matching alerts for a while, with a reason; recorded in the audit log."""
    matchers = {}
    for item in match or []:
        label, _, pattern = item.partition("=")
        if not label or not pattern:
            raise typer.BadParameter(f"{item!r}: write LABEL=PATTERN", param_hint="--match")
        matchers[label] = pattern
    with operations(now) as ops:
        row = ops.silence(
            system, matchers, hours, reason, "maintenance" if maintenance else "silence"
        )
    return answer(row, json, f"{row['kind']} #{row['id']} for {row['hours']:g}h")
