"""The bundle as one HTML page an auditor reads offline: no script, no font, nothing fetched.

It opens with the obligations table — each NIST AI RMF subcategory and AI Act article, what
answers it, and links to the records — because that is the question an audit starts from; the
records follow by kind, each stamped with its audit entries and digest so a reader can hold any
line against `wk evidence verify`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

KINDS = {
    "plan": "Post-market monitoring plan (EU AI Act Art. 72; NIST MANAGE 4.1)",
    "manifest": "Manifest versions in force",
    "gate": "Go-live gate",
    "ack": "Acknowledgements and re-attestations of roles",
    "retention": "Retention of logs (Art. 19(1), 26(6))",
    "finding": "Findings of the monitoring checks",
    "incident": "Incidents and their escalation timelines",
    "knowledge": "Postmortems, decisions, failure modes and near-misses",
    "review": "Owner reviews",
    "care": "Care given",
    "switch": "Kill-switch flips (Art. 14(4)(e))",
    "drill": "Kill-switch drills",
    "triage": "Triage of flagged outputs",
    "eval": "Eval runs",
    "rehearsal": "Runbook rehearsals",
    "chain": "Audit log (Art. 12)",
}
_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ccd;margin-top:2rem}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #dde;padding:.3rem .5rem;
vertical-align:top;text-align:left}th{background:#f3f4f7}.none{color:#9a3412;font-weight:600}
.gap{color:#b91c1c;font-weight:600}code{font-size:12px;word-break:break-all}
article{border:1px solid #e3e5ea;border-radius:4px;padding:.4rem .8rem;margin:.5rem 0}
.stamp{color:#555;font-size:12px}h3{font-size:1rem;margin:.6rem 0 .2rem}
dl{margin:.2rem 0 .2rem 1rem}dt{font-weight:600}
dd{margin-left:1rem}:target{outline:2px solid #2563eb}
"""


def render(bundle: Mapping[str, Any]) -> str:
    records: Sequence[Mapping[str, Any]] = bundle["records"]
    head = bundle["chain"]["head"]
    period = bundle["period"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Evidence: {escape(bundle['system'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evidence bundle — {escape(str(bundle['title']))} (<code>{escape(bundle['system'])}"
        "</code>)</h1>",
        "<table>",
        _row("Period", f"{escape(period['from'])} to {escape(period['to'])} (end excluded)"),
        _row("Exported", f"{escape(bundle['exported_at'])} by {escape(bundle['exported_by'])}"),
        _row("Deployment", f"<code>{escape(str(bundle['deployment']))}</code>"),
        _row(
            "Audit chain head at export",
            f"entry {head['seq']}, <code>{escape(head['hash'])}</code>",
        ),
        _row("Bundle root", f"<code>{escape(bundle['root'])}</code>"),
        _row(
            "How to check it",
            "<code>wk evidence verify FILE</code> recomputes every digest and the chain offline "
            "and names the first record altered.",
        ),
        "</table>",
        "<h2 id='obligations'>Obligations and the evidence for them</h2>",
        _mapping(bundle["mapping"], {r["id"]: r for r in records}),
    ]
    for kind, heading in KINDS.items():
        of_kind = [r for r in records if r["kind"] == kind]
        parts.append(f"<h2 id='kind-{kind}'>{escape(heading)}</h2>")
        parts += [_record(r) for r in of_kind] or ["<p class='none'>none in this period</p>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def anchor(record_id: str) -> str:
    return "rec-" + "".join(c if c.isalnum() else "-" for c in record_id)


def _row(name: str, value: str) -> str:
    return f"<tr><th>{escape(name)}</th><td>{value}</td></tr>"


def _mapping(rows: Sequence[Mapping[str, Any]], by_id: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [
        "<table><tr><th>Framework</th><th>Reference</th><th>What it asks</th>"
        "<th>What answers it</th><th>Records</th></tr>"
    ]
    for row in rows:
        links = ", ".join(
            f"<a href='#{anchor(i)}'>{escape(str(by_id[i]['title']) if i in by_id else i)}</a>"
            for i in row["records"][:12]
        )
        more = len(row["records"]) - 12
        if more > 0:
            links += f" and {more} more"
        gaps = "".join(f"<div class='gap'>gap: {escape(g)}</div>" for g in row["gaps"])
        cell = (links or "<span class='none'>no evidence in this period</span>") + gaps
        lines.append(
            f"<tr id='{anchor(row['ref'])}'><td>{escape(row['framework'])}</td>"
            f"<td><b>{escape(row['ref'])}</b></td><td>{escape(row['text'])}</td>"
            f"<td>{escape(row['evidence'])}</td><td>{cell}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def _record(record: Mapping[str, Any]) -> str:
    audit = record.get("audit") or []
    stamp = (
        "audit entr" + ("ies " if len(audit) > 1 else "y ") + ", ".join(f"#{s}" for s in audit)
        if audit
        else "no audit entry (recorded by the stage itself)"
    )
    gap = f"<p class='gap'>{escape(record['gap'])}</p>" if record.get("gap") else ""
    body = {"incident": _timeline, "plan": _plan}.get(record["kind"], lambda _: "")(record)
    return (
        f"<article id='{anchor(record['id'])}'><b>{escape(str(record['title']))}</b> "
        f"<span class='stamp'>{escape(record['at'])} · {escape(record['id'])} · {stamp} · "
        f"digest <code>{escape(record['digest'][:16])}</code></span>{gap}{body}"
        f"<details><summary>Details</summary>{_value(record['data'])}</details></article>"
    )


def _timeline(record: Mapping[str, Any]) -> str:
    events = record["data"].get("timeline") or []
    rows = "".join(
        f"<tr><td>{escape(str(e.get('at')))}</td><td>{escape(str(e.get('kind')))}</td>"
        f"<td>{escape(str(e.get('actor')))}</td><td>{escape(str(e.get('text', '')))}</td></tr>"
        for e in events
    )
    return f"<table><tr><th>At</th><th>Step</th><th>By</th><th>What</th></tr>{rows}</table>"


def _plan(record: Mapping[str, Any]) -> str:
    """The runbook in the words of a post-market monitoring plan (Art. 72(3)): what is watched
    and what healthy means, when it alerts, who is told and when, what is done, how it is
    tested and stopped — each read straight from the manifest in force."""
    plan = record["data"]
    runbook = plan.get("runbook") or {}
    healthy = runbook.get("healthy") or {}
    watched = [
        f"<b>{escape(name)}</b> ({escape(_words(signal))})"
        + (f" — healthy {escape(_words(healthy[name]))}" if name in healthy else "")
        for name, signal in (runbook.get("signals") or {}).items()
    ]
    alerts = [escape(_words(rule)) for rule in runbook.get("alerts") or []]
    levels = [
        f"after {escape(str(level.get('after', '0m')))}: "
        f"{escape(', '.join(level.get('notify') or []))}"
        for level in (runbook.get("escalation") or {}).get("levels") or []
    ]
    playbooks = [
        f"<b>{escape(name)}</b>: {escape('; '.join(book.get('steps') or []) or _words(book))}"
        for name, book in (runbook.get("playbooks") or {}).items()
    ]
    evals = [escape(_words(suite)) for suite in plan.get("evals") or []]
    upstream = [escape(_words(u)) for u in plan.get("upstream") or []]
    parts = [
        ("What is watched, and what healthy means", watched),
        ("When it alerts", alerts),
        ("Who is told, and when (escalation)", levels),
        ("What is done (playbooks)", playbooks),
        ("How it is tested (eval suites)", evals),
        ("Where its inputs come from (upstream contracts)", upstream),
        ("Who answers for it (charter)", [escape(_words(plan.get("charter") or {}))]),
        ("How it is stopped (kill switch)", [escape(_words(plan.get("kill_switch") or {}))]),
    ]
    return "".join(
        f"<h3>{escape(title)}</h3><ul>"
        + ("".join(f"<li>{item}</li>" for item in items) or "<li><i>none written</i></li>")
        + "</ul>"
        for title, items in parts
    )


def _words(value: Any) -> str:
    """A manifest fragment on one line (`key: value, ...`), without the keys left unset: the
    stored manifest spells out every default as null."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_words(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "[" + ", ".join(_words(v) for v in value) + "]"
    return str(value)


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "<i>none</i>"
        items = "".join(f"<dt>{escape(str(k))}</dt><dd>{_value(v)}</dd>" for k, v in value.items())
        return f"<dl>{items}</dl>"
    if isinstance(value, list):
        if not value:
            return "<i>none</i>"
        return "<ul>" + "".join(f"<li>{_value(v)}</li>" for v in value) + "</ul>"
    return escape("—" if value is None else str(value))
