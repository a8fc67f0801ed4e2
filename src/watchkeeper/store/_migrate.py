"""Schema migrations, applied on first use and by `wk db upgrade`.

Alembic (and every migration script with it) loads only when the schema is behind: whether it is
comes from one query of the version table against the head read from the scripts' own
`revision` / `down_revision` lines, so opening a store that is up to date costs no Alembic import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, inspect, text

_SCRIPTS = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
_PG_LOCK = 0x5741_544B  # "WATK": one migrator at a time across server replicas

Parents = str | tuple[str, ...] | None
_LINK = re.compile(r"^(revision|down_revision)\b(?:\s*:[^=\n]*)?\s*=([^#\n]*)", re.MULTILINE)


def _links(source: str, file: str) -> tuple[str, Parents]:
    """A script's `revision` and `down_revision`, read as literals without running it. Only
    their own top-level lines are read (as Alembic writes them, one line each, optionally
    annotated): parsing every script whole cost each command on the store more than the query
    that tells whether the schema is behind."""
    found: dict[str, object] = {}
    for name, value in _LINK.findall(source):
        try:
            found[name] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"{file}: `{name}` is not a literal on one line") from None
    revision, parents = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str) or not isinstance(parents, str | tuple | type(None)):
        raise ValueError(f"{file}: no literal `revision` / `down_revision`")
    return revision, parents


def head_of(chain: Mapping[str, Parents]) -> str:
    """The one revision no other revises; several would be a forked history, a bug to fix."""
    revised: set[str] = set()
    for parents in chain.values():
        revised.update((parents,) if isinstance(parents, str) else parents or ())
    heads = sorted(set(chain) - revised)
    if len(heads) != 1:
        raise ValueError(f"migrations must have exactly one head, found {heads or 'none'}")
    return heads[0]


@cache
def head_revision() -> str:
    scripts = sorted((_SCRIPTS / "versions").glob("*.py"))
    return head_of(dict(_links(p.read_text(encoding="utf-8"), str(p)) for p in scripts))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table(_VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


def upgrade(engine: Engine) -> bool:
    """Bring the schema to head; returns whether anything ran. Safe to race on PostgreSQL."""
    if current_revision(engine) == head_revision():
        return False
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return True
