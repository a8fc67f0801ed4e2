"""Incidents and silences: list, show, acknowledge, resolve; classify serious under the EU AI Act,
draft its report and record it sent, justify changes under its evidence hold; mute."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from watchkeeper.alerting.timeline import timeline
from watchkeeper.cli._common import OK, JsonOpt, NowOpt, answer, operations, out, print_json
from watchkeeper.clock import parse_instant

incident_app = typer.Typer(
    help="Incidents: list, show, ack, resolve, serious, report, justify.", no_args_is_help=True
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
    for name in ("#", "system", "severity", "status", "opened", "Art. 73 report", "title"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["system"],
            row["severity"],
            row["status"],
            row["opened_at"][:16],
            _report_cell(row),
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
    if detail["serious"]:
        out.print(f"  Serious incident: {_serious_line(detail)}", markup=False)
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
    category: Annotated[
        str,
        typer.Option(
            help="Art. 3(49): a (death or serious harm to health), b (critical infrastructure), "
            "c (fundamental rights), d (property or the environment)."
        ),
    ],
    death: Annotated[bool, typer.Option("--death", help="A death (only with a).")] = False,
    widespread: Annotated[
        bool, typer.Option("--widespread", help="A widespread infringement (Art. 3(61)).")
    ] = False,
    aware_at: Annotated[
        str | None,
        typer.Option(help="When you became aware, ISO 8601 (default now; not in the future)."),
    ] = None,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Classify as a serious incident (EU AI Act Art. 3(49)): shows the Art. 73 report's
    deadline — 2 days from awareness for b or a widespread infringement, 10 for a death, 15
    otherwise — and starts the evidence hold (Art. 73(6))."""
    aware = _instant(aware_at, "--aware-at")
    with operations(now) as ops:
        row = ops.incident_serious(incident, category, death, widespread, aware)
    return answer(row, json, f"#{row['id']} serious: {_serious_line(row)}")


def _report_cell(row: dict[str, Any]) -> str:
    """A serious incident's report: sent, or when it is due."""
    if not row["serious"]:
        return ""
    if row["reported_at"]:
        return f"sent {row['reported_at'][:16]}"
    return f"due {row['report_due'][:16]}"


def _serious_line(row: dict[str, Any]) -> str:
    """The classification, its deadline and what became of the report, in one line."""
    category = row["serious_category"] or "?"
    line = (
        f"Art. 3(49)({category}), report due {row['report_due']} "
        f"({row['deadline_days']} days, {row['deadline_article']})"
    )
    if row["report_complete_at"]:
        line += f"; complete report sent {row['report_complete_at']}"
    elif row["reported_at"]:
        line += f"; report sent {row['reported_at']}"
    return line + ("; evidence hold on (Art. 73(6))" if row["hold"] else "")


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 instant (e.g. 2026-05-01T09:00Z)", param_hint=option
        ) from None


@incident_app.command("report")
def report(
    incident: IdArg,
    complete: Annotated[
        bool, typer.Option("--complete", help="The complete report (Art. 73(5)), not the initial.")
    ] = False,
    submitted: Annotated[
        bool,
        typer.Option("--submitted", help="Record that this report went to the authority."),
    ] = False,
    reference: Annotated[
        str | None, typer.Option(help="With --submitted: the authority's reference.")
    ] = None,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """The draft of a serious incident's Art. 73 report, to send to the market surveillance
    authority; with --submitted, record that it was sent (the first one meets the deadline)."""
    if reference is not None and not submitted:
        raise typer.BadParameter("goes with --submitted", param_hint="--reference")
    with operations(now) as ops:
        if submitted:
            row = ops.incident_report_submitted(incident, complete, reference)
            kind = "complete" if complete else "initial"
            return answer(row, json, f"#{row['id']} {kind} report recorded as submitted: "
                          f"{_serious_line(row)}")  # fmt: skip
        draft = ops.incident_report(incident, complete)
    if json:
        print_json(draft)
    else:
        out.print(draft["text"], markup=False, end="")
    return OK


@incident_app.command("justify")
def justify(
    incident: IdArg,
    change: Annotated[int, typer.Argument(help="The change's number (see `wk incident report`).")],
    text: Annotated[str, typer.Option(help="Why the change was made.")],
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Justify a change made under the incident's evidence hold without one, such as a new
    model version seen in observations (EU AI Act Art. 73(6))."""
    with operations(now) as ops:
        row = ops.incident_justify(incident, change, text)
    return answer(row, json, f"change #{row['change']} ({row['what']}): justified")


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
