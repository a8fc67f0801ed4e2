"""From files to validated models, collecting every problem before giving up.

Three passes, each adding located problems: YAML syntax, per-document shape (pydantic), then
references across documents (people, teams, signals, playbooks, duplicate names).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from watchkeeper.manifest._errors import Location, ManifestError, Problem
from watchkeeper.manifest._loaded import Loaded
from watchkeeper.manifest._models import (
    EMAIL_RE,
    ROLES,
    PeopleManifest,
    SystemManifest,
)
from watchkeeper.manifest._yaml import SourceDoc, read_documents, size_problem, unstorable

KINDS: dict[str, type[BaseModel]] = {"AISystem": SystemManifest, "People": PeopleManifest}
MANIFEST_NAMES = ("watchkeeper.yaml", "watchkeeper.yml", "people.yaml", "people.yml")


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given; directories searched for watchkeeper/people manifests and `*.wk.yaml`."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and (p.name in MANIFEST_NAMES or p.name.endswith(".wk.yaml"))
                )
            )
        else:
            found.append(path)
    return found


def load_paths(
    paths: Iterable[Path | str],
    *,
    known_people: Iterable[str] = (),
    known_teams: Iterable[str] = (),
) -> Loaded:
    """Load and cross-check manifests; `known_*` are names already in the store."""
    problems: list[Problem] = []
    docs: list[SourceDoc] = []
    files = expand_paths(paths)
    if not files:
        raise ManifestError([Problem(Location("<arguments>", 0, 0), "no manifest files given")])
    for path in files:
        try:
            too_large = size_problem(str(path), path.stat().st_size)
            if too_large:
                problems.append(too_large)
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(Location(str(path), 0, 0), f"cannot read file: {exc}"))
            continue
        try:
            docs.extend(read_documents(text, str(path)))
        except ManifestError as exc:
            problems.extend(exc.problems)
    return _validate(docs, problems, set(known_people), set(known_teams))


def load_text(
    text: str,
    file: str = "<text>",
    *,
    known_people: Iterable[str] = (),
    known_teams: Iterable[str] = (),
) -> Loaded:
    """The same as load_paths for text already in memory (the API and tests use it)."""
    return _validate(read_documents(text, file), [], set(known_people), set(known_teams))


def _validate(
    docs: list[SourceDoc], problems: list[Problem], known_people: set[str], known_teams: set[str]
) -> Loaded:
    parsed: list[tuple[SourceDoc, BaseModel]] = []
    for doc in docs:
        problems.extend(unstorable(doc))
        model = _validate_doc(doc, problems)
        if model is not None:
            parsed.append((doc, model))
    _check_references(docs, problems, known_people, known_teams)
    if problems:
        raise ManifestError(problems)
    loaded = Loaded()
    for doc, model in parsed:
        if isinstance(model, SystemManifest):
            loaded.systems.append(model)
            loaded.origins[model.name] = doc.locate(["metadata", "name"])
            loaded.fields[model.name] = doc.keys(["spec"], depth=2)
        elif isinstance(model, PeopleManifest):
            loaded.people.extend(model.people)
            loaded.teams.extend(model.teams)
    return loaded


def _validate_doc(doc: SourceDoc, problems: list[Problem]) -> BaseModel | None:
    data = doc.data
    if not isinstance(data, dict):
        problems.append(
            Problem(doc.start, "a manifest document is a mapping with apiVersion, kind, ...")
        )
        return None
    kind = data.get("kind")
    model_type = KINDS.get(kind) if isinstance(kind, str) else None
    if model_type is None:
        where = doc.locate(["kind"]) if "kind" in data else doc.start
        hint = _did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
        problems.append(
            Problem(where, f"unknown kind {kind!r}; expected one of AISystem, People{hint}")
        )
        return None
    try:
        return model_type.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            problems.append(_describe(doc, model_type, error))
        return None


def _describe(doc: SourceDoc, model_type: type[BaseModel], error: Any) -> Problem:
    loc = _data_path(doc.data, error["loc"])
    dotted = ".".join(str(p) for p in loc) or "document"
    kind = error["type"]
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        parent = ".".join(str(p) for p in loc[:-1]) or "the top level"
        allowed = _allowed_keys(model_type, loc[:-1])
        message = f"unknown key {key!r} in {parent}{_did_you_mean(str(key), allowed)}"
        return Problem(doc.locate(loc, key=True), message)
    if kind == "missing":
        field_name = error["loc"][-1]
        if loc and loc[-1] == field_name:
            loc = loc[:-1]
        parent = ".".join(str(p) for p in loc) or "the top level"
        return Problem(doc.locate(loc), f"missing required key {field_name!r} in {parent}")
    message = str(error["msg"]).removeprefix("Value error, ")
    return Problem(doc.locate(loc), f"{dotted}: {message}")


def _data_path(data: Any, loc: Sequence[object]) -> list[str | int]:
    """Keep the loc parts that exist in the data; pydantic adds union-member tags we drop."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_map = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_map or in_list:
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in node:
            path.append(part)
            break
        else:
            continue
        path.append(part)  # type: ignore[arg-type]
    return path


def _allowed_keys(model_type: type[BaseModel], path: Sequence[object]) -> list[str]:
    current: Any = model_type
    for part in path:
        current = _step(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _step(tp: Any, part: object) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _unwrap(tp: Any) -> Any:
    """Strip Optional/Annotated so we reach the model or container underneath."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = members[0] if len(members) == 1 else tp
            if len(members) != 1:
                return tp
        else:
            return tp


def _did_you_mean(word: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_references(
    docs: list[SourceDoc],
    problems: list[Problem],
    known_people: set[str],
    known_teams: set[str],
) -> None:
    """Cross-document checks over the raw data, so they run even where a shape check failed."""
    people_docs = [d for d in docs if _get(d.data, "kind") == "People"]
    system_docs = [d for d in docs if _get(d.data, "kind") == "AISystem"]
    people = set(known_people)
    teams = set(known_teams)
    seen_people: dict[str, Location] = {}
    for doc in people_docs:
        for i, person in enumerate(_list(doc.data, "people")):
            email = _norm(_get(person, "email"))
            if not email:
                continue
            where = doc.locate(["people", i, "email"])
            if email in seen_people:
                first = seen_people[email]
                problems.append(
                    Problem(where, f"person {email} is listed twice (first at {first})")
                )
            seen_people.setdefault(email, where)
        teams |= {_norm(_get(t, "name")) for t in _list(doc.data, "teams")}
    people |= set(seen_people)
    for doc in people_docs:
        for i, team in enumerate(_list(doc.data, "teams")):
            for j, member in enumerate(_list(team, "members")):
                if isinstance(member, str) and _norm(member) not in people:
                    problems.append(
                        Problem(
                            doc.locate(["teams", i, "members", j]),
                            f"team {_get(team, 'name')}: unknown person {member}",
                        )
                    )
    seen_systems: dict[str, Location] = {}
    for doc in system_docs:
        name = _get(doc.data, "metadata", "name")
        if isinstance(name, str):
            where = doc.locate(["metadata", "name"])
            if name in seen_systems:
                problems.append(
                    Problem(
                        where,
                        f"duplicate system name {name!r} (first declared at {seen_systems[name]})",
                    )
                )
            seen_systems.setdefault(name, where)
        _check_system(doc, problems, people, teams)


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _list(data: Any, *path: str) -> list[Any]:
    value = _get(data, *path)
    return value if isinstance(value, list) else []


def _dict(data: Any, *path: str) -> dict[Any, Any]:
    value = _get(data, *path)
    return value if isinstance(value, dict) else {}


def _norm(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _check_system(
    doc: SourceDoc, problems: list[Problem], people: set[str], teams: set[str]
) -> None:
    def ref(path: list[str | int], value: Any) -> None:
        holder = value.strip() if isinstance(value, str) else ""
        if not holder or _norm(holder) in people or holder in teams:
            return
        if "@" in holder and not EMAIL_RE.match(holder):
            return
        noun = "person" if "@" in holder else "team"
        problems.append(
            Problem(
                doc.locate(path),
                f"unknown {noun} {holder!r}{_did_you_mean(holder, people | teams)}; add them to a "
                "People manifest (kind: People) and apply it, or list it among the paths",
            )
        )

    charter = _dict(doc.data, "spec", "charter")
    for role in ROLES:
        value = charter.get(role)
        if isinstance(value, list):
            for i, holder in enumerate(value):
                ref(["spec", "charter", role, i], holder)
        else:
            ref(["spec", "charter", role], value)
    runbook = _dict(doc.data, "spec", "runbook")
    for i, level in enumerate(_list(runbook, "escalation", "levels")):
        for j, holder in enumerate(_list(level, "notify")):
            ref(["spec", "runbook", "escalation", "levels", i, "notify", j], holder)
    signals = {str(k) for k in _dict(runbook, "signals")}
    playbooks = {str(k) for k in _dict(runbook, "playbooks")}
    upstreams = {_get(u, "name") for u in _list(doc.data, "spec", "upstream")}
    suites = {_get(e, "suite") for e in _list(doc.data, "spec", "evals")}
    for name in _dict(runbook, "healthy"):
        if str(name) not in signals:
            problems.append(
                Problem(
                    doc.locate(["spec", "runbook", "healthy", name], key=True),
                    f"healthy bound for unknown signal {name!r}"
                    f"{_did_you_mean(name, signals)}; define it under spec.runbook.signals",
                )
            )
    for i, alert in enumerate(_list(runbook, "alerts")):
        label = _get(alert, "name")
        for key, known, what in (
            ("signal", signals, "signal"),
            ("playbook", playbooks, "playbook"),
            ("contract", upstreams, "upstream"),
        ):
            value = _get(alert, key)
            if isinstance(value, str) and value not in known:
                fix = f"; add it under spec.runbook.{what}s" if what != "upstream" else ""
                problems.append(
                    Problem(
                        doc.locate(["spec", "runbook", "alerts", i, key]),
                        f"alert {label!r} names missing {what} {value!r}"
                        f"{_did_you_mean(value, {str(k) for k in known})}{fix}",
                    )
                )
    for name, signal in _dict(runbook, "signals").items():
        suite = _get(signal, "suite")
        if _get(signal, "from") == "eval" and isinstance(suite, str) and suite not in suites:
            problems.append(
                Problem(
                    doc.locate(["spec", "runbook", "signals", name, "suite"]),
                    f"signal {name!r} reads unknown eval suite {suite!r}; "
                    "declare it under spec.evals",
                )
            )
