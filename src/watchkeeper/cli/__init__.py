"""The `wk` / `watchkeeper` command: thin — parse, call the core, print, map errors to exit codes.

Exit codes: 0 ok; 1 a check failed / not ready / something needs attention; 2 invalid input or
usage. Domain errors are translated here, in one place, and never shown as a traceback.

Start-up pays only for what a command uses. Every command module is imported here, so Typer
sees each signature and docstring (`wk --help` lists them all, complete), but a command module
imports at its top only Typer, rich and what its options and help text need. What a command
does — the application and its store, the server, manifests, numpy, pyarrow, httpx — it imports
inside its own function, or reaches through `_common.application()` / `operations()` /
`charter_reader()`, which do. So `wk --help`, `wk init`, `wk schema` and `wk drift` load no
database or server code, `wk gate` opens the store but builds no other service, and `wk kill`
through a server loads only httpx on top. tests/cli/test_startup.py keeps it so;
benchmarks/cli_startup.py measures it.
"""

from __future__ import annotations

import sys

import typer

from watchkeeper.cli import care, charter, incidents, monitor, server, setup, triage
from watchkeeper.cli._common import ATTENTION, INVALID, OK, err
from watchkeeper.errors import ActionError

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
    except ActionError as exc:
        err.print(f"error: {exc.message}", markup=False)
        return _EXIT_BY_KIND[exc.kind]
    except Exception as exc:
        code = _reported(exc)
        if code is None:
            raise
        return code
    return result if isinstance(result, int) else OK


def _reported(exc: Exception) -> int | None:
    """The exit code of an error from a layer the command loaded, after saying what went wrong;
    None for any other (a bug, whose traceback is shown). An error type is looked up only in a
    module already loaded: it cannot have been raised otherwise, and importing its layer here
    would cost every command the start-up it saved."""

    def raised(module: str, name: str) -> bool:
        loaded = sys.modules.get(module)
        return loaded is not None and isinstance(exc, getattr(loaded, name))

    if raised("watchkeeper.manifest", "ManifestError"):
        problems = exc.problems  # type: ignore[attr-defined]
        for problem in problems:
            err.print(str(problem), markup=False)
        err.print(f"{len(problems)} problem(s); nothing was changed.", markup=False)
        return INVALID
    if raised("watchkeeper.store", "StoreError") or raised(
        "watchkeeper.cli._client", "ServerError"
    ):
        err.print(f"error: {exc}", markup=False)
        return ATTENTION
    return None


def main() -> None:
    sys.exit(run())
