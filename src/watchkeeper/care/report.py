"""The owner's period report: what the monthly review is based on, built from the store and
rendered as JSON, Markdown, or a self-contained HTML page with inline SVG charts (no CDN)."""

from __future__ import annotations

import html
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.access import Directory
from watchkeeper.charter.ledger import CareEntry, by_month
from watchkeeper.charter.roles import assignments
from watchkeeper.manifest import SystemManifest
from watchkeeper.monitor.stats import reviewed_error_rate
from watchkeeper.store import Unit


def build(unit: Unit, system: str, start: datetime, end: datetime) -> dict[str, Any]:
    record = unit.system(system)
    assert record is not None
    manifest = SystemManifest.model_validate(record.manifest)
    runbook = manifest.spec.runbook
    directory = Directory.of(unit.people(), unit.teams())
    signals = []
    for name in runbook.signals:
        series = unit.monitoring.signal_series(system, name, since=start, until=end)
        bound = runbook.healthy.get(name)
        values = [v for _, _, v, _ in series if v is not None]
        signals.append(
            {
                "name": name,
                "points": [[s.isoformat(), v] for s, _, v, _ in series],
                "min": bound.min if bound else None,
                "max": bound.max if bound else None,
                "latest": values[-1] if values else None,
                "mean": sum(values) / len(values) if values else None,
            }
        )
    findings = [
        f for f in unit.monitoring.findings(system, limit=5000) if start <= f.created_at < end
    ]
    incidents = [
        i for i in unit.alerting.incidents(system, limit=1000) if start <= i.opened_at < end
    ]
    evals = [r for r in unit.care.eval_runs(system, limit=1000) if start <= r.started_at < end]
    switch = [
        e
        for e in unit.audit_entries(system=system, since=start)
        if e.action == "switch.changed" and e.at < end
    ]
    entries = [
        CareEntry(e.at, e.hours, e.kind, e.by, e.note) for e in unit.care.care_entries(system)
    ]
    budget = manifest.spec.care.hours_per_month if manifest.spec.care else 0.0
    queue = unit.care.triage_items(system, limit=100_000)
    done = [
        i for i in queue if i.status == "done" and i.reviewed_at and start <= i.reviewed_at < end
    ]
    open_items = [i for i in queue if i.status == "open"]
    sample = reviewed_error_rate([i.verdict or "" for i in done if i.condition == "sample"])
    return {
        "system": system,
        "title": manifest.metadata.title,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "charter": [
            a.to_dict()
            for a in assignments(manifest.spec.charter, directory, unit.acks(system), end)
        ],
        "signals": signals,
        "findings": {
            "count": len(findings),
            "by_check": dict(Counter(f.check for f in findings)),
            "latest": [
                {
                    "created_at": f.created_at.isoformat(),
                    "check": f.check,
                    "severity": f.severity,
                    "summary": f.summary,
                }
                for f in findings[:20]
            ],
        },
        "incidents": [
            {
                "id": i.id,
                "severity": i.severity,
                "status": i.status,
                "title": i.title,
                "opened_at": i.opened_at.isoformat(),
                "minutes_to_ack": round((i.acknowledged_at - i.opened_at) / timedelta(minutes=1))
                if i.acknowledged_at
                else None,
            }
            for i in incidents
        ],
        "evals": [
            {"suite": r.suite, "started_at": r.started_at.isoformat(), "pass_rate": r.pass_rate}
            for r in reversed(evals)
        ],
        "switch": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "state": (e.after or {}).get("state"),
                "reason": e.reason,
            }
            for e in switch
        ],
        "care": {
            "budget": budget,
            "months": [
                m.to_dict() for m in by_month(entries, budget, start, end - timedelta(seconds=1))
            ],
        },
        "triage": {
            "open": len(open_items),
            "oldest_days": round(
                max(((end - i.queued_at) / timedelta(days=1) for i in open_items), default=0), 1
            ),
            "verdicts": dict(Counter(i.verdict for i in done)),
            "sample_error_rate": sample.to_dict(),
        },
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# {report['system']} — report {report['period']['start'][:10]} to "
        f"{report['period']['end'][:10]}",
        "",
        "## Charter",
        "",
        *(
            f"- {a['role']}: {a['holder']} ({a['ack']}{'' if a['active'] else ', INACTIVE'})"
            for a in report["charter"]
        ),
        "",
        "## Signals",
        "",
        "| signal | latest | mean | healthy |",
        "|---|---|---|---|",
        *(
            f"| {s['name']} | {_num(s['latest'])} | {_num(s['mean'])} | {_bounds(s)} |"
            for s in report["signals"]
        ),
        "",
        f"## Findings ({report['findings']['count']})",
        "",
        *(f"- {k}: {v}" for k, v in sorted(report["findings"]["by_check"].items())),
        "",
        "## Incidents",
        "",
        *(
            f"- #{i['id']} [{i['severity']}] {i['title']} — {i['status']}"
            + (
                f", acknowledged after {i['minutes_to_ack']} min"
                if i["minutes_to_ack"] is not None
                else ""
            )
            for i in report["incidents"]
        ),
        "",
        "## Evals",
        "",
        *(
            f"- {e['started_at'][:10]} {e['suite']}: pass rate {e['pass_rate']:.1%}"
            for e in report["evals"]
        ),
        "",
        "## Kill switch",
        "",
        *(
            f"- {s['at'][:16]} {s['state']} by {s['actor']}: {s['reason']}"
            for s in report["switch"]
        ),
        "",
        "## Care given",
        "",
        *(f"- {m['month']}: {m['given']} of {m['planned']} h" for m in report["care"]["months"]),
        "",
        "## Triage",
        "",
        f"- open items: {report['triage']['open']} (oldest {report['triage']['oldest_days']} days)",
        f"- verdicts: {report['triage']['verdicts'] or 'none'}",
        f"- reviewed error rate (random sample): {_rate(report['triage']['sample_error_rate'])}",
    ]
    return "\n".join(line for line in lines if line is not None) + "\n"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _bounds(signal: dict[str, Any]) -> str:
    parts = []
    if signal["min"] is not None:
        parts.append(f">= {signal['min']:g}")
    if signal["max"] is not None:
        parts.append(f"<= {signal['max']:g}")
    return " and ".join(parts) or "-"


def _rate(rate: dict[str, Any]) -> str:
    if rate["rate"] is None:
        return "no reviewed sample"
    return (
        f"{rate['rate']:.1%} (95% CI {rate['low']:.1%}–{rate['high']:.1%}, "
        f"{rate['errors']}/{rate['reviewed']})"
    )


def svg_chart(signal: dict[str, Any], width: int = 560, height: int = 140) -> str:
    """A line of the signal with its healthy bounds as dashed lines; plain SVG, no scripts."""
    points = [(p[0], p[1]) for p in signal["points"] if p[1] is not None]
    if not points:
        return f'<p class="empty">No values for {html.escape(signal["name"])} in this period.</p>'
    values: list[float] = [v for _, v in points]
    values += [b for b in (signal["min"], signal["max"]) if b is not None]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad = 6

    def y(value: float) -> float:
        return pad + (height - 2 * pad) * (1 - (value - low) / span)

    step = (width - 2 * pad) / max(1, len(points) - 1)
    line = " ".join(f"{pad + i * step:.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    bounds = "".join(
        f'<line x1="{pad}" x2="{width - pad}" y1="{y(b):.1f}" y2="{y(b):.1f}" class="bound"/>'
        f'<text x="{width - pad}" y="{y(b) - 3:.1f}" text-anchor="end">{label} {b:g}</text>'
        for label, b in (("min", signal["min"]), ("max", signal["max"]))
        if b is not None
    )
    title = html.escape(f"{signal['name']}: {len(points)} windows, latest {points[-1][1]:.4g}")
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
        f"<title>{title}</title>{bounds}"
        f'<polyline points="{line}" class="series"/></svg>'
    )


def html_page(report: dict[str, Any]) -> str:
    body = markdown(report)
    charts = "".join(
        f"<section><h3>{html.escape(s['name'])}</h3>{svg_chart(s)}</section>"
        for s in report["signals"]
    )
    text = html.escape(body)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{html.escape(report["system"])} report</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
svg{{width:100%;height:auto;border:1px solid #ccc;background:#fafafa}}
.series{{fill:none;stroke:#1f5fbf;stroke-width:2}}
.bound{{stroke:#b3261e;stroke-dasharray:6 4}}
text{{font-size:11px;fill:#b3261e}}
pre{{white-space:pre-wrap}}
</style></head><body>
<h1>{html.escape(report["system"])}: period report</h1>
<h2>Signals against healthy bounds</h2>{charts}
<h2>Details</h2><pre>{text}</pre>
</body></html>
"""
