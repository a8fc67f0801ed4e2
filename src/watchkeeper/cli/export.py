"""`wk export backstage`: the systems, their owners and the people and teams behind them as
Backstage catalog entities, so a developer portal shows the same owners Watchkeeper holds.

Each system becomes a Component (`spec.owner` its charter's owner, as a `user:` reference for
a person and a `group:` one for a team), and every person and team a User or Group, so each
reference resolves inside the export itself. A person's entity name is their email as
Backstage's Microsoft Graph (Entra ID) provider names users (`ana@corp.example` becomes
`ana_corp.example`), so a catalog that already ingests the organisation from Entra ID finds the
same names. Reads the applied manifests from the store, or the manifest files given.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from watchkeeper.cli._common import ATTENTION, INVALID, OK, err, existing_store
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    from watchkeeper.manifest import SystemManifest

API_VERSION = "backstage.io/v1alpha1"
SYSTEM_ANNOTATION = "watchkeeper.dev/system"
DASHBOARD_ANNOTATION = "watchkeeper.dev/dashboard"
COMPONENT_TYPE = "service"
LIFECYCLES = {"draft": "experimental", "live": "production", "retired": "deprecated"}
MAX_NAME = 63
# Backstage's rule for metadata.name (KubernetesValidatorFunctions.isValidObjectName).
NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

export_app = typer.Typer(
    help="Export what Watchkeeper holds for other tools: backstage.", no_args_is_help=True
)


class _Person(Protocol):
    """A person as the store and the People manifest both hold one."""

    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def active(self) -> bool: ...


class _Team(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def members(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Catalog:
    """The entities to write, and the systems left out with the reason."""

    components: list[dict[str, Any]]
    org: list[dict[str, Any]]
    skipped: list[str]


class NameClash(ValueError):
    """Two people whose emails become the same Backstage name."""


@export_app.command("backstage")
def backstage(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Manifest files or directories to export instead of the applied manifests "
            "in the store (people and teams as the files declare them)."
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Write DIR/SYSTEM/catalog-info.yaml per system, DIR/org.yaml (users and "
            "groups) and DIR/catalog-info.yaml (a Location naming them all, the one file to "
            "register); without it, every entity to standard output.",
        ),
    ] = None,
) -> int:
    """Backstage catalog entities: a Component per system with its owner and lifecycle, and
    the Users and Groups its references name. Links to the dashboard when WATCHKEEPER_PUBLIC_URL
    (or WATCHKEEPER_URL) is set. Exit 1 when a system could not be exported (no owner, or a
    stored manifest this version cannot read)."""
    settings = Settings.from_env()
    systems, people, teams, unreadable = _source(paths or [], settings.db)
    try:
        catalog = build_catalog(systems, people, teams, settings.public_url or settings.url)
    except NameClash as clash:
        err.print(f"error: {clash}", markup=False)
        return INVALID
    for note in [*unreadable, *catalog.skipped]:
        err.print(f"skipped {note}", markup=False)
    if directory is None:
        sys.stdout.write(_yaml([*catalog.components, *catalog.org]))
    else:
        sys.stdout.writelines(f"wrote {written}\n" for written in _write(directory, catalog))
    return ATTENTION if unreadable or catalog.skipped else OK


def build_catalog(
    systems: Sequence[SystemManifest],
    people: Iterable[_Person],
    teams: Iterable[_Team],
    base_url: str | None,
) -> Catalog:
    """The entities for `systems`, owned as their charters say, and every person and team
    (a person's groups are the teams listing them)."""
    team_list = sorted(teams, key=lambda t: t.name)
    users = _user_names(people)
    components: list[dict[str, Any]] = []
    skipped: list[str] = []
    for system in sorted(systems, key=lambda s: s.name):
        owner = system.spec.charter.owner
        if owner is None:
            skipped.append(
                f"{system.name}: no owner (spec.charter.owner), and a Backstage component needs one"
            )
            continue
        components.append(_component(system, _owner_ref(owner), base_url))
    org = [_user(person, name, team_list) for name, person in sorted(users.items())]
    org += [_group(team) for team in team_list]
    return Catalog(components, org, skipped)


def entity_name(email: str) -> str:
    """A Backstage name for a person: lower case, each character Backstage does not allow
    made `_` (runs of them one), trimmed to start and end with a letter or digit, as the
    Microsoft Graph provider does; one longer than Backstage's 63 characters keeps its start
    and ends with a hash of the whole, so it stays unique."""
    cleaned = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_.-]", "_", email.strip().lower()))
    cleaned = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", cleaned)
    if len(cleaned) <= MAX_NAME:
        return cleaned
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:8]
    return f"{cleaned[: MAX_NAME - 9].rstrip('-_.')}-{digest}"


def _user_names(people: Iterable[_Person]) -> dict[str, _Person]:
    names: dict[str, _Person] = {}
    for person in people:
        name = entity_name(person.email)
        if name in names and names[name].email.lower() != person.email.lower():
            raise NameClash(
                f"{names[name].email} and {person.email} both become the Backstage user "
                f"{name!r}: Backstage names allow only letters, digits, '-', '_' and '.'"
            )
        names[name] = person
    return names


def _owner_ref(owner: str) -> str:
    if "@" in owner:
        return f"user:{entity_name(owner)}"
    return f"group:{owner}"


def _component(system: SystemManifest, owner: str, base_url: str | None) -> dict[str, Any]:
    meta = system.metadata
    metadata: dict[str, Any] = {"name": system.name}
    if meta.title:
        metadata["title"] = meta.title
    if meta.description:
        metadata["description"] = meta.description
    annotations = {SYSTEM_ANNOTATION: system.name}
    if base_url:
        page = f"{base_url.rstrip('/')}/systems/{system.name}"
        annotations[DASHBOARD_ANNOTATION] = page
        metadata["links"] = [{"url": page, "title": "Watchkeeper", "icon": "dashboard"}]
    metadata["annotations"] = annotations
    metadata["labels"] = {"watchkeeper.dev/tier": meta.tier}
    metadata["tags"] = ["ai-system"]
    spec = {
        "type": COMPONENT_TYPE,
        "lifecycle": LIFECYCLES[system.spec.lifecycle],
        "owner": owner,
    }
    return _entity("Component", metadata, spec)


def _user(person: _Person, name: str, teams: Sequence[_Team]) -> dict[str, Any]:
    profile = {"email": person.email}
    if person.name:
        profile["displayName"] = person.name
    email = person.email.lower()
    member_of = [t.name for t in teams if email in (m.lower() for m in t.members)]
    metadata: dict[str, Any] = {"name": name}
    if not person.active:
        metadata["annotations"] = {"watchkeeper.dev/active": "false"}
    return _entity("User", metadata, {"profile": profile, "memberOf": member_of})


def _group(team: _Team) -> dict[str, Any]:
    spec = {"type": "team", "children": [], "members": [entity_name(m) for m in team.members]}
    return _entity("Group", {"name": team.name}, spec)


def _entity(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _location(targets: Sequence[str]) -> dict[str, Any]:
    metadata = {
        "name": "watchkeeper",
        "description": "Systems, owners, people and teams exported by Watchkeeper",
    }
    return _entity("Location", metadata, {"targets": list(targets)})


def _source(
    paths: list[str], db: str
) -> tuple[list[SystemManifest], list[_Person], list[_Team], list[str]]:
    """The systems, people and teams to export, from the files when any are given, else from
    the store (never created here); and the stored systems whose manifest cannot be read."""
    if paths:
        from watchkeeper.manifest import load_paths

        loaded = load_paths(paths)
        return loaded.systems, list(loaded.people), list(loaded.teams), []
    from watchkeeper.charter import read_applied

    with existing_store(db) as store:
        if store is None:
            raise typer.BadParameter(
                f"no store at {db} (WATCHKEEPER_DB): apply manifests first, or name the "
                "manifest files to export",
                param_hint="PATHS",
            )
        with store.read() as unit:
            applied, unreadable = read_applied(unit.systems())
            people: list[_Person] = list(unit.people())
            teams: list[_Team] = list(unit.teams())
    notes = [
        f"{u.record.name}: its stored manifest cannot be read ({u.reason})" for u in unreadable
    ]
    return [manifest for _, manifest in applied], people, teams, notes


def _write(root: Path, catalog: Catalog) -> list[Path]:
    files = {
        Path(c["metadata"]["name"]) / "catalog-info.yaml": _yaml([c]) for c in catalog.components
    }
    files[Path("org.yaml")] = _yaml(catalog.org)
    targets = [f"./{path.as_posix()}" for path in sorted(files)]
    files[Path("catalog-info.yaml")] = _yaml([_location(targets)])
    written = []
    try:
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot write {exc.filename or root}: {exc.strerror or exc}", param_hint="--dir"
        ) from None
    return written


def _yaml(entities: Sequence[Mapping[str, Any]]) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.explicit_start = True
    stream = StringIO()
    yaml.dump_all(entities, stream)
    return stream.getvalue()
