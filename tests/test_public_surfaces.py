"""Each package's public surface is its `__init__`'s `__all__` (issue 14 item 8): every public
name it offers is listed, and every listed name resolves — including those a package loads on
first use, which a stale entry would only reveal when someone reaches for it. And the repo keeps
its own CODEOWNERS: each package has its owners, and no line names a path that moved away."""

from __future__ import annotations
import __future__

import importlib
import types
from pathlib import Path

import pytest

PACKAGES = [
    "watchkeeper.access",
    "watchkeeper.alerting",
    "watchkeeper.app",
    "watchkeeper.care",
    "watchkeeper.charter",
    "watchkeeper.cli",
    "watchkeeper.evals",
    "watchkeeper.ingest",
    "watchkeeper.monitor",
    "watchkeeper.server",
    "watchkeeper.store",
    "watchkeeper.switch",
    "watchkeeper.triage",
]


def _public(package: types.ModuleType) -> set[str]:
    """Names offered without an underscore that are neither submodules nor the `annotations`
    of a `from __future__` import."""
    return {
        name
        for name, value in ((name, getattr(package, name)) for name in dir(package))
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and value is not __future__.annotations
    }


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    package = importlib.import_module(name)
    assert sorted(package.__all__) == sorted(_public(package))
    assert len(set(package.__all__)) == len(package.__all__)


ROOT = Path(__file__).parent.parent
OWNERS = ROOT / ".github" / "CODEOWNERS"


def _owned_paths() -> list[str]:
    lines = (line.split("#", 1)[0].split() for line in OWNERS.read_text().splitlines())
    return [fields[0] for fields in lines if fields and fields[0] != "*"]


def test_codeowners_names_only_paths_that_exist() -> None:
    assert [p for p in _owned_paths() if not (ROOT / p.strip("/")).exists()] == []


def test_every_package_has_its_owners() -> None:
    source = ROOT / "src" / "watchkeeper"
    packages = {
        f"/src/watchkeeper/{d.name}/" for d in source.iterdir() if (d / "__init__.py").is_file()
    }
    assert sorted(packages - set(_owned_paths())) == []
