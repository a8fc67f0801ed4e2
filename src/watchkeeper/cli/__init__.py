"""The `wk` / `watchkeeper` command: thin — parse, call the core, print, map errors to exit codes.

Exit codes: 0 ok; 1 a check failed / not ready / something needs attention; 2 invalid input or
usage. Domain errors are translated here, in one place, and never shown as a traceback.

Start-up pays only for what a command uses. Every command module is imported here, so Typer
sees each signature and docstring (`wk --help` lists them all, complete), but a command module
imports at its top only Typer, rich and what its options and help text need. What a command
does — the application and its store, the server, manifests, numpy, pyarrow, httpx — it imports
inside its own function, or reaches through `_common.application()` / `operations()` /
`existing_store()`, which do; and the application builds a service only when it is first used.
So `wk --help`, `wk init`, `wk schema`, `wk gate --offline` and `wk drift` load no database or
server code, `wk gate` opens the store (if there is one) and builds no application (through a
server it loads httpx instead), `wk vacuum` and `wk status` build the charter alone, `wk kill`
the switch and access (and, once it has answered, the courier that tells the owners), and
`wk kill` through a server loads only httpx on top. On the store, each maps only the tables it
reads: the core's, and for `wk vacuum` the evidence of ingest, alerting and care.
tests/cli/test_startup.py keeps it so; benchmarks/cli_startup.py measures it.
"""

import copy
import sys

import typer

from watchkeeper import errors
from watchkeeper.cli import (
    _common,
    care,
    charter,
    evidence,
    export,
    incidents,
    monitor,
    rehearse,
    server,
    setup,
    triage,
)

__all__ = ["app", "main", "run"]

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
app.command()(evidence.evidence)
app.add_typer(setup.db_app, name="db")
app.add_typer(charter.people_app, name="people")
app.add_typer(export.export_app, name="export")
app.add_typer(server.token_app, name="token")
app.command()(server.kill)
app.command()(server.restore)
app.command()(server.drill)
app.command()(rehearse.rehearse)
app.add_typer(server.audit_app, name="audit")
app.command()(server.serve)
app.command()(monitor.ingest)
app.command()(monitor.profile)
app.command()(monitor.observations)
app.command("dead-letter")(monitor.dead_letter)
app.command()(monitor.tick)
app.command()(monitor.check)
app.command()(monitor.drift)
app.command()(monitor.findings)
app.command()(monitor.signals)
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
    "invalid": _common.INVALID,
    "not_found": _common.INVALID,
    "forbidden": _common.INVALID,
    "unauthenticated": _common.INVALID,
    "conflict": _common.ATTENTION,
}


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code; errors become messages, never tracebacks."""
    command = typer.main.get_command(_narrowed(sys.argv[1:] if argv is None else argv))
    try:
        result = command.main(args=argv, prog_name="wk", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _common.err.print("aborted")
        return _common.INVALID
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _common.err.print(str(exc), markup=False)
        return int(getattr(exc, "exit_code", _common.INVALID))
    except errors.ActionError as exc:
        _common.err.print(f"error: {exc.message}", markup=False)
        return _EXIT_BY_KIND[exc.kind]
    except Exception as exc:
        code = _reported(exc)
        if code is None:
            raise
        return code
    return result if isinstance(result, int) else _common.OK


def _narrowed(argv: list[str]) -> typer.Typer:
    """`app` holding only the command `argv` names, when it names one. Typer makes a Click
    command of every function it holds, reading each signature and help text, before it parses
    anything: one command need not pay for forty. `wk`, `wk --help` and a name that is no
    command get the whole app, so help lists everything and a typo hears the nearest names."""
    name = argv[0] if argv else ""
    commands = [c for c in app.registered_commands if _name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    # A group still, though of one command: `wk NAME ...`, not `wk ...`.
    only.registered_callback = typer.models.TyperInfo()
    return only


def _name(command: typer.models.CommandInfo) -> str:
    assert command.callback is not None
    return command.name or typer.main.get_command_name(command.callback.__name__)


def _reported(exc: Exception) -> int | None:
    """The exit code of an error from a layer the command loaded, after saying what went wrong;
    None for any other (a bug, whose traceback is shown). An error type is looked up only when
    a class of its name is among the exception's own: importing its layer to ask would cost
    every command the start-up it saved (and a package that exports lazily, as the store does,
    would import it on the lookup)."""

    def raised(module: str, name: str) -> bool:
        loaded = sys.modules.get(module)
        return loaded is not None and any(
            kind.__name__ == name and kind is getattr(loaded, name) for kind in type(exc).__mro__
        )

    if raised("watchkeeper.manifest", "ManifestError"):
        problems = exc.problems  # type: ignore[attr-defined]
        for problem in problems:
            _common.err.print(str(problem), markup=False)
        _common.err.print(f"{len(problems)} problem(s); nothing was changed.", markup=False)
        return _common.INVALID
    if raised("watchkeeper.store", "StoreError") or raised(
        "watchkeeper.cli._client", "ServerError"
    ):
        _common.err.print(f"error: {exc}", markup=False)
        return _common.ATTENTION
    return None


def main() -> None:
    sys.exit(run())
