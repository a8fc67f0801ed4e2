"""The bundle's checks on plain data: a bundle made by hand with a real chain (the audit
module's own hashing), each alteration named, and the obligations table's three states."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.audit import GENESIS, chain_key, entry_hash
from watchkeeper.evidence import OBLIGATIONS, render, verify
from watchkeeper.evidence._bundle import FORMAT, record_digest, root
from watchkeeper.evidence._frameworks import mapping

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def chain(
    actions: list[tuple[str, str, dict[str, Any] | None]], key: bytes | None
) -> list[dict[str, Any]]:
    """Entries hashed by the audit module itself, as the store appends them."""
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for seq, (action, target, after) in enumerate(actions, start=1):
        at = T0 + timedelta(minutes=seq)
        said = {"actor": "ana@corp.example", "action": action, "target": target,
                "system": "bot", "before": None, "after": after, "reason": None}  # fmt: skip
        digest = entry_hash(prev, key=key, at=at, **said)
        entries.append({**said, "at": at.isoformat(), "seq": seq, "prev_hash": prev,
                        "hash": digest, "keyed": key is not None})  # fmt: skip
        prev = digest
    return entries


def bundle(key: bytes | None = None) -> dict[str, Any]:
    records = []
    for rid, kind, audit in (("switch/v1", "switch", [1]), ("finding/7", "finding", [])):
        record = {"id": rid, "kind": kind, "at": T0.isoformat(), "title": rid,
                  "data": {"state": "disabled"}, "audit": audit}  # fmt: skip
        record["digest"] = record_digest(record)
        records.append(record)
    made: dict[str, Any] = {
        "format": FORMAT, "deployment": "d" * 64, "system": "bot", "title": "Bot",
        "period": {"from": T0.isoformat(), "to": (T0 + timedelta(days=1)).isoformat()},
        "exported_at": T0.isoformat(), "exported_by": "ana@corp.example",
        "records": records, "mapping": mapping(records),
    }  # fmt: skip
    made["root"] = root(made)
    entries = chain(
        [("switch.changed", "bot/switch", {"state": "disabled"}),
         ("role.acknowledged", "other/owner", None),
         ("evidence.exported", "bot/evidence", {"root": made["root"]})],
        key,
    )  # fmt: skip
    made["chain"] = {"head": {"seq": 3, "hash": entries[-1]["hash"]}, "keyed": key is not None,
                     "entries": entries}  # fmt: skip
    return made


def test_an_intact_bundle_passes_and_each_alteration_is_named() -> None:
    made = bundle()
    assert verify(made)["ok"]
    cases = {
        "record": lambda b: b["records"][1]["data"].update(state="enabled"),
        "index": lambda b: b.update(exported_by="someone"),
        "entry": lambda b: b["chain"]["entries"][1].update(actor="mallory"),
        "link": lambda b: b["chain"]["entries"].pop(1),
        "cut": lambda b: b["chain"]["entries"].pop(),
        "cite": lambda b: b["chain"]["entries"].pop(0),
    }
    named = {}
    for case, alter in cases.items():
        altered = copy.deepcopy(made)
        alter(altered)
        result = verify(altered)
        assert not result["ok"], case
        named[case] = (result["altered"], result["reason"])
    assert named["record"][0] == "finding/7" and "records[1]" in named["record"][1]
    assert named["index"][0] == "index"
    assert named["entry"] == ("audit/2", "audit entry 2 (role.acknowledged on other/owner) was "
                              "altered: its hash no longer matches its content")  # fmt: skip
    assert named["link"][0] == "audit/3" and "entries are missing" in named["link"][1]
    assert named["cut"][0] == "chain" and "cut short" in named["cut"][1]
    assert named["cite"][0] == "switch/v1" and "cites audit entry 1" in named["cite"][1]


def test_a_keyed_chain_is_linked_without_the_secret_and_recomputed_with_it() -> None:
    key = chain_key("s3cret")
    made = bundle(key)
    unkeyed = verify(made)
    assert (
        unkeyed["ok"]
        and unkeyed["checked"]["unkeyed_hmacs"] == 3
        and "WATCHKEEPER_SECRET" in unkeyed["note"]
    )
    assert verify(made, key)["ok"] and "note" not in verify(made, key)
    made["chain"]["entries"][1]["actor"] = "mallory"
    assert verify(made)["ok"]  # its link still holds: only the secret shows the edit
    assert verify(made, key)["altered"] == "audit/2"
    assert verify(made, chain_key("wrong"))["altered"] == "audit/1"


def test_the_table_says_evidenced_gap_or_no_evidence_for_every_obligation() -> None:
    records = [
        {"id": "switch/v1", "kind": "switch", "data": {}},
        {"id": "retention", "kind": "retention", "data": {}, "gap": "keeps logs 30 days"},
        {"id": "incident/1", "kind": "incident", "data": {"serious": False}},
    ]
    rows = {r["ref"]: r for r in mapping(records)}
    assert len(rows) == len(OBLIGATIONS) == 23
    assert rows["MANAGE 2.4"]["status"] == "evidenced" and rows["MANAGE 2.4"]["records"] == [
        "switch/v1"
    ]
    assert rows["Art. 26(6)"]["status"] == "gap" and rows["Art. 26(6)"]["gaps"] == [
        "retention: keeps logs 30 days"
    ]
    assert rows["Art. 73"]["status"] == "no evidence in this period"  # not a serious incident
    assert rows["MEASURE 3.3"]["records"] == []


def test_the_html_escapes_what_people_wrote_and_links_every_record() -> None:
    made = bundle()
    made["records"][0]["title"] = "<script>alert(1)</script>"
    page = render(made)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "id='rec-switch-v1'" in page and "href='#rec-switch-v1'" in page
    assert page.count("no evidence in this period") >= 1
