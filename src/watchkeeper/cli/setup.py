"""Getting started: init, schema, db upgrade, demo."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from watchkeeper.cli._common import INVALID, OK, err, out
from watchkeeper.cli._templates import Answers, people_template, system_template
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    from pydantic import BaseModel

    from watchkeeper.manifest import SystemManifest

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


PEOPLE_FILE = Path("people") / "people.proposed.yaml"
QUESTIONS = {
    "quality_monitor": "1. Who monitors output quality after launch?",
    "retraining_decider": "2. Who decides when the model is retrained or replaced?",
    "data_liaison": "3. Who owns the relationship with the upstream data team?",
}


def _valid(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """The manifest's own models judge each answer, so init accepts exactly what a manifest
    would, and says why in the manifest's words. (Imported here: every `wk` command loads
    this module, and only init needs the models.)"""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        reason = str(exc.errors(include_url=False)[0]["msg"])
        raise ValueError(reason.removeprefix("Value error, ")) from None


def _system(metadata: dict[str, Any], spec: dict[str, Any] | None = None) -> SystemManifest:
    from watchkeeper.manifest import SystemManifest

    data = {"apiVersion": "watchkeeper/v1", "kind": "AISystem", "metadata": metadata}
    return _valid(SystemManifest, data | {"spec": spec or {}})


def check_name(text: str) -> str:
    return _system({"name": text.strip()}).name


def check_tier(text: str) -> str:
    return _system({"name": "x", "tier": text.strip()}).metadata.tier


def check_fail_mode(text: str) -> str:
    mode = _system({"name": "x"}, {"kill_switch": {"fail_mode": text.strip()}})
    return str(mode.spec.kill_switch.fail_mode)


def check_fallback(text: str) -> str:
    if not text.strip():
        raise ValueError("say in a sentence what serving does while the system is off")
    return text.strip()


def check_team(name: str, emails: list[str]) -> tuple[str, list[str]]:
    if not emails:
        raise ValueError(f"team {name!r} needs at least one member")
    from watchkeeper.manifest import Team

    team = _valid(Team, {"name": name, "members": emails})
    return team.name, list(team.members)


def parse_teams(flags: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """`--team NAME=EMAIL[,EMAIL...]`: the teams declared, and what was wrong with the rest."""
    teams: dict[str, list[str]] = {}
    problems: list[str] = []
    for flag in flags:
        name, sep, members = flag.partition("=")
        try:
            if not sep:
                raise ValueError("write it as NAME=EMAIL[,EMAIL...]")
            declared, emails = check_team(name.strip(), _split(members))
            teams[declared] = emails
        except ValueError as exc:
            problems.append(f"--team {flag}: {exc}")
    return teams, problems


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass
class _Asker:
    """Each answer from its flag or a prompt, checked as it is given. Interactively a bad
    answer is asked again with the reason; with --no-input every missing or bad flag is
    collected, so one message names them all."""

    no_input: bool
    people_file: Path
    teams: dict[str, list[str]]
    new_teams: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def answer(
        self,
        given: str | None,
        flag: str,
        question: str,
        check: Callable[[str], str],
        default: str = "",
    ) -> str:
        if given is not None:
            try:
                return check(given)
            except ValueError as exc:
                if self.no_input:
                    self.problems.append(f"{flag} {given}: {exc}")
                    return given
                err.print(f"{flag} {given}: {exc}", markup=False)
        elif self.no_input:
            if default:
                return default
            self.problems.append(f"{flag}: missing: {question}")
            return ""
        while True:
            reply = str(typer.prompt(question, default=default or None))
            try:
                return check(reply)
            except ValueError as exc:
                err.print(f"  {exc}", markup=False)

    def holder(self, text: str) -> str:
        """A person's email, or a team: declared already, by --team, or here with members."""
        from watchkeeper.manifest import Charter

        ref = _valid(Charter, {"owner": text}).owner
        if "@" in ref or ref in self.teams:
            return str(ref)
        if self.no_input:
            raise ValueError(
                f"{ref!r} is not an email address, and no team {ref!r} is declared in "
                f"{self.people_file}: give an email, or declare the team with "
                f"--team {ref}=EMAIL[,EMAIL...]"
            )
        while True:
            reply = typer.prompt(
                f"  {ref!r} is not an email address. To name a team {ref!r}, list its members "
                "(emails, comma-separated; empty to answer again)",
                default="",
                show_default=False,
            )
            if not _split(str(reply)):
                raise ValueError(f"{ref!r} is neither an email address nor a declared team")
            try:
                name, members = check_team(ref, _split(str(reply)))
            except ValueError as exc:
                err.print(f"  {exc}", markup=False)
                continue
            self.teams[name] = self.new_teams[name] = members
            return name

    def holders(self, text: str) -> str:
        named = [self.holder(part) for part in _split(text)]
        if not named:
            raise ValueError("name at least one person or team")
        return ", ".join(dict.fromkeys(named))


def _known(people_file: Path) -> tuple[set[str], dict[str, list[str]]]:
    """The people and teams a People file already there declares (an organisation's, or the
    one a previous init wrote); its problems are located in that real file."""
    from watchkeeper.manifest import load_paths

    if not people_file.exists():
        return set(), {}
    loaded = load_paths([people_file])
    return {p.email for p in loaded.people}, {t.name: list(t.members) for t in loaded.teams}


def init(
    name: Annotated[str | None, typer.Option(help="System name (lowercase-slug).")] = None,
    title: Annotated[str | None, typer.Option(help="Human title.")] = None,
    tier: Annotated[
        str | None, typer.Option(help="low | medium | high | critical (default: medium)")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Owner: an email or a team.")] = None,
    quality_monitor: Annotated[
        str | None, typer.Option(help="Quality monitor: an email or a team (default: owner).")
    ] = None,
    retraining_decider: Annotated[
        str | None, typer.Option(help="Retraining decider: an email or a team.")
    ] = None,
    data_liaison: Annotated[
        str | None, typer.Option(help="Data liaison: an email or a team.")
    ] = None,
    kill_authority: Annotated[
        list[str] | None,
        typer.Option(help="A kill authority: an email or a team (repeatable; default: owner)."),
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option(help="Declare a team the answers name: NAME=EMAIL[,EMAIL...] (repeatable)."),
    ] = None,
    fail_mode: Annotated[str | None, typer.Option(help="open | closed (default: open)")] = None,
    fallback: Annotated[str | None, typer.Option(help="What serving does when disabled.")] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write.")] = Path(
        "watchkeeper.yaml"
    ),
    people: Annotated[
        Path | None,
        typer.Option(
            help="A People file: read for the people and teams already declared, written "
            "if absent (default: people/people.proposed.yaml beside the manifest)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing manifest.")] = False,
    no_input: Annotated[
        bool, typer.Option(help="Never prompt: flags, else the prompts' defaults.")
    ] = False,
) -> int:
    """Answer the four questions and write a manifest, and the People file an admin applies."""
    if out_path.exists() and not force:
        err.print(f"{out_path} exists; use --force to overwrite", markup=False)
        return INVALID
    people_file = people or out_path.parent / PEOPLE_FILE
    declared_people, declared_teams = _known(people_file)
    flag_teams, problems = parse_teams(team or [])
    ask = _Asker(no_input, people_file, declared_teams | flag_teams, dict(flag_teams), problems)
    name_v = ask.answer(name, "--name", "System name (lowercase-slug)", check_name)
    tier_v = ask.answer(tier, "--tier", "Tier (low/medium/high/critical)", check_tier, "medium")
    owner_v = ask.answer(owner, "--owner", "Owner of the system (email or team)", ask.holder)
    roles = {
        role: ask.answer(
            given,
            "--" + role.replace("_", "-"),
            f"{QUESTIONS[role]} (email or team)",
            ask.holder,
            owner_v if role == "quality_monitor" else "",
        )
        for role, given in (
            ("quality_monitor", quality_monitor),
            ("retraining_decider", retraining_decider),
            ("data_liaison", data_liaison),
        )
    }
    authorities = ask.answer(
        ", ".join(kill_authority) if kill_authority else None,
        "--kill-authority",
        "4. Who may take the system offline? (emails or teams, comma-separated)",
        ask.holders,
        owner_v,
    )
    fail_mode_v = ask.answer(
        fail_mode,
        "--fail-mode",
        "If Watchkeeper is unreachable: fail open or closed?",
        check_fail_mode,
        "open",
    )
    fallback_v = ask.answer(
        fallback,
        "--fallback",
        "What should serving do while disabled?",
        check_fallback,
        "Route requests to the manual process",
    )
    if ask.problems:
        err.print("nothing written; fix these flags (or run without --no-input):", markup=False)
        for problem in ask.problems:
            err.print(f"  {problem}", markup=False)
        return INVALID
    answers = Answers(
        name=name_v,
        title=title or "",
        tier=tier_v,
        owner=owner_v,
        kill_authority=_split(authorities),
        fail_mode=fail_mode_v,
        fallback=fallback_v,
        teams=ask.new_teams,
        **roles,
    )
    return _write(answers, out_path, people_file, declared_people, declared_teams)


def _write(
    answers: Answers,
    out_path: Path,
    people_file: Path,
    declared_people: set[str],
    declared_teams: dict[str, list[str]],
) -> int:
    from watchkeeper.manifest import load_text

    text = system_template(answers)
    load_text(
        text,
        str(out_path),
        known_people={*declared_people, *answers.people()},
        known_teams={*declared_teams, *answers.teams},
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    out.print(f"wrote {out_path}")
    if people_file.exists():
        lacking = [p for p in answers.people() if p not in declared_people]
        lacking += [f"team {t}: {', '.join(m)}" for t, m in answers.teams.items()]
        if lacking:
            out.print(f"{people_file} is kept; add to it: {'; '.join(lacking)}", markup=False)
    else:
        people_file.parent.mkdir(parents=True, exist_ok=True)
        people_file.write_text(people_template(answers, out_path.name), encoding="utf-8")
        out.print(f"wrote {people_file}")
    steps = [
        (f"wk gate {out_path} {people_file}", "shows what is still missing before go-live"),
        (
            f"wk apply {people_file}",
            "an admin applies the people (or adds them to the organisation's People manifest)",
        ),
        (
            f"wk apply {out_path}",
            "the owner applies the system; a new system's first apply needs an admin\n"
            "      or a registrar named in WATCHKEEPER_REGISTRARS",
        ),
        (f"wk ack {answers.name} all", "each role holder acknowledges their roles"),
    ]
    out.print("next steps:", markup=False)
    for command, why in steps:
        out.print(f"  {command}\n      {why}", markup=False)
    return OK


def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Workspace folder (default: a fresh temporary one).")
    ] = None,
) -> int:
    """Walk through three example systems: ready, unanswered, and owner gone."""
    from watchkeeper.cli.demo import run

    return run(workdir, out)
