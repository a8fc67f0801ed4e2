"""Commands about the charter: gate, apply, ack, status, vacuum, people.

Each works in both modes: on the database directly, or through the server when WATCHKEEPER_URL
is set. `gate` judges files here: through the server (for CI) it sends them and the server
judges them by its acknowledgements; locally it reads the store when there is one and never
creates it; `gate --offline` reads no store and contacts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from watchkeeper.cli._common import (
    ATTENTION,
    OK,
    JsonOpt,
    NowOpt,
    err,
    existing_store,
    mark,
    operations,
    out,
    parse_now,
    print_json,
)
from watchkeeper.clock import SystemClock
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    from datetime import datetime

    from watchkeeper.charter import GateReport

Paths = Annotated[list[str], typer.Argument(help="Manifest files or directories.")]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Check only what the files prove, reading no store and contacting no server (a "
        "pre-merge check): people and teams as the files declare them; acknowledgements "
        "reported as not checked, not failed.",
    ),
]

people_app = typer.Typer(
    help="People: deactivate someone who left, reactivate someone who is back.",
    no_args_is_help=True,
)


def gate(
    paths: Paths, offline: OfflineOpt = False, json: JsonOpt = False, now: NowOpt = None
) -> int:
    """Go-live readiness: every failed check named with why it matters and the fix. With
    WATCHKEEPER_URL set, acknowledgements are read through the server (for CI)."""
    reports = _reports(paths, offline, now)
    if json:
        print_json(reports)
    else:
        for report in reports:
            _print_report(report)
    return OK if all(r["ready"] for r in reports) else ATTENTION


def _reports(paths: list[str], offline: bool, now: str | None) -> list[dict[str, Any]]:
    """The reports as `GateReport.to_dict()` gives them, which is also what the server sends."""
    if not offline and Settings.from_env().url:
        from watchkeeper.cli._client import Remote

        with operations(now) as remote:  # (which refuses --now against a server)
            assert isinstance(remote, Remote)  # a URL is set: these are the server's
            return remote.gate(paths)
    instant = parse_now(now) or SystemClock().now()
    reports = _offline_gate(paths, instant) if offline else _gate(paths, instant)
    return [r.to_dict() for r in reports]


def _print_report(report: dict[str, Any]) -> None:
    verdict = "[green]READY[/]" if report["ready"] else "[red]NOT READY[/]"
    unchecked = len(report["not_checked"])
    aside = f", {unchecked} check(s) not checked" if unchecked else ""
    out.print(f"\n[bold]{report['system']}[/]  {verdict}  score {report['score']}/100{aside}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("check", "result", "detail"):
        table.add_column(column)
    checks = report["checks"]
    for check in checks:
        result = "[dim]– not checked[/]" if check["passed"] is None else mark(check["passed"])
        table.add_row(check["id"], result, check["detail"])
    out.print(table)
    for check in checks:
        if check["passed"] is False:
            out.print(
                f"  [red]✘[/] [bold]{check['id']}[/]: {check['why']}\n    fix: {check['fix']}"
            )


def _offline_gate(paths: list[str], now: datetime) -> list[GateReport]:
    from watchkeeper.charter import declared, evaluate_all
    from watchkeeper.manifest import load_paths

    loaded = load_paths(paths)
    return evaluate_all(loaded, declared(loaded), None, now)


def _gate(paths: list[str], now: datetime) -> list[GateReport]:
    """The gate over the local store; with none, as over an empty one (nothing acknowledged),
    leaving none behind."""
    from watchkeeper.charter import CharterService, declared, evaluate_all
    from watchkeeper.manifest import load_paths

    db = Settings.from_env().db
    with existing_store(db) as store:
        if store is not None:
            charter = CharterService(store)
            return charter.gate(charter.load(paths), now)
    err.print(
        f"no store at {db}: nothing is acknowledged yet (none was created). "
        "`wk gate --offline` checks only what the files prove.",
        markup=False,
    )
    loaded = load_paths(paths)
    return evaluate_all(loaded, declared(loaded), {}, now)


def apply(paths: Paths, json: JsonOpt = False, now: NowOpt = None) -> int:
    """Upsert systems and people from manifests; every version is kept; prints what changed."""
    with operations(now) as ops:
        changes = ops.apply(paths)
    if json:
        print_json(changes)
        return OK
    for change in changes:
        style = {"created": "green", "updated": "yellow"}.get(change["action"], "dim")
        out.print(f"[{style}]{change['action']:>9}[/] {change['kind']} {change['name']}")
        for detail in change["details"]:
            out.print(f"            {detail}", markup=False)
    return OK


def ack(
    system: Annotated[str, typer.Argument(help="System name.")],
    role: Annotated[
        str,
        typer.Argument(
            help="owner, quality_monitor, retraining_decider, data_liaison, kill_authority, "
            "or all (every role you hold)"
        ),
    ],
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Acknowledge a role you hold (acting person: WATCHKEEPER_USER)."""
    with operations(now) as ops:
        states = ops.ack(system, role)
    if json:
        print_json(states)
    else:
        for state in states:
            until = f" until {state['expires_at'][:10]}" if state["expires_at"] else ""
            out.print(f"{system} {state['role']}: {state['holder']} {state['ack']}{until}")
    return OK


def status(
    system: Annotated[str | None, typer.Argument(help="One system; all when omitted.")] = None,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Charter, acknowledgement states, lifecycle and what is missing."""
    with operations(now) as ops:
        rows = ops.status(system)
    if json:
        print_json(rows)
    else:
        for row in rows:
            out.print(
                f"\n[bold]{row['system']}[/] ({row['title'] or '-'}) tier {row['tier']}, "
                f"{row['lifecycle']}, version {row['version']}"
            )
            table = Table(box=None, pad_edge=False, header_style="bold")
            for column in ("role", "holder", "active", "acknowledged"):
                table.add_column(column)
            for a in row["assignments"]:
                table.add_row(
                    a["role"], a["holder"], "yes" if a["active"] else "[red]NO (left)[/]", a["ack"]
                )
            out.print(table)
            for item in row["missing"]:
                out.print(f"  [yellow]missing[/] {item}")
    return ATTENTION if any(r["missing"] for r in rows) else OK


def vacuum(json: JsonOpt = False, now: NowOpt = None) -> int:
    """The portfolio ownership report: per system, a score and the exact gaps."""
    with operations(now) as ops:
        portfolio = ops.vacuum()
    reports = portfolio["systems"]
    if json:
        print_json(reports)
    else:
        table = Table(title="Ownership vacuum report", header_style="bold", pad_edge=False)
        for column in ("system", "lifecycle", "owner", "score", "gaps"):
            table.add_column(column)
        for report in reports:
            table.add_row(
                report["system"],
                report["lifecycle"],
                report["owner"] or "-",
                f"{report['score']}/100",
                _gap_summary(report["gaps"]),
            )
        out.print(table)
        for report in reports:
            for gap in report["gaps"]:
                level = "[red]CRITICAL[/]" if gap["severity"] == "critical" else "[yellow]gap[/]"
                out.print(f"{level} {report['system']} {gap['id']}: {gap['detail']}")
                out.print(f"    fix: {gap['fix']}", markup=False)
    return ATTENTION if portfolio["critical"] else OK


def _gap_summary(gaps: list[dict[str, Any]]) -> str:
    if not gaps:
        return "none"
    critical = sum(1 for g in gaps if g["severity"] == "critical")
    return f"{len(gaps)} ({critical} critical)" if critical else f"{len(gaps)}"


@people_app.command("deactivate")
def deactivate(
    email: Annotated[str, typer.Argument(help="The person who left.")],
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Mark someone as gone: every role they held shows as vacant at once, and re-applying
    people.yaml does not bring them back (only `wk people reactivate` does)."""
    with operations(now) as ops:
        return _person_change(ops.deactivate(email), json)


@people_app.command("reactivate")
def reactivate(
    email: Annotated[str, typer.Argument(help="The person who is back.")],
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Reverse a deactivation (admins): the person, and their unrevoked tokens, act again."""
    with operations(now) as ops:
        return _person_change(ops.reactivate(email), json)


def _person_change(change: dict[str, Any], json: bool) -> int:
    if json:
        print_json(change)
    else:
        out.print(f"{change['name']}: {change['action']}", markup=False)
        for detail in change["details"]:
            out.print(f"  {detail}", markup=False)
    return OK
