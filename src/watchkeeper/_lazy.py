"""Package attributes that load on first use (PEP 562).

For packages whose public names pull in libraries a caller may never touch: `import watchkeeper`
runs before any `watchkeeper.<module>` (so before every `wk` command), and must not load httpx
for the SDK; `watchkeeper.evals` must not load pydantic's run models for a caller that only
names them. Each such package also imports its names under TYPE_CHECKING, for type
checkers and editors.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def exports(
    package: str, modules: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of `package`, which exports the names listed under each
    module (a submodule imports the usual way, not through these)."""
    where = {name: module for module, names in modules.items() for name in names}

    def attribute(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def names() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return attribute, names
