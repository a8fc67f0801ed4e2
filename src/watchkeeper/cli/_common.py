"""What every command shares: building the app, the acting person, printing, exit codes.

Nothing heavy is imported at module level here or in any command module: the application (and
with it the store, the server's services, numpy…) loads inside `application()` / `operations()`
/ `existing_store()`, when a command runs that needs it. See the package docstring.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from watchkeeper.clock import FixedClock, SystemClock, parse_instant
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    from watchkeeper.app import Operations, Watchkeeper
    from watchkeeper.cli._client import Remote
    from watchkeeper.store import Store

OK, ATTENTION, INVALID = 0, 1, 2

out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NowOpt = Annotated[
    str | None,
    typer.Option("--now", help="Evaluate as of this ISO 8601 instant instead of the clock."),
]


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 instant (e.g. 2026-05-01T09:00Z)", param_hint="--now"
        ) from None


@contextmanager
def application(now: str | None = None) -> Iterator[Watchkeeper]:
    """The app for one command; `--now` pins its clock so results are reproducible."""
    from watchkeeper.app import build

    instant = parse_now(now)
    clock = FixedClock(instant) if instant else SystemClock()
    app = build(Settings.from_env(), clock=clock)
    try:
        yield app
    finally:
        app.close()


@contextmanager
def existing_store(url: str) -> Iterator[Store | None]:
    """The store at `url` for a command that only reads it (`gate`), or None when there is none
    (see `Store.open_existing`), closed when the command is done."""
    from watchkeeper.store import Store

    store = Store.open_existing(url)
    if store is None:
        yield None
        return
    try:
        yield store
    finally:
        store.close()


@contextmanager
def operations(now: str | None = None) -> Iterator[Operations | Remote]:
    """The acting person's operations: through the server when WATCHKEEPER_URL is set (as the
    token's owner), else on the database as WATCHKEEPER_USER, with the clock read once."""
    settings = Settings.from_env()
    if settings.url:
        if now is not None:
            raise typer.BadParameter(
                "works only on a local database; the server keeps its own time "
                "(unset WATCHKEEPER_URL to replay with --now)",
                param_hint="--now",
            )
        from watchkeeper.cli._client import Remote

        remote = Remote(settings.url, settings.token)
        try:
            yield remote
        finally:
            remote.close()
        return
    from watchkeeper.app import Operations

    with application(now) as app:
        yield Operations(app, settings.actor(), app.clock.now(), enforce=False)


JustificationOpt = Annotated[
    str | None,
    typer.Option(
        help="Why the system changes while a serious incident's evidence hold is on (EU AI Act "
        "Art. 73(6)): required then, and recorded on the incident."
    ),
]


@contextmanager
def held_back() -> Iterator[None]:
    """A change a serious incident's evidence hold refused (a conflict, 409 over the API)
    lacks its --justification: a usage error here, exit 2, with the hold's message."""
    from watchkeeper.errors import ActionError

    try:
        yield
    except ActionError as exc:
        if exc.kind != "conflict":
            raise
        raise typer.BadParameter(exc.message, param_hint="--justification") from None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def answer(data: Any, json: bool, line: str) -> int:
    """The usual ending of a command that changed one thing: its record as JSON, or one line
    (printed literally: names and notes are the user's text, not markup)."""
    if json:
        print_json(data)
    else:
        out.print(line, markup=False)
    return OK


def mark(passed: bool) -> str:
    """Status in words and symbol, never colour alone."""
    return "[green]✔ pass[/]" if passed else "[red]✘ FAIL[/]"
