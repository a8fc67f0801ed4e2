"""`wk evidence`: export a system's evidence bundle for a period, or verify one offline.

The bundle is made where the records are (the server, or the local database) and comes back as
JSON; the HTML and the zip are rendered here from that JSON, so a bundle exported through a
server and one exported locally are the same document.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from watchkeeper.cli._common import (
    ATTENTION,
    INVALID,
    OK,
    NowOpt,
    err,
    operations,
    out,
    print_json,
)
from watchkeeper.clock import parse_instant

if TYPE_CHECKING:
    from watchkeeper.app import Operations
    from watchkeeper.cli._client import Remote

FORMATS = ("html", "json", "zip")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

TargetArg = Annotated[
    str,
    typer.Argument(
        help="The system to export; or `verify` to check the bundle FILE names.",
        show_default=False,
    ),
]
FileArg = Annotated[
    str | None,
    typer.Argument(help="With `verify`: the bundle (.json or .zip).", show_default=False),
]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="First day (YYYY-MM-DD) or instant of the period.")
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last day (included) or instant (excluded).")
]
FormatOpt = Annotated[
    str, typer.Option("--format", help="html, json or zip (both, and every record).")
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Where to write it (default evidence-SYSTEM-FROM-TO.EXT; - for stdout).",
    ),
]
HereOpt = Annotated[
    bool,
    typer.Option(
        "--here", help="With verify: also check the bundle came from this deployment's chain."
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="With verify: print the result as JSON.")]


def evidence(
    target: TargetArg,
    file: FileArg = None,
    start: FromOpt = None,
    end: ToOpt = None,
    format: FormatOpt = "html",
    output: OutputOpt = None,
    here: HereOpt = False,
    as_json: JsonOut = False,
    now: NowOpt = None,
) -> int:
    """Evidence for auditors (EU AI Act, NIST AI RMF): `wk evidence SYSTEM --from D --to D`
    writes one self-contained bundle of what happened — manifest versions, acknowledgements,
    the runbook as post-market monitoring plan, findings, incidents, switch flips and drills,
    reviews, care, triage, evals, rehearsals — each stamped with its audit entry, and a table
    from each obligation to its records. `wk evidence verify FILE` re-checks every hash and the
    chain offline and names the first record altered (exit 1); `--here` also checks it came
    from this deployment."""
    if target == "verify":
        if file is None:
            raise typer.BadParameter("name the bundle to verify", param_hint="FILE")
        return _verify(Path(file), here, as_json)
    if file is not None:
        raise typer.BadParameter(f"unexpected {file!r}: only `verify` takes a FILE")
    if format not in FORMATS:
        raise typer.BadParameter("html, json or zip", param_hint="--format")
    if start is None or end is None:
        raise typer.BadParameter("give the period: --from DATE --to DATE", param_hint="--from")
    first, last = _day(start, "--from", start_of=True), _day(end, "--to", start_of=False)
    with operations(now) as ops:
        bundle = ops.evidence(target, first, last)
    path = (
        output or f"evidence-{target}-{first:%Y%m%d}-{last - timedelta(seconds=1):%Y%m%d}.{format}"
    )
    _write(bundle, format, path)
    return OK


def _day(text: str, option: str, *, start_of: bool) -> datetime:
    """A date is a whole day: --to 2026-03-31 includes the 31st."""
    try:
        instant = parse_instant(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant", param_hint=option
        ) from None
    whole_day = _DATE.fullmatch(text.strip()) is not None
    return instant + timedelta(days=1) if whole_day and not start_of else instant


def _write(bundle: dict[str, Any], format: str, path: str) -> None:
    from watchkeeper.evidence import render, to_zip

    if format == "json":
        body = (json.dumps(bundle, indent=1, ensure_ascii=False) + "\n").encode()
    elif format == "html":
        body = render(bundle).encode()
    else:
        body = to_zip(bundle, render(bundle))
    if path == "-":
        if format == "zip":
            raise typer.BadParameter("a zip is not written to the terminal", param_hint="--output")
        os.write(1, body)
        return
    Path(path).write_bytes(body)
    counts = len(bundle["records"])
    gaps = [r["ref"] for r in bundle["mapping"] if r["status"] != "evidenced"]
    err.print(
        f"wrote {path}: {counts} records, chain head {bundle['chain']['head']['seq']}"
        + (f"; no evidence or a gap for {', '.join(gaps)}" if gaps else ""),
        markup=False,
    )


def _verify(path: Path, here: bool, as_json: bool) -> int:
    from watchkeeper.audit import chain_key
    from watchkeeper.evidence import read, verify
    from watchkeeper.settings import Settings

    try:
        data = path.read_bytes()
    except OSError as e:
        raise typer.BadParameter(f"cannot read {path}: {e.strerror}", param_hint="FILE") from None
    bundle, problems = read(data, str(path))
    secret = Settings.from_env().secret
    result = verify(bundle, chain_key(secret) if secret else None, problems)
    if here and result["ok"]:
        with operations() as ops:
            result["here"] = _origin(ops, bundle)
        if result["here"]["problem"]:
            result["ok"], result["reason"] = False, result["here"]["problem"]
    if as_json:
        print_json(result)
    else:
        _print(path, result)
    if here and result.get("here", {}).get("foreign"):
        return INVALID
    return OK if result["ok"] else ATTENTION


def _origin(ops: Operations | Remote, bundle: dict[str, Any]) -> dict[str, Any]:
    head = bundle["chain"]["head"]
    mine = ops.evidence_origin(head["seq"])
    problem = None
    foreign = mine["deployment"] != bundle["deployment"]
    if foreign:
        problem = (
            f"this bundle was exported by another deployment ({str(bundle['deployment'])[:16]}…), "
            f"not this one ({str(mine['deployment'])[:16]}…)"
        )
    elif mine["hash"] != head["hash"]:
        foreign = True
        problem = (
            f"this deployment's audit entry {head['seq']} is not the bundle's chain head: the "
            "bundle was exported by another deployment (or this log was rewritten since: "
            "`wk audit verify` tells which)"
        )
    return {"deployment": mine["deployment"], "foreign": foreign, "problem": problem}


def _print(path: Path, result: dict[str, Any]) -> None:
    checked = result["checked"]
    what = f"{checked['records']} records, {checked['entries']} audit entries"
    if result["ok"]:
        out.print(
            f"{path}: intact — {what} checked; chain head {result['head']['seq']}", markup=False
        )
        if result.get("note"):
            out.print(f"note: {result['note']}", markup=False)
        if result.get("here"):
            out.print(
                "exported by this deployment; its chain holds the bundle's head", markup=False
            )
        return
    out.print(f"{path}: ALTERED — {result['reason']}", markup=False, soft_wrap=True)
