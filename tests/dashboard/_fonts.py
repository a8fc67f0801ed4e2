"""The characters a TrueType font has a glyph for, read from its `cmap` table with `struct` (no
fontTools in the environment): subtables of format 4 (the Basic Multilingual Plane) and 12 (all
of Unicode), which is what DejaVu and every current desktop font carry."""

from __future__ import annotations

import struct
from pathlib import Path


def covered(path: Path) -> set[int]:
    data = path.read_bytes()
    (tables,) = struct.unpack_from(">H", data, 4)
    offsets = {}
    for i in range(tables):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        offsets[tag] = offset
    cmap = offsets[b"cmap"]
    (subtables,) = struct.unpack_from(">H", data, cmap + 2)
    found: set[int] = set()
    for i in range(subtables):
        (offset,) = struct.unpack_from(">I", data, cmap + 8 + 8 * i)
        start = cmap + offset
        (shape,) = struct.unpack_from(">H", data, start)
        if shape == 4:
            found |= _format_4(data, start)
        elif shape == 12:
            found |= _format_12(data, start)
    return found


def _format_4(data: bytes, at: int) -> set[int]:
    """Segments of code points, each mapped by a delta or through a glyph-index array; glyph 0
    is `.notdef`, the missing-glyph box, so a code point mapped to it is not covered."""
    (double,) = struct.unpack_from(">H", data, at + 6)
    count = double // 2
    ends = struct.unpack_from(f">{count}H", data, at + 14)
    starts = struct.unpack_from(f">{count}H", data, at + 16 + double)
    deltas = struct.unpack_from(f">{count}h", data, at + 16 + 2 * double)
    ranges_at = at + 16 + 3 * double
    range_offsets = struct.unpack_from(f">{count}H", data, ranges_at)
    found: set[int] = set()
    for k, (first, last) in enumerate(zip(starts, ends, strict=True)):
        for code in range(first, min(last, 0xFFFE) + 1):
            if range_offsets[k] == 0:
                glyph = (code + deltas[k]) & 0xFFFF
            else:
                where = ranges_at + 2 * k + range_offsets[k] + 2 * (code - first)
                (glyph,) = struct.unpack_from(">H", data, where)
                glyph = (glyph + deltas[k]) & 0xFFFF if glyph else 0
            if glyph:
                found.add(code)
    return found


def _format_12(data: bytes, at: int) -> set[int]:
    (groups,) = struct.unpack_from(">I", data, at + 12)
    found: set[int] = set()
    for j in range(groups):
        first, last, glyph = struct.unpack_from(">III", data, at + 16 + 12 * j)
        found.update(range(first, last + 1) if glyph else range(first + 1, last + 1))
    return found
