"""Checking a bundle offline: every record against its digest, the root against the export's
audit entry, and the chain segment link by link.

The first thing found altered is named — the record by its id and title, an audit entry by its
sequence number and the records that cite it — because "the bundle is invalid" helps nobody
decide what to distrust. Without the deployment's secret a keyed chain's links are checked but
its HMACs cannot be recomputed; the result says so rather than claim more than it checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from watchkeeper.audit import entry_hash
from watchkeeper.evidence._bundle import record_digest, root

EXPORT_ACTION = "evidence.exported"


def verify(
    bundle: Mapping[str, Any], key: bytes | None = None, zip_problems: Sequence[str] = ()
) -> dict[str, Any]:
    """`ok`, what was checked, and the first alteration found (`altered`: what, `reason`)."""
    records: Sequence[Mapping[str, Any]] = bundle["records"]
    entries: Sequence[Mapping[str, Any]] = bundle["chain"].get("entries", [])
    checked = {"records": len(records), "entries": len(entries), "unkeyed_hmacs": 0}
    failure = (
        _first_record(records)
        or _root(bundle)
        or _zip(zip_problems)
        or _chain(entries, records, key, checked)
        or _export(bundle, entries)
        or _citations(records, entries, bundle["mapping"])
    )
    result: dict[str, Any] = {
        "ok": failure is None,
        "system": bundle.get("system"),
        "period": bundle.get("period"),
        "deployment": bundle.get("deployment"),
        "head": bundle["chain"].get("head"),
        "checked": checked,
        "altered": None,
        "reason": None,
    }
    if failure is not None:
        result["altered"], result["reason"] = failure
    elif checked["unkeyed_hmacs"]:
        result["note"] = (
            f"{checked['unkeyed_hmacs']} audit entries are HMACs under the deployment's secret: "
            "their links were checked; set WATCHKEEPER_SECRET to recompute them"
        )
    return result


Failure = tuple[str, str] | None


def _first_record(records: Sequence[Mapping[str, Any]]) -> Failure:
    for index, record in enumerate(records):
        if record.get("digest") != record_digest(record):
            return (
                str(record.get("id")),
                f"record {record.get('id')} ({record.get('title')}, records[{index}]) was altered "
                "after export: its content no longer matches its digest",
            )
    return None


def _root(bundle: Mapping[str, Any]) -> Failure:
    if bundle.get("root") != root(bundle):
        return (
            "index",
            "the bundle's header, its list of digests or its obligations table was altered "
            "after export: the root no longer matches",
        )
    return None


def _zip(problems: Sequence[str]) -> Failure:
    return ("zip", problems[0]) if problems else None


def _chain(
    entries: Sequence[Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
    key: bytes | None,
    checked: dict[str, int],
) -> Failure:
    previous: Mapping[str, Any] | None = None
    for entry in entries:
        if previous is not None and entry["seq"] != previous["seq"] + 1:
            return _entry(entry, records, f"follows entry {previous['seq']}: entries are missing")
        if previous is not None and entry["prev_hash"] != previous["hash"]:
            return _entry(entry, records, "does not link to the entry before it")
        if entry.get("keyed") and key is None:
            checked["unkeyed_hmacs"] += 1
        elif entry["hash"] != _recomputed(entry, key):
            return _entry(entry, records, "was altered: its hash no longer matches its content")
        previous = entry
    return None


def _recomputed(entry: Mapping[str, Any], key: bytes | None) -> str:
    return entry_hash(
        entry["prev_hash"],
        key=key if entry.get("keyed") else None,
        at=datetime.fromisoformat(entry["at"]),
        actor=entry["actor"],
        action=entry["action"],
        target=entry["target"],
        system=entry["system"],
        before=entry["before"],
        after=entry["after"],
        reason=entry["reason"],
    )


def _entry(
    entry: Mapping[str, Any], records: Sequence[Mapping[str, Any]], what: str
) -> tuple[str, str]:
    citing = [str(r["id"]) for r in records if entry["seq"] in r.get("audit", [])]
    cited = f"; cited by {', '.join(citing)}" if citing else ""
    return (
        f"audit/{entry['seq']}",
        f"audit entry {entry['seq']} ({entry['action']} on {entry['target']}) {what}{cited}",
    )


def _export(bundle: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> Failure:
    """The chain must end at the export's own entry, which must carry this bundle's root."""
    last = entries[-1] if entries else None
    head = bundle["chain"].get("head") or {}
    if last is None or last["action"] != EXPORT_ACTION:
        return ("chain", "the chain does not end at the export's audit entry (cut short?)")
    if (last["seq"], last["hash"]) != (head.get("seq"), head.get("hash")):
        return ("chain", "the chain's head at export differs from its last entry")
    after = last.get("after") or {}
    if after.get("root") != bundle.get("root") or last.get("system") != bundle.get("system"):
        return (
            f"audit/{last['seq']}",
            "the export's audit entry names another bundle (its root or system differs): "
            "the bundle was re-assembled after export",
        )
    return None


def _citations(
    records: Sequence[Mapping[str, Any]],
    entries: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
) -> Failure:
    seqs = {e["seq"] for e in entries}
    for record in records:
        missing = [s for s in record.get("audit", []) if s not in seqs]
        if missing:
            return (
                str(record["id"]),
                f"record {record['id']} cites audit entry {missing[0]}, which is not in the chain",
            )
    ids = {r["id"] for r in records}
    for row in rows:
        unknown = [i for i in row.get("records", []) if i not in ids]
        if unknown:
            return ("index", f"{row['ref']} points at {unknown[0]}, which is not in the bundle")
    return None
