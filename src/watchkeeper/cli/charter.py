"""Commands about the charter: gate, apply, ack, status, vacuum, people.

Each works in both modes: on the database directly, or through the server when WATCHKEEPER_URL
is set. `gate` judges files here: through the server (for CI) it sends them and the server
judges them by its acknowledgements; locally it reads the store when there is one and never
creates it; `gate --offline` reads no store and contacts nothing.
"""

from __future__ import annotations

import json as jsonlib
import os
import sys
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from watchkeeper.cli._common import (
    ATTENTION,
    OK,
    JsonOpt,
    JustificationOpt,
    NowOpt,
    err,
    existing_store,
    held_back,
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
    from watchkeeper.cli._gate_formats import Spot
    from watchkeeper.manifest import Loaded, Location

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

FORMATS = ("text", "json", "github", "sarif")
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="text (the default); json; github: workflow-command annotations at the manifest "
        "line each check looks at, for GitHub Actions; sarif: a SARIF 2.1.0 log, for code "
        "scanning.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", help="Write the report to this file instead of standard output."),
]

people_app = typer.Typer(
    help="People: deactivate someone who left, reactivate someone who is back.",
    no_args_is_help=True,
)


def gate(
    paths: Paths,
    offline: OfflineOpt = False,
    format: FormatOpt = None,
    output: OutputOpt = None,
    json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
    now: NowOpt = None,
) -> int:
    """Go-live readiness: every failed check named with why it matters and the fix. With
    WATCHKEEPER_URL set, acknowledgements are read through the server (for CI)."""
    shape = _shape(format, json)
    reports, loaded = _reports(paths, offline, now)
    if shape in ("github", "sarif") and loaded is None:
        loaded = _declared_at(paths)
    if shape == "text" and output is None:
        for report in reports:
            _print_report(report, out)
    else:
        _emit(_rendered(shape, reports, loaded), output)
    return OK if all(r["ready"] for r in reports) else ATTENTION


def _shape(format: str | None, json: bool) -> str:
    if format is not None and format not in FORMATS:
        raise typer.BadParameter(
            f"{format!r} is not a format: use one of {', '.join(FORMATS)}", param_hint="--format"
        )
    if json and format not in (None, "json"):
        raise typer.BadParameter(
            f"--json is --format json: give one of them, not --format {format}",
            param_hint="--json",
        )
    return "json" if json else format or "text"


def _rendered(shape: str, reports: list[dict[str, Any]], loaded: Loaded | None) -> str:
    from watchkeeper.cli import _gate_formats

    if shape == "json":
        return jsonlib.dumps(reports, indent=2, default=str) + "\n"
    if shape == "text":
        console = Console(file=StringIO(), highlight=False, width=120, color_system=None)
        for report in reports:
            _print_report(report, console)
        return console.file.getvalue()  # type: ignore[attr-defined]
    root = _repository_root()
    spots = {key: _spot(where, root) for key, where in _places(loaded).items()}
    if shape == "github":
        return "".join(f"{line}\n" for line in _gate_formats.github_commands(reports, spots))
    log = _gate_formats.sarif_log(
        reports, spots, version=_version(), root_uri=root.as_uri().rstrip("/") + "/"
    )
    return jsonlib.dumps(log, indent=2) + "\n"


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot write {output}: {exc.strerror or exc}", param_hint="--output"
        ) from None


def _reports(
    paths: list[str], offline: bool, now: str | None
) -> tuple[list[dict[str, Any]], Loaded | None]:
    """The reports as `GateReport.to_dict()` gives them, which is also what the server sends,
    and the manifests read for them (None through a server, which reads them itself)."""
    if not offline and Settings.from_env().url:
        from watchkeeper.cli._client import Remote

        with operations(now) as remote:  # (which refuses --now against a server)
            assert isinstance(remote, Remote)  # a URL is set: these are the server's
            return remote.gate(paths), None
    instant = parse_now(now) or SystemClock().now()
    reports, loaded = _offline_gate(paths, instant) if offline else _gate(paths, instant)
    return [r.to_dict() for r in reports], loaded


def _declared_at(paths: list[str]) -> Loaded | None:
    """The files read here for where they declare each system, for a gate the server judged.
    They may name people only the server knows, which a local read refuses: the reports then
    carry no line."""
    from watchkeeper.manifest import ManifestError, load_paths

    try:
        return load_paths(paths)
    except ManifestError:
        return None


def _places(loaded: Loaded | None) -> dict[str | tuple[str, str], Location]:
    """Where each system is declared, and where the field each gate check looks at is written
    (by system and check id), as far as the files write them."""
    from watchkeeper.cli._gate_formats import LOOKS_AT

    if loaded is None:
        return {}
    places: dict[str | tuple[str, str], Location] = {}
    places.update(loaded.origins.items())
    for system, fields in loaded.fields.items():
        for check, path in LOOKS_AT.items():
            if path in fields:
                places[(system, check)] = fields[path]
    return places


def _repository_root() -> Path:
    """What CI paths are relative to: the Actions workspace, else the enclosing git checkout,
    else the working directory."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        return Path(workspace).resolve()
    here = Path.cwd().resolve()
    return next((d for d in (here, *here.parents) if (d / ".git").exists()), here)


def _spot(where: Location, root: Path) -> Spot:
    from watchkeeper.cli._gate_formats import Spot

    file = Path(where.file).resolve()
    path = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()
    return Spot(path, where.line, where.column)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("watchkeeper")
    except PackageNotFoundError:
        return "0+unknown"


def _print_report(report: dict[str, Any], console: Console) -> None:
    verdict = "[green]READY[/]" if report["ready"] else "[red]NOT READY[/]"
    unchecked = len(report["not_checked"])
    aside = f", {unchecked} check(s) not checked" if unchecked else ""
    console.print(f"\n[bold]{report['system']}[/]  {verdict}  score {report['score']}/100{aside}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("check", "result", "detail"):
        table.add_column(column)
    checks = report["checks"]
    for check in checks:
        result = "[dim]– not checked[/]" if check["passed"] is None else mark(check["passed"])
        table.add_row(check["id"], result, check["detail"])
    console.print(table)
    for check in checks:
        if check["passed"] is False:
            console.print(
                f"  [red]✘[/] [bold]{check['id']}[/]: {check['why']}\n    fix: {check['fix']}"
            )


def _offline_gate(paths: list[str], now: datetime) -> tuple[list[GateReport], Loaded]:
    from watchkeeper.charter import declared, evaluate_all
    from watchkeeper.manifest import load_paths

    loaded = load_paths(paths)
    return evaluate_all(loaded, declared(loaded), None, now), loaded


def _gate(paths: list[str], now: datetime) -> tuple[list[GateReport], Loaded]:
    """The gate over the local store; with none, as over an empty one (nothing acknowledged),
    leaving none behind."""
    from watchkeeper.charter import CharterService, declared, evaluate_all
    from watchkeeper.manifest import load_paths

    db = Settings.from_env().db
    with existing_store(db) as store:
        if store is not None:
            charter = CharterService(store)
            loaded = charter.load(paths)
            return charter.gate(loaded, now), loaded
    err.print(
        f"no store at {db}: nothing is acknowledged yet (none was created). "
        "`wk gate --offline` checks only what the files prove.",
        markup=False,
    )
    loaded = load_paths(paths)
    return evaluate_all(loaded, declared(loaded), {}, now), loaded


def apply(
    paths: Paths,
    justification: JustificationOpt = None,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Upsert systems and people from manifests; every version is kept; prints what changed."""
    with operations(now) as ops, held_back():
        changes = ops.apply(paths, justification)
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
