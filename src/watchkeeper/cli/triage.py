"""`wk triage SYSTEM`: work the edge-case queue one item at a time, from the keyboard.

Plain terminal I/O (one key per verdict, line prompts for the rest), so it works over SSH and in
any terminal; `--json` lists the queue for scripts.
"""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Any

import typer

from watchkeeper.cli._common import OK, JsonOpt, NowOpt, operations, out, print_json

KEYS = {"o": "ok", "w": "wrong", "h": "harmful", "u": "unclear"}


def _show(item: dict[str, Any], position: int, total: int) -> None:
    from rich.panel import Panel

    observation = item["observation"] or {}
    lines = [
        f"[bold]why:[/] {item['reason']} (rule {item['rule']}, priority {item['priority']})",
        f"[bold]age:[/] {item['age_days']} days in the queue; "
        f"assigned to {item['assignee'] or '-'}",
        "",
        "[bold]inputs:[/]",
        jsonlib.dumps(observation.get("inputs"), indent=2, ensure_ascii=False)[:1500],
        "[bold]output:[/]",
        jsonlib.dumps(observation.get("output"), indent=2, ensure_ascii=False)[:1500],
    ]
    if observation.get("feedback"):
        lines += ["[bold]feedback:[/]", jsonlib.dumps(observation["feedback"])]
    title = f"item {position} of {total} · #{item['id']} · observation {item['observation_id']}"
    out.print(Panel("\n".join(lines), title=title, title_align="left"))
    keys = "  ".join(
        f"[bold]\\[{k}][/]{rest}"
        for k, rest in (
            ("o", "k"),
            ("w", "rong"),
            ("h", "armful"),
            ("u", "nclear"),
            ("s", "kip"),
            ("q", "uit"),
        )
    )
    out.print(keys)


def _ask(question: str) -> str | None:
    answer = str(typer.prompt(question, default="", show_default=False)).strip()
    return answer or None


def triage(
    system: Annotated[str, typer.Argument(help="System name.")],
    all_items: Annotated[
        bool, typer.Option("--all", help="Include reviewed items (listing).")
    ] = False,
    json: JsonOpt = False,
    now: NowOpt = None,
) -> int:
    """Review queued outputs: ok, wrong (with the right label), harmful (tells every kill
    authority at once) or unclear; tags link to failure modes."""
    with operations(now) as ops:
        items = ops.triage_queue(system, None if all_items else "open")
        if json:
            print_json(items)
            return OK
        if not items:
            out.print(f"The triage queue of {system} is empty.")
            return OK
        done = 0
        for position, item in enumerate(items, 1):
            _show(item, position, len(items))
            key = ""
            while key not in (*KEYS, "s", "q"):
                key = typer.getchar().lower()
            if key == "q":
                break
            if key == "s":
                continue
            verdict = KEYS[key]
            out.print(f"verdict: [bold]{verdict}[/]")
            label = _ask("corrected label (enter to skip)") if verdict == "wrong" else None
            tags = _ask("tags, comma-separated (enter to skip)")
            note = _ask("note (enter to skip)")
            if verdict == "harmful" and not typer.confirm(
                "This tells every kill authority of the system now. Record it?", default=True
            ):
                continue
            saved = ops.triage_verdict(
                item["id"],
                verdict,
                label,
                [t.strip() for t in (tags or "").split(",") if t.strip()],
                note,
            )
            done += 1
            out.print(f"recorded #{saved['id']}: {saved['verdict']}\n")
        out.print(f"{done} verdict(s) recorded; {len(items) - done} left in the queue.")
    return OK
