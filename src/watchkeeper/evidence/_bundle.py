"""The bundle's integrity: canonical digests of each record, one root over them, and the zip.

A record's digest is SHA-256 over its canonical JSON (sorted keys, no spaces), so the same record
always hashes the same wherever it is re-read. The root covers the header, every record's digest
and the obligations table; the export's own audit entry carries the root, so the bundle is tied
into the deployment's hash chain at the moment it was made. The zip holds the bundle, its HTML,
every record as a file of its own and the cited chain, with a SHA256SUMS over all of them.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.errors import ActionError

FORMAT = "watchkeeper-evidence/1"
HEADER = ("format", "deployment", "system", "title", "period", "exported_at", "exported_by")
SUMS = "SHA256SUMS"
BUNDLE_FILE = "bundle.json"
HTML_FILE = "evidence.html"
CHAIN_FILE = "audit/chain.jsonl"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_digest(record: Mapping[str, Any]) -> str:
    """Over everything the record says but its own digest."""
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "digest"})).hexdigest()


def root(bundle: Mapping[str, Any]) -> str:
    """Over the header, the records' digests in order and the obligations table."""
    covered = {
        "header": {k: bundle.get(k) for k in HEADER},
        "digests": [r.get("digest") for r in bundle["records"]],
        "mapping": bundle["mapping"],
    }
    return hashlib.sha256(canonical(covered)).hexdigest()


def record_path(record: Mapping[str, Any]) -> str:
    """`records/<kind>/<id with / as __>.json`: one file per record, named so it sorts by kind."""
    return f"records/{record['kind']}/{str(record['id']).replace('/', '__')}.json"


def to_zip(bundle: Mapping[str, Any], html: str) -> bytes:
    files: dict[str, bytes] = {
        BUNDLE_FILE: json.dumps(bundle, indent=1, ensure_ascii=False).encode(),
        HTML_FILE: html.encode(),
        CHAIN_FILE: b"".join(canonical(e) + b"\n" for e in bundle["chain"]["entries"]),
    }
    for record in bundle["records"]:
        files[record_path(record)] = canonical(record)
    sums = "".join(f"{hashlib.sha256(b).hexdigest()}  {name}\n" for name, b in files.items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
        archive.writestr(SUMS, sums)
    return buffer.getvalue()


def read(data: bytes, source: str) -> tuple[dict[str, Any], list[str]]:
    """The bundle a file holds (JSON, or a zip holding one) and what the zip's own checks found
    wrong, file by file — a zip file altered after export is named even where the bundle inside
    it is intact."""
    if data[:2] == b"PK":
        return _from_zip(data, source)
    return _parsed(data, source), []


def _parsed(data: bytes, source: str) -> dict[str, Any]:
    try:
        bundle = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ActionError(
            "invalid", f"{source}: not an evidence bundle (neither JSON nor a zip): {e}"
        ) from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise ActionError(
            "invalid",
            f"{source}: not a Watchkeeper evidence bundle (its format is not {FORMAT!r})",
        )
    missing = [k for k in ("records", "mapping", "chain", "root") if k not in bundle]
    if missing:
        raise ActionError("invalid", f"{source}: the bundle has no {', '.join(missing)}")
    return bundle


def _from_zip(data: bytes, source: str) -> tuple[dict[str, Any], list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        broken = archive.testzip()
        files = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as e:
        raise ActionError(
            "invalid", f"{source}: not a complete zip archive (truncated or damaged: {e})"
        ) from None
    if broken is not None:
        raise ActionError("invalid", f"{source}: {broken} in the zip is damaged (bad CRC)")
    if BUNDLE_FILE not in files or SUMS not in files:
        raise ActionError(
            "invalid", f"{source}: a zip without {BUNDLE_FILE} and {SUMS} is not an evidence bundle"
        )
    bundle = _parsed(files[BUNDLE_FILE], f"{source}:{BUNDLE_FILE}")
    return bundle, _zip_problems(files, bundle)


def _zip_problems(files: Mapping[str, bytes], bundle: Mapping[str, Any]) -> list[str]:
    problems = []
    listed = {}
    for line in files[SUMS].decode(errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    for name in sorted(set(files) - {SUMS}):
        if name not in listed:
            problems.append(f"{name} is in the zip but not in {SUMS} (added after export)")
        elif hashlib.sha256(files[name]).hexdigest() != listed[name]:
            problems.append(f"{name} was altered: its SHA-256 differs from {SUMS}")
    problems += [
        f"{name} is listed in {SUMS} but missing" for name in sorted(listed) if name not in files
    ]
    problems += _records_match(files, bundle["records"])
    return problems


def _records_match(files: Mapping[str, bytes], records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each record file must say what the bundle says: one changed on its own (with SHA256SUMS
    redone) is still caught."""
    return [
        f"{record_path(r)} differs from record {r['id']} in {BUNDLE_FILE}"
        for r in records
        if files.get(record_path(r)) != canonical(r)
    ]
