"""The package's `__all__` is its public surface: nothing public left out, nothing stale in it."""

from __future__ import annotations

import types

import watchkeeper.care as care


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in ((name, getattr(care, name)) for name in dir(care))
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(care.__all__) == public
