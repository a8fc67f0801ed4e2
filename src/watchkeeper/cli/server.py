"""Commands of the server and the kill switch: serve, tokens, kill, restore, drill, audit verify."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from watchkeeper.cli._common import (
    ATTENTION,
    OK,
    JsonOpt,
    JustificationOpt,
    answer,
    err,
    held_back,
    operations,
    out,
    print_json,
)
from watchkeeper.settings import Settings

token_app = typer.Typer(help="API tokens: issue, list and revoke.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)

Reason = Annotated[
    str, typer.Option("--reason", help="Why (required): kept in the audit trail, shown to SDKs.")
]
SystemArg = Annotated[str, typer.Argument(help="System name.")]
Wait = Annotated[
    float,
    typer.Option(
        "--wait",
        help="Seconds to wait for the live SDK processes to confirm the flip (0: do not wait).",
        min=0,
        max=30,
    ),
]


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

    Refuses to start (exit 2) when notifications would carry acknowledge links — a public URL
    is set — but WATCHKEEPER_SECRET is not; or when single sign-on is set up without the
    secret or the public URL it needs.
    """
    from watchkeeper.app import build
    from watchkeeper.errors import ActionError
    from watchkeeper.server import serve as run_server
    from watchkeeper.server.dashboard import sso_refusal

    app = build(Settings.from_env())
    try:
        app.courier.require_secret()
        refusal = sso_refusal(app.settings)
        if refusal:
            raise ActionError("invalid", refusal)
        err.print(f"Watchkeeper: serving the {app.store.dialect} store on http://{host}:{port}")
        run_server(app, host, port, tick_every)
    finally:
        app.close()
    return OK


def _lifetime(value: str | None) -> str | None:
    if value is not None:
        from watchkeeper.access import token_lifetime

        try:
            token_lifetime(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--expires") from None
    return value


def _name(value: str | None) -> str | None:
    if value is not None:
        from watchkeeper.access import token_name

        try:
            token_name(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--name") from None
    return value


Service = Annotated[
    str | None,
    typer.Option(
        "--service",
        metavar="SYSTEM",
        help="A service token for this system: it writes the system's observations, feedback "
        "and flags and reads its kill switch, nothing else (for serving code, the SDK and "
        "OpenTelemetry exporters).",
    ),
]


@token_app.command("create")
def token_create(
    email: Annotated[
        str | None, typer.Argument(help="The person the token acts as (or --service).")
    ] = None,
    service: Service = None,
    scim: Annotated[
        bool,
        typer.Option(
            "--scim",
            help="A SCIM token for an identity provider (Okta, Entra ID) to provision people "
            "and teams at /scim/v2, and nothing else (admins).",
        ),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            metavar="LABEL",
            help="A service or SCIM token's name in the audit trail, service:SYSTEM/LABEL or "
            "scim:LABEL (default: its prefix).",
            callback=_name,
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            help="Lifetime, e.g. 90d or 12h (default: until revoked).", callback=_lifetime
        ),
    ] = None,
    json: JsonOpt = False,
) -> int:
    """Issue an API token: a person's (admins), with --service SYSTEM a service token (the
    system's owner, and admins; anyone with local database access), or with --scim an identity
    provider's SCIM token. Shown once: only its digest is stored. Use it as WATCHKEEPER_TOKEN or
    the SDK's token=, or (--scim) as the bearer token in the identity provider's SCIM app."""
    if [email is not None, service is not None, scim].count(True) != 1:
        raise typer.BadParameter(
            "give a person's EMAIL or --service SYSTEM, one of the two (or --scim alone)"
        )
    if name is not None and email is not None:
        raise typer.BadParameter("--name labels a service token (or a SCIM token), not a person's")
    with operations() as ops:
        if scim:
            issued = ops.create_scim_token(expires, name)
        elif service is not None:
            issued = ops.create_service_token(service, expires, name)
        else:
            assert email is not None
            issued = ops.create_token(email, expires)
    if json:
        print_json(issued)
    else:
        out.print(issued["token"], markup=False)
        until = f", valid until {issued['expires_at']}" if issued["expires_at"] else ""
        err.print(
            f"token {issued['prefix']}… for {issued['actor']}{until}: copy it now, it is not "
            "shown again (use it as WATCHKEEPER_TOKEN or the SDK's token=)",
            markup=False,
        )
    return OK


@token_app.command("list")
def token_list(
    email: Annotated[
        str | None, typer.Argument(help="One person's tokens (default: all you may see).")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", metavar="SYSTEM", help="Only this system's service tokens."),
    ] = None,
    json: JsonOpt = False,
) -> int:
    """API tokens without their secrets: id, kind, prefix, whom or what it serves, issued,
    expiry, last use (to the minute), revocation. Admins see everyone's; others their own, and
    with --service a system's service tokens (its owner)."""
    with operations() as ops:
        tokens = ops.tokens(email, service)
    if json:
        print_json(tokens)
        return OK
    table = Table(header_style="bold", box=None, pad_edge=False)
    columns = ("id", "kind", "prefix", "person", "system", "name", "created", "expires")
    for column in (*columns, "last used", "status"):
        table.add_column(column)
    for t in tokens:
        table.add_row(
            str(t["id"]),
            t["kind"],
            t["prefix"],
            t["person"] or "",
            t["system"] or "",
            t["name"] or "",
            f"{t['created_at'][:16]} by {t['created_by']}",
            (t["expires_at"] or "never")[:16],
            (t["last_used_at"] or "never")[:16],
            t["status"] + (f" by {t['revoked_by']}" if t["revoked_by"] else ""),
        )
    out.print(table)
    return OK


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token's id or prefix (see `wk token list`).")],
    json: JsonOpt = False,
) -> int:
    """Revoke a token now: the next request with it is refused (admins; its person, or for a
    service token its system's owner)."""
    with operations() as ops:
        revoked = ops.revoke_token(token)
    line = f"token {revoked['prefix']}… of {revoked['actor']}: revoked"
    return answer(revoked, json, f"{line} by {revoked['revoked_by']} at {revoked['revoked_at']}")


def kill(system: SystemArg, reason: Reason, wait: Wait = 5.0, json: JsonOpt = False) -> int:
    """Disable a system now (its kill authorities only): every SDK follows within a second.
    Then waits up to --wait seconds for the SDK processes serving it to confirm, and says how
    many did, how fast, and which did not (host/pid/service)."""
    return _flip(system, "disabled", reason, wait, json)


def restore(
    system: SystemArg,
    reason: Reason,
    wait: Wait = 5.0,
    justification: JustificationOpt = None,
    json: JsonOpt = False,
) -> int:
    """Enable a disabled system again (its kill authorities only); confirmed as `kill` is."""
    return _flip(system, "enabled", reason, wait, json, justification)


def _flip(
    system: str, state: str, reason: str, wait: float, json: bool, justification: str | None = None
) -> int:
    with operations() as ops, held_back():
        result = ops.set_switch(system, state, reason, wait, justification)
        # answered before the application closes, which waits for the flip's notices
        return answer(result, json, _describe(result) + _confirmed(result["confirmations"]))


def _describe(result: dict[str, Any]) -> str:
    state = "DISABLED" if result["state"] == "disabled" else "enabled"
    said = f"{result['system']}: {state} (version {result['version']})"
    by = f"by {result['changed_by']} at {result['changed_at']}: {result['reason']}"
    if not result["changed"]:
        return f"{said}, unchanged: already so since {by}"
    shown = result["fallback"] and result["state"] == "disabled"
    fallback = f"\n  serving falls back to: {result['fallback']}" if shown else ""
    return f"{said} {by}{fallback}"


def _confirmed(confirmations: dict[str, Any] | None) -> str:
    """The confirmation line and every straggler, one line each."""
    if confirmations is None:
        return ""
    lines = [f"\n  {confirmations['summary']}", *_stragglers(confirmations["stragglers"])]
    return "\n".join(lines)


def _stragglers(stragglers: list[dict[str, Any]]) -> list[str]:
    """Each process that did not confirm, by host/pid/service, and what it last said."""
    lines = []
    for s in stragglers:
        holds = "no state" if s["version"] is None else f"version {s['version']}"
        status = "still polling" if s["live"] else "silent, likely gone"
        lines.append(
            f"  straggler {s['name']}: holds {holds}, last heard {s['last_seen']} ({status})"
        )
    return lines


def drill(
    system: SystemArg,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why (optional): kept in the audit trail and the record."),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="Seconds the live SDK processes have to confirm the drill.",
            min=1,
            max=30,
        ),
    ] = 30.0,
    json: JsonOpt = False,
) -> int:
    """Drill the kill switch (its kill authorities only): the switch version moves and its state
    does not, so every live SDK process confirms it as it would a kill, while serving exactly
    as before (nothing goes to the fallback). Waits up to --wait seconds, then says how many
    confirmed and how fast, names the stragglers (host/pid/service), and records the outcome
    (the vacuum report's `switch.drilled` check reads it). Exit 1 when the drill failed: a live
    process did not confirm, or none was live, so it proved nothing."""
    with operations() as ops:
        result = ops.drill(system, reason, wait)
    if json:
        print_json(result)
    else:
        out.print(_drilled(result), markup=False)
    return OK if result["passed"] else ATTENTION


def _drilled(result: dict[str, Any]) -> str:
    """ "drill of SYSTEM: confirmed by k of n live processes in t ms", the verdict, and every
    straggler."""
    verdict = "passed" if result["passed"] else "FAILED"
    lines = [
        f"drill of {result['system']}: {result['summary']}",
        f"  {verdict}: switch version {result['version']} by {result['started_by']}, state "
        f"{result['state']} throughout; reason: {result['reason']}",
        *_stragglers(result["stragglers"]),
    ]
    if result["live"] == 0:
        lines.append(
            "  start the serving code (or check that it reaches the server), then drill again"
        )
    return "\n".join(lines)


@audit_app.command("verify")
def audit_verify(json: JsonOpt = False) -> int:
    """Walk the hash chain; names the first broken link (exit 1), or confirms it holds."""
    with operations() as ops:
        result = ops.verify_audit()
    if json:
        print_json(result)
    else:
        out.print(_verdict(result), markup=False)
    return OK if result["ok"] else ATTENTION


def _verdict(result: dict[str, Any]) -> str:
    """Which of intact, altered, truncated or unkeyed, in words."""
    checked, state = result["checked"], result["state"]
    if state == "altered":
        where = f" at entry {result['broken_at']}" if result["broken_at"] else ""
        return f"audit trail ALTERED{where}: {result['reason']} ({checked} entries before it hold)"
    if state == "truncated":
        return f"audit trail TRUNCATED: {result['reason']}"
    if state == "unkeyed":
        return f"audit trail UNKEYED: {checked} entries link up; {result['reason']}"
    notes = ["keyed with WATCHKEEPER_SECRET"]
    if result["unkeyed_through"]:
        notes.append(
            f"unkeyed up to seq {result['unkeyed_through']} (written before the secret was "
            "set: integrity only)"
        )
    notes.append(
        f"newest checkpoint at entry {result['checkpoint']}"
        if result["checkpoint"]
        else result["reason"]
    )
    return f"audit trail intact: {checked} entries, every link holds; " + "; ".join(notes)
