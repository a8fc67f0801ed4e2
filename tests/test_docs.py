"""The README is the manual: every command, setting and check must appear in it."""

from __future__ import annotations

from pathlib import Path

import typer

from watchkeeper.charter import CHECK_IDS
from watchkeeper.cli import app
from watchkeeper.settings import SETTINGS

README = (Path(__file__).parent.parent / "README.md").read_text()


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    command = typer.main.get_command(group)
    names = []
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        if hasattr(sub, "commands"):
            names += [f"{prefix}{name} {child}" for child in sub.commands]
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_command_is_documented() -> None:
    missing = [name for name in _commands(app) if f"`wk {name}" not in README]
    assert not missing, f"commands missing from README: {missing}"


def test_every_setting_is_documented() -> None:
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in README]
    assert not missing


def test_every_gate_check_is_documented() -> None:
    missing = [c for c in CHECK_IDS if f"`{c}`" not in README]
    assert not missing
