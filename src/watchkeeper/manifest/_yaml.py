"""YAML reading that keeps where every key and value came from.

ruamel.yaml's round-trip loader records line and column for each mapping key, mapping value and
sequence item; we turn those into plain Python data plus a lookup from a path to a Location.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from watchkeeper.manifest._errors import Location, ManifestError, Problem

PathPart = str | int


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


def read_documents(text: str, file: str) -> list[SourceDoc]:
    """Parse every `---`-separated document; syntax errors become located problems."""
    yaml = YAML(typ="rt", pure=True)
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
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise ManifestError([Problem(Location(file, 1, 1), f"invalid YAML: {exc}")]) from None
    return docs
