"""The `wk` / `watchkeeper` command: thin — parse, call the core, print, map errors to exit codes.

Exit codes: 0 ok; 1 a check failed / not ready / something needs attention; 2 invalid input or
usage. Domain errors are translated here, in one place, and never shown as a traceback.
"""

from __future__ import annotations

import sys

import typer

from watchkeeper.cli import care, charter, incidents, monitor, server, setup, triage
from watchkeeper.cli._client import ServerError
from watchkeeper.cli._common import ATTENTION, INVALID, OK, err
from watchkeeper.errors import ActionError
from watchkeeper.manifest import ManifestError
from watchkeeper.store import StoreError

app = typer.Typer(
    name="wk",
    help="Watchkeeper: keeps AI systems owned after go-live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(setup.init)
app.command()(setup.schema)
app.command()(charter.gate)
app.command()(charter.apply)
app.command()(charter.status)
app.command()(charter.vacuum)
app.command()(charter.ack)
app.command()(setup.demo)
app.add_typer(setup.db_app, name="db")
app.add_typer(charter.people_app, name="people")
app.add_typer(server.token_app, name="token")
app.command()(server.kill)
app.command()(server.restore)
app.add_typer(server.audit_app, name="audit")
app.command()(server.serve)
app.command()(monitor.ingest)
app.command("dead-letter")(monitor.dead_letter)
app.command()(monitor.tick)
app.command()(monitor.check)
app.command()(monitor.drift)
app.command()(monitor.findings)
app.command()(triage.triage)
app.add_typer(incidents.incident_app, name="incident")
app.command()(incidents.silence)
app.add_typer(care.eval_app, name="eval")
app.command()(care.review)
app.command()(care.report)
app.add_typer(care.care_app, name="care")
app.add_typer(care.log_app, name="log")
app.command()(care.postmortem)
app.add_typer(care.knowledge_app, name="knowledge")

_EXIT_BY_KIND = {
    "invalid": INVALID,
    "not_found": INVALID,
    "forbidden": INVALID,
    "unauthenticated": INVALID,
    "conflict": ATTENTION,
}


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code; errors become messages, never tracebacks."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="wk", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        return INVALID
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(str(exc), markup=False)
        return int(getattr(exc, "exit_code", INVALID))
    except ManifestError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        err.print(f"{len(exc.problems)} problem(s); nothing was changed.", markup=False)
        return INVALID
    except ActionError as exc:
        err.print(f"error: {exc.message}", markup=False)
        return _EXIT_BY_KIND[exc.kind]
    except (StoreError, ServerError) as exc:
        err.print(f"error: {exc}", markup=False)
        return ATTENTION
    return result if isinstance(result, int) else OK


def main() -> None:
    sys.exit(run())
