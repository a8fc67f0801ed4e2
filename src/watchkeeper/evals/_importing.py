"""Resolving `module:function` paths (eval targets and custom scorers), and the layer's one error.

`EvalError` is an `ActionError` of kind "invalid", so the CLI and the server already know how to
show it: every problem on its own line, each naming the file, line or import path it is about.

A target lives in the system's own repository, not in an installed package, so the directories
the caller names (the manifest's, the working directory) are searched first. They are put on
`sys.path` only for the duration of the import, so the modules they hold can import their
siblings without the process's search path growing with every run.

A run nobody attends (the server's, the scheduler's) names `allowed` module prefixes and no
directories: nothing outside those prefixes is imported, and the callable reached must be defined
under them too, so an allowed module's own imports (`allowed:subprocess.getoutput`) and Python's
internals (`allowed:run.__globals__.get`) are not a way out.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib.machinery import PathFinder
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from watchkeeper.errors import ActionError

SearchPath = Sequence[str | PathLike[str]]

DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


class EvalError(ActionError):
    """Raised with every problem found at once, so a golden set is fixed in one pass."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid", "\n".join(self.problems))


def import_object(
    spec: str,
    search_path: SearchPath = (),
    *,
    what: str,
    allowed: Sequence[str] | None = None,
) -> Callable[..., Any]:
    """The callable at `spec` (`package.module:function`, or `module:Class.method`); with
    `allowed`, only one defined under those module prefixes (anything else is refused before it
    is imported or, for what an allowed module imported itself, before it is returned)."""
    module_name, colon, attribute = spec.partition(":")
    if not (colon and DOTTED.fullmatch(module_name) and DOTTED.fullmatch(attribute)):
        raise EvalError([f"{what} {spec!r} is not an import path such as package.module:function"])
    subject = f"{what} {spec!r}"
    if allowed is not None:
        _refuse_unless_allowed(subject, module_name, attribute, allowed)
    dirs = [str(Path(entry).resolve()) for entry in search_path]
    found: Any = _import_module(module_name, dirs, subject)
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            where = getattr(found, "__file__", None) or repr(found)
            raise EvalError([f"{subject}: {where} has no attribute {part!r}"]) from None
        if allowed is not None and isinstance(found, ModuleType):
            _refuse_unless_allowed(subject, found.__name__, attribute, allowed)
    if not callable(found):
        raise EvalError([f"{subject} is a {type(found).__name__}, which cannot be called"])
    if allowed is not None:
        _refuse_unless_allowed(subject, _defined_in(found), attribute, allowed)
    return found  # type: ignore[no-any-return]


def module_allowed(name: str, prefixes: Sequence[str]) -> bool:
    """Whether module `name` is one of `prefixes` or inside one of them, by whole dotted parts
    (`support_bot` allows `support_bot.app`, not `support_bot2`)."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def outside_allowed(module: str) -> str:
    """Why a module was refused, in the words of the operator's setting."""
    return f"module {module!r} is not under WATCHKEEPER_EVAL_MODULES"


def describe_exception(exc: BaseException) -> str:
    """One line a person can act on: the error and where it was raised (never a traceback)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and not isinstance(exc, SyntaxError):  # a SyntaxError's text already says where
        text += f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return text


def _refuse_unless_allowed(
    subject: str, module: str, attribute: str, allowed: Sequence[str]
) -> None:
    dunder = next((part for part in attribute.split(".") if part.startswith("__")), None)
    if dunder is not None:
        raise ActionError("forbidden", f"{subject}: an unattended eval may not reach {dunder!r}")
    if not module_allowed(module, allowed):
        raise ActionError("forbidden", f"{subject}: {outside_allowed(module)}")


def _defined_in(found: Any) -> str:
    """The module a callable was defined in (a bound method's function's, an instance's class's);
    empty when it does not say, which no prefix allows."""
    function = getattr(found, "__func__", found)
    module = getattr(function, "__module__", None)
    return module if isinstance(module, str) else ""


def _import_module(name: str, dirs: list[str], subject: str) -> ModuleType:
    _refuse_shadowed(name.partition(".")[0], dirs, subject)
    with _searching(dirs):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                where = "among the installed packages"
                if dirs:
                    where = f"in {', '.join(dirs)} or {where}"
                raise EvalError([f"{subject}: no module {exc.name!r} {where}"]) from None
            raise EvalError([f"{subject}: importing {name!r} failed: {exc}"]) from None
        except Exception as exc:
            message = describe_exception(exc)
            raise EvalError([f"{subject}: importing {name!r} failed: {message}"]) from None


def _refuse_shadowed(top: str, dirs: list[str], subject: str) -> None:
    """Two systems with a module of the same name cannot share one process: say so rather than
    silently evaluating the other system's code."""
    loaded = sys.modules.get(top)
    loaded_file = getattr(loaded, "__file__", None)
    wanted = PathFinder.find_spec(top, dirs) if dirs and loaded_file else None
    if wanted is None or wanted.origin is None or loaded_file is None:
        return
    if Path(wanted.origin).resolve() != Path(loaded_file).resolve():
        raise EvalError(
            [
                f"{subject}: module {top!r} is already loaded from {loaded_file}, so "
                f"{wanted.origin} cannot be imported in this process (rename one of them)"
            ]
        )


@contextmanager
def _searching(dirs: list[str]) -> Iterator[None]:
    added = [entry for entry in dirs if entry not in sys.path]
    sys.path[:0] = added
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for entry in added:
            with suppress(ValueError):
                sys.path.remove(entry)
