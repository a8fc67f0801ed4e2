"""`import watchkeeper` is the SDK only: it loads no server-side dependency."""

from __future__ import annotations

import json
import subprocess
import sys

import watchkeeper

SERVER_SIDE = {
    "alembic",
    "fastapi",
    "numpy",
    "psycopg",
    "pyarrow",
    "pydantic",
    "ruamel",
    "scipy",
    "sqlalchemy",
    "starlette",
    "typer",
    "uvicorn",
}


def test_importing_the_package_loads_no_server_dependency() -> None:
    code = "import json, sys, watchkeeper; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    roots = {name.split(".")[0] for name in loaded}
    assert not roots & SERVER_SIDE, roots & SERVER_SIDE
    ours = {name for name in loaded if name.startswith("watchkeeper.")}
    stdlib_only = {"watchkeeper.settings", "watchkeeper._lazy"}
    core = {n for n in ours if not n.startswith("watchkeeper.sdk") and n not in stdlib_only}
    assert not core, f"the SDK pulled in core modules: {sorted(core)}"


def test_the_public_surface_is_the_sdk() -> None:
    assert watchkeeper.__all__ == ["Client", "SystemDisabled"]
    for name in watchkeeper.__all__:
        assert getattr(watchkeeper, name).__module__.startswith("watchkeeper.sdk")
