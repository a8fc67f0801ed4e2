"""`wk` pays only for what it uses (issue 14 item 6): each command runs in a fresh interpreter and
we look at which heavy libraries it left in `sys.modules`. Not timed: benchmarks/cli_startup.py
measures the start-up itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

DATABASE = ("sqlalchemy", "alembic")
SERVER = ("fastapi", "starlette", "uvicorn", "jinja2")
NUMERIC = ("numpy", "scipy", "pyarrow")
MODELS = ("torch", "sentence_transformers")
HEAVY = DATABASE + SERVER + NUMERIC + MODELS
STAGE_TABLES = tuple(
    f"watchkeeper.store._{stage}" for stage in ("ingest", "monitoring", "alerting", "care")
)
EXAMPLES = Path(__file__).parent.parent.parent / "examples"

# Runs `wk ARGS...` in-process as the console script does, then reports the exit code and what
# it loaded: every top-level package, and the store's own modules by name (a stage's module maps
# its tables), to stdout as the last line (after whatever the command printed).
_PROBE = """
import json, sys
from watchkeeper.cli import run
code = run(sys.argv[1:])
loaded = {m.split(".")[0] for m in sys.modules} | {m for m in sys.modules if m.startswith(
    "watchkeeper.store.")}
sys.stdout.write("\\n" + json.dumps({"code": code, "loaded": sorted(loaded)}) + "\\n")
"""


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    return probe["code"], set(probe["loaded"])


def _env(tmp_path: Path, db_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    env["WATCHKEEPER_DB"] = db_url or f"sqlite:///{tmp_path / 'never-created.db'}"
    return env


# Typer itself loads pydantic to parse a command's parameters, so only the bare `wk --help`
# (which parses none) can do without it; manifests (ruamel) are read by no command's help.
LIGHT = {
    "--help": (*HEAVY, "pydantic", "httpx", "ruamel"),
    "init --help": (*HEAVY, "httpx", "ruamel"),
    "kill --help": (*HEAVY, "httpx", "ruamel"),
    "drift --help": (*HEAVY, "httpx", "ruamel"),
    "gate --help": (*HEAVY, "httpx", "ruamel"),
    "log decision --help": (*HEAVY, "httpx", "ruamel"),
    "schema": (*HEAVY, "httpx"),
}


@pytest.mark.parametrize(("command", "absent"), LIGHT.items(), ids=list(LIGHT))
def test_light_commands_load_no_heavy_library(
    tmp_path: Path, command: str, absent: tuple[str, ...]
) -> None:
    code, loaded = _run(*command.split(), cwd=tmp_path, env=_env(tmp_path))
    assert code == 0
    assert sorted(loaded & set(absent)) == []
    assert not (tmp_path / "never-created.db").exists()


def test_init_writes_a_manifest_without_database_or_server(tmp_path: Path) -> None:
    code, loaded = _run(
        *("init", "--no-input", "--name", "svc", "--tier", "high"),
        *("--owner", "ana@corp.example", "--quality-monitor", "ana@corp.example"),
        *("--retraining-decider", "ben@corp.example"),
        *("--data-liaison", "chen@corp.example", "--kill-authority", "ana@corp.example"),
        *("--fail-mode", "closed", "--fallback", "Humans answer"),
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert code == 0 and (tmp_path / "watchkeeper.yaml").is_file()
    assert sorted(loaded & set(HEAVY)) == []


def test_drift_loads_no_database_server_or_model(tmp_path: Path) -> None:
    (tmp_path / "ref.csv").write_text("x,c\n" + "".join(f"{i},a\n" for i in range(50)))
    (tmp_path / "cur.csv").write_text("x,c\n" + "".join(f"{i},a\n" for i in range(50)))
    code, loaded = _run("drift", "ref.csv", "cur.csv", cwd=tmp_path, env=_env(tmp_path))
    assert code == 0
    assert "pyarrow" in loaded  # the probe sees what a real comparison loads
    assert sorted(loaded & {*DATABASE, *SERVER, *MODELS}) == []


def test_kill_through_the_server_loads_only_the_http_client(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"WATCHKEEPER_URL": "http://127.0.0.1:9", "WATCHKEEPER_TOKEN": "t"}
    code, loaded = _run("kill", "bot", "--reason", "harm", cwd=tmp_path, env=env)
    assert code == 1  # nothing listens on port 9: "cannot reach the Watchkeeper server"
    assert "httpx" in loaded
    assert sorted(loaded & {*HEAVY, "ruamel"}) == []


def test_gate_through_the_server_loads_no_database_or_server_code(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"WATCHKEEPER_URL": "http://127.0.0.1:9", "WATCHKEEPER_TOKEN": "t"}
    code, loaded = _run("gate", str(EXAMPLES), cwd=tmp_path, env=env)
    assert code == 1  # nothing listens on port 9: "cannot reach the Watchkeeper server"
    assert "httpx" in loaded
    assert sorted(loaded & set(HEAVY)) == []
    assert not (tmp_path / "never-created.db").exists()


def test_offline_gate_loads_no_database_server_numeric_or_http_code(tmp_path: Path) -> None:
    code, loaded = _run("gate", "--offline", str(EXAMPLES), cwd=tmp_path, env=_env(tmp_path))
    assert code == 0  # acknowledgements are not checked, and everything else passes
    assert sorted(loaded & {*HEAVY, "httpx"}) == []
    assert not (tmp_path / "never-created.db").exists()


def test_gate_without_a_store_creates_none(tmp_path: Path) -> None:
    code, loaded = _run("gate", str(EXAMPLES), cwd=tmp_path, env=_env(tmp_path))
    assert code == 1  # as over an empty store: nobody has acknowledged anything
    assert sorted(loaded & {"alembic", *SERVER, *NUMERIC, *MODELS}) == []
    assert not (tmp_path / "never-created.db").exists()
    assert not (tmp_path / ".watchkeeper").exists()


# What a command on the store may not load: each builds only the services it uses (the charter
# for vacuum and status, access and the switch for kill), so none pays for the monitor's numeric
# code, the server, or migrations on a store at head; and each maps only the tables it reads:
# the core's, and for the vacuum the evidence of ingest, alerting and care, never the monitor's.
# A kill also tells the owner and kill authorities once it has answered: the courier (its HTTP
# client) and the delivery log (alerting's tables) load then, in the thread that tells them.
KILL_TELLS = ("httpx", "watchkeeper.store._alerting")
STORE_COMMANDS = {
    "vacuum": ((0, 1), ("watchkeeper.store._monitoring", "httpx")),
    "status": ((0, 1), (*STAGE_TABLES, "httpx")),
    "kill support-assistant --reason harm": (
        (0,),
        tuple(t for t in STAGE_TABLES if t not in KILL_TELLS),
    ),
}


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=list(STORE_COMMANDS))
def test_store_commands_build_only_what_they_use(tmp_path: Path, db_url: str, command: str) -> None:
    env = _env(tmp_path, db_url) | {"WATCHKEEPER_USER": "ana@corp.example"}
    assert _run("apply", str(EXAMPLES), cwd=tmp_path, env=env)[0] == 0
    code, loaded = _run(*command.split(), cwd=tmp_path, env=env)
    exits, unmapped = STORE_COMMANDS[command]
    assert code in exits
    assert {"sqlalchemy", "watchkeeper.store._rows"} <= loaded  # the probe sees the store read
    # stored manifests are read as models: the YAML parser is for files, which these never read
    assert sorted(loaded & {"alembic", "ruamel", "markdown_it", *SERVER, *NUMERIC, *MODELS}) == []
    assert sorted(loaded & set(unmapped)) == []


def test_gate_reads_the_store_without_migrations_server_numeric_code_or_stage_tables(
    tmp_path: Path, db_url: str
) -> None:
    from watchkeeper.store import Store

    Store.open(db_url).close()  # at head already: nothing for Alembic to do
    code, loaded = _run("gate", str(EXAMPLES), cwd=tmp_path, env=_env(tmp_path, db_url))
    assert code == 1  # nobody has acknowledged the example's roles yet
    assert "sqlalchemy" in loaded
    assert sorted(loaded & {"alembic", *SERVER, *NUMERIC, *MODELS, *STAGE_TABLES}) == []


def test_the_tables_module_maps_every_table_the_migrations_create(db_url: str) -> None:
    """Stage tables map on first use; `_tables` (read by the migrations' environment and the
    test comparing mappings with migrations) must still gather them all, in a fresh process."""
    from watchkeeper.store import Store

    Store.open(db_url).close()
    probe = (
        "import json, sqlalchemy\nfrom watchkeeper.store._tables import Base\n"
        f"engine = sqlalchemy.create_engine({db_url!r})\n"
        "print(json.dumps([sorted(Base.metadata.tables), "
        "sorted(sqlalchemy.inspect(engine).get_table_names())]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    mapped, migrated = json.loads(result.stdout)
    assert mapped == sorted(set(migrated) - {"alembic_version"})


def test_opening_a_store_at_head_does_not_load_alembic(tmp_path: Path, db_url: str) -> None:
    from watchkeeper.store import Store

    Store.open(db_url).close()
    probe = (
        "import sys\nfrom watchkeeper.store import Store\n"
        f"Store.open({db_url!r}).close()\nprint('alembic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


def test_head_revision_is_the_one_alembic_finds() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import watchkeeper.store
    from watchkeeper.store import head_revision

    config = Config()
    config.set_main_option(
        "script_location", str(Path(watchkeeper.store.__file__).parent / "migrations")
    )
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_scripts_links_are_read_from_their_own_lines() -> None:
    from watchkeeper.store._migrate import _links

    alembic_style = 'revision: str = "0002"\ndown_revision: Union[str, None] = "0001"  # x\n'
    assert _links(alembic_style, "f") == ("0002", "0001")
    merge = 'revision = "3"\ndown_revision = ("2a", "2b")\n\ndef upgrade():\n    revision = 4\n'
    assert _links(merge, "f") == ("3", ("2a", "2b"))
    assert _links('"""Revision ID: 1"""\nrevision = "1"\ndown_revision = None\n', "f") == (
        "1",
        None,
    )
    with pytest.raises(ValueError, match=r"f: `down_revision` is not a literal on one line"):
        _links('revision = "3"\ndown_revision = (\n    "2a",\n)\n', "f")
    with pytest.raises(ValueError, match=r"f: no literal `revision` / `down_revision`"):
        _links('down_revision = "1"\n', "f")


def test_the_head_is_the_revision_nobody_revises_and_a_fork_is_refused() -> None:
    from watchkeeper.store._migrate import head_of

    assert head_of({"1": None, "2": "1", "3": "2"}) == "3"
    assert head_of({"1": None, "2a": "1", "2b": "1", "3": ("2a", "2b")}) == "3"
    with pytest.raises(ValueError, match=r"exactly one head, found \['2a', '2b'\]"):
        head_of({"1": None, "2a": "1", "2b": "1"})


def _paths() -> list[list[str]]:
    from watchkeeper.cli import app

    paths = []
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    return paths


@pytest.mark.parametrize("tail", [["--help"], ["--no-such-option"]], ids=["help", "usage"])
def test_each_command_helps_and_refuses_as_in_the_whole_app(
    tail: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` builds only the command named (see `_narrowed`): what it prints must not change."""
    from watchkeeper.cli import app, run

    whole = typer.main.get_command(app)
    for path in _paths():
        capsys.readouterr()
        code = run([*path, *tail])
        narrowed = capsys.readouterr()
        try:
            whole.main(args=[*path, *tail], prog_name="wk", standalone_mode=False)
        except typer.Exit:
            pass
        except typer.TyperException as exc:
            exc.show()  # type: ignore[attr-defined]
        assert capsys.readouterr() == narrowed, path
        assert code == (0 if tail == ["--help"] else 2), path
