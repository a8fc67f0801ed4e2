"""YAML reading that keeps where every key and value came from.

ruamel.yaml's round-trip loader records line and column for each mapping key, mapping value and
sequence item; we turn those into plain Python data plus a lookup from a path to a Location.

Manifests arrive over the API from any person with a token, and are parsed before anyone is
authorised, so the reader bounds its own work: a file's size is checked before parsing, and
aliases are refused where they are written. A cap on aliases would not be enough — nine aliases
of nine aliases expand to 9**9 nodes — and a charter is read by reviewers, who should see every
role and threshold where it applies; so a manifest simply writes its values out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, StreamMark, YAMLError
from ruamel.yaml.events import AliasEvent

from watchkeeper.manifest._errors import Location, ManifestError, Problem

PathPart = str | int
MAX_MANIFEST_BYTES = 256 * 1024  # ~100 times a full manifest; parsing costs ~1 s per 30 KiB
# What PostgreSQL text cannot hold (NUL) or UTF-8 cannot encode (a lone surrogate); YAML's
# escapes ("\0", "\ud800") can produce both from harmless-looking text.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class SourceDoc:
    """One YAML document: its plain data and the raw node used to locate paths inside it."""

    file: str
    data: Any
    node: Any
    start: Location

    def locate(self, path: Sequence[object], *, key: bool = False) -> Location:
        """Where `path` is written, or the nearest enclosing thing that is.

        `key=True` points at the key itself (for unknown keys); otherwise at its value.
        """
        node = self.node
        line, col = self.start.line - 1, self.start.column - 1
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, CommentedMap) and _has_key(node, part):
                part = _match_key(node, part)
                kline, kcol = node.lc.key(part)
                vline, vcol = node.lc.value(part)
                line, col = (kline, kcol) if (last and key) else (vline, vcol)
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line, col = node.lc.item(part)
                node = node[part]
            else:
                break
        return Location(self.file, line + 1, col + 1)

    def keys(self, under: Sequence[str], depth: int) -> dict[tuple[str, ...], Location]:
        """Where each key below `under` is written, `depth` levels deep: what a report about
        one field points at (a key absent here was not written)."""
        node = self.node
        for part in under:
            if not (isinstance(node, CommentedMap) and _has_key(node, part)):
                return {}
            node = node[_match_key(node, part)]
        found: dict[tuple[str, ...], Location] = {}

        def walk(node: Any, path: tuple[str, ...], left: int) -> None:
            if not isinstance(node, CommentedMap) or left == 0:
                return
            for key in node:
                line, col = node.lc.key(key)
                found[(*path, str(key))] = Location(self.file, line + 1, col + 1)
                walk(node[key], (*path, str(key)), left - 1)

        walk(node, tuple(under), depth)
        return found


def _has_key(node: CommentedMap, part: object) -> bool:
    return part in node or str(part) in {str(k) for k in node}


def _match_key(node: CommentedMap, part: object) -> object:
    if part in node:
        return part
    return next(k for k in node if str(k) == str(part))


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


class _AliasFound(Exception):
    def __init__(self, mark: StreamMark, anchor: str) -> None:
        super().__init__(anchor)
        self.mark, self.anchor = mark, anchor


class _NoAliases(Composer):
    """Stops at the first alias, before anything is expanded."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            raise _AliasFound(event.start_mark, event.anchor)
        return super().compose_node(parent, index)


def size_problem(file: str, size: int) -> Problem | None:
    """The refusal of a file too large to parse, or None when it is within the limit."""
    if size <= MAX_MANIFEST_BYTES:
        return None
    return Problem(
        Location(file, 1, 1),
        f"the manifest is {size} bytes; the limit is {MAX_MANIFEST_BYTES} bytes "
        f"({MAX_MANIFEST_BYTES // 1024} KiB) per file: split it into several files",
    )


def read_documents(text: str, file: str) -> list[SourceDoc]:
    """Parse every `---`-separated document; syntax errors become located problems."""
    too_large = size_problem(file, len(text.encode("utf-8", "surrogatepass")))
    if too_large:
        raise ManifestError([too_large])
    yaml = YAML(typ="rt", pure=True)
    yaml.Composer = _NoAliases
    docs: list[SourceDoc] = []
    try:
        for node in yaml.load_all(text):
            if node is None:
                continue
            start = Location(file, 1, 1)
            if isinstance(node, CommentedMap | CommentedSeq):
                start = Location(file, node.lc.line + 1, node.lc.col + 1)
            docs.append(SourceDoc(file, _plain(node), node, start))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        raise ManifestError([Problem(where, f"invalid YAML: {what}")]) from None
    except _AliasFound as found:
        where = Location(file, found.mark.line + 1, found.mark.column + 1)
        message = (
            "YAML aliases are not allowed in a manifest: write the value out where it is used "
            f"(*{found.anchor})"
        )
        raise ManifestError([Problem(where, message)]) from None
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise ManifestError([Problem(Location(file, 1, 1), f"invalid YAML: {exc}")]) from None
    return docs


def unstorable(doc: SourceDoc) -> list[Problem]:
    """Every key and value holding a character no store can keep, located."""
    problems = []
    for path, text, is_key in _strings(doc.data, []):
        found = _UNSTORABLE.search(text)
        if found is None:
            continue
        code = ord(found.group(0))
        what = "a NUL character (\\x00)" if code == 0 else f"an unpaired surrogate (\\u{code:04x})"
        if is_key:
            parent = ".".join(str(p) for p in path[:-1]) or "the top level"
            subject = f"{parent}: the key {path[-1]!r}"
        else:
            subject = (".".join(str(p) for p in path) or "the document") + ":"
        message = f"{subject} contains {what}, which cannot be stored"
        problems.append(Problem(doc.locate(path, key=is_key), message))
    return problems


def _strings(data: Any, path: list[PathPart]) -> Iterator[tuple[list[PathPart], str, bool]]:
    if isinstance(data, str):
        yield path, data, False
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str):
                yield [*path, key], key, True
            yield from _strings(value, [*path, key])
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, [*path, i])
