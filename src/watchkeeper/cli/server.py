"""Commands of the server and the kill switch: serve, token create, kill, restore, audit verify."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from watchkeeper.app import build
from watchkeeper.cli._common import ATTENTION, OK, JsonOpt, answer, err, operations, out, print_json
from watchkeeper.settings import Settings

token_app = typer.Typer(help="API tokens: issue one for a person.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)

Reason = Annotated[
    str, typer.Option("--reason", help="Why (required): kept in the audit trail, shown to SDKs.")
]
SystemArg = Annotated[str, typer.Argument(help="System name.")]


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    tick_every: Annotated[
        float, typer.Option(help="Seconds between scheduler ticks; 0 turns them off.", min=0)
    ] = 60.0,
) -> int:
    """Run the HTTP API (JSON under /api/v1, OpenAPI at /openapi.json), the dashboard at /,
    and the scheduler's tick, over WATCHKEEPER_DB.

    Stops gracefully on SIGINT/SIGTERM: parked kill-switch long-polls are answered at once,
    in-flight requests finish, then the process exits. Run several against one PostgreSQL
    database for redundancy; a flip made on one reaches the SDKs on all of them.
    """
    from watchkeeper.server import serve as run_server

    app = build(Settings.from_env())
    try:
        err.print(f"Watchkeeper: serving the {app.store.dialect} store on http://{host}:{port}")
        run_server(app, host, port, tick_every)
    finally:
        app.close()
    return OK


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="The person the token acts as.")],
    json: JsonOpt = False,
) -> int:
    """Issue an API token for a person (admins; anyone with local database access). Shown
    once: only its digest is stored. Use it as WATCHKEEPER_TOKEN or the SDK's token=."""
    with operations() as ops:
        issued = ops.create_token(email)
    if json:
        print_json(issued)
    else:
        out.print(issued["token"], markup=False)
        err.print(
            f"token {issued['prefix']}… for {issued['person']}: copy it now, it is not shown "
            "again (use it as WATCHKEEPER_TOKEN or the SDK's token=)",
            markup=False,
        )
    return OK


def kill(system: SystemArg, reason: Reason, json: JsonOpt = False) -> int:
    """Disable a system now (its kill authorities only): every SDK follows within a second."""
    return _flip(system, "disabled", reason, json)


def restore(system: SystemArg, reason: Reason, json: JsonOpt = False) -> int:
    """Enable a disabled system again (its kill authorities only)."""
    return _flip(system, "enabled", reason, json)


def _flip(system: str, state: str, reason: str, json: bool) -> int:
    with operations() as ops:
        result = ops.set_switch(system, state, reason)
    return answer(result, json, _describe(result))


def _describe(result: dict[str, Any]) -> str:
    state = "DISABLED" if result["state"] == "disabled" else "enabled"
    said = f"{result['system']}: {state} (version {result['version']})"
    by = f"by {result['changed_by']} at {result['changed_at']}: {result['reason']}"
    if not result["changed"]:
        return f"{said}, unchanged: already so since {by}"
    shown = result["fallback"] and result["state"] == "disabled"
    fallback = f"\n  serving falls back to: {result['fallback']}" if shown else ""
    return f"{said} {by}{fallback}"


@audit_app.command("verify")
def audit_verify(json: JsonOpt = False) -> int:
    """Walk the hash chain; names the first broken link (exit 1), or confirms it holds."""
    with operations() as ops:
        result = ops.verify_audit()
    if json:
        print_json(result)
    elif result["ok"]:
        out.print(f"audit trail intact: {result['checked']} entries, every link holds")
    else:
        out.print(
            f"audit trail BROKEN at entry {result['broken_at']}: {result['reason']} "
            f"({result['checked']} entries before it hold)",
            markup=False,
        )
    return OK if result["ok"] else ATTENTION
