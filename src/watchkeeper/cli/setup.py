"""Getting started: init, schema, db upgrade, demo."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from watchkeeper.cli._common import INVALID, OK, err, out
from watchkeeper.cli._templates import Answers, people_template, system_template
from watchkeeper.settings import Settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def schema() -> int:
    """Print the JSON Schema of both manifest kinds (for editor completion)."""
    from watchkeeper.manifest import json_schema

    out.print(jsonlib.dumps(json_schema(), indent=2), markup=False, soft_wrap=True)
    return OK


@db_app.command("upgrade")
def db_upgrade() -> int:
    """Apply pending schema migrations (also done automatically on first use)."""
    from watchkeeper.store import Store, current_revision, head_revision, upgrade

    settings = Settings.from_env()
    store = Store.open(settings.db, migrate=False)
    try:
        before = current_revision(store.engine)
        upgrade(store.engine)
        out.print(f"schema at {head_revision()} (was {before or 'empty'})")
    finally:
        store.close()
    return OK


def _ask(value: str | None, question: str, flag: str, no_input: bool, default: str = "") -> str:
    if value:
        return value
    if no_input:
        raise typer.BadParameter(f"missing (needed with --no-input): {question}", param_hint=flag)
    return str(typer.prompt(question, default=default or None))


def init(
    name: Annotated[str | None, typer.Option(help="System name (lowercase-slug).")] = None,
    title: Annotated[str | None, typer.Option(help="Human title.")] = None,
    tier: Annotated[str | None, typer.Option(help="low | medium | high | critical")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner's email.")] = None,
    quality_monitor: Annotated[str | None, typer.Option(help="Quality monitor's email.")] = None,
    retraining_decider: Annotated[
        str | None, typer.Option(help="Retraining decider's email.")
    ] = None,
    data_liaison: Annotated[str | None, typer.Option(help="Data liaison's email.")] = None,
    kill_authority: Annotated[
        list[str] | None, typer.Option(help="A kill authority's email (repeatable).")
    ] = None,
    fail_mode: Annotated[str | None, typer.Option(help="open | closed")] = None,
    fallback: Annotated[str | None, typer.Option(help="What serving does when disabled.")] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write.")] = Path(
        "watchkeeper.yaml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    no_input: Annotated[bool, typer.Option(help="Never prompt; every answer by flag.")] = False,
) -> int:
    """Answer the four questions and write a manifest (and a people.yaml beside it)."""
    from watchkeeper.manifest import load_text

    if out_path.exists() and not force:
        err.print(f"{out_path} exists; use --force to overwrite", markup=False)
        return INVALID
    owner_v = _ask(owner, "Owner of the system (email)", "--owner", no_input)
    answers = Answers(
        name=_ask(name, "System name (lowercase-slug)", "--name", no_input),
        title=title or "",
        tier=_ask(tier, "Tier (low/medium/high/critical)", "--tier", no_input, "medium"),
        owner=owner_v,
        quality_monitor=_ask(
            quality_monitor,
            "1. Who monitors output quality after launch? (email)",
            "--quality-monitor",
            no_input,
            owner_v,
        ),
        retraining_decider=_ask(
            retraining_decider,
            "2. Who decides when the model is retrained or replaced? (email)",
            "--retraining-decider",
            no_input,
        ),
        data_liaison=_ask(
            data_liaison,
            "3. Who owns the relationship with the upstream data team? (email)",
            "--data-liaison",
            no_input,
        ),
        kill_authority=kill_authority
        or [
            e.strip()
            for e in _ask(
                None,
                "4. Who may take the system offline? (emails, comma-separated)",
                "--kill-authority",
                no_input,
                owner_v,
            ).split(",")
            if e.strip()
        ],
        fail_mode=_ask(
            fail_mode,
            "If Watchkeeper is unreachable: fail open or closed?",
            "--fail-mode",
            no_input,
            "open",
        ),
        fallback=_ask(
            fallback,
            "What should serving do while disabled?",
            "--fallback",
            no_input,
            "Route requests to the manual process",
        ),
    )
    text = system_template(answers)
    load_text(text, str(out_path), known_people=answers.people())
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    out.print(f"wrote {out_path}")
    people_path = out_path.parent / "people.yaml"
    if not people_path.exists():
        people_path.write_text(people_template(answers.people()), encoding="utf-8")
        out.print(f"wrote {people_path}")
    out.print(f"next: `wk gate {out_path} {people_path}` shows what is still missing")
    return OK


def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Workspace folder (default: a fresh temporary one).")
    ] = None,
) -> int:
    """Walk through three example systems: ready, unanswered, and owner gone."""
    from watchkeeper.cli.demo import run

    return run(workdir, out)
