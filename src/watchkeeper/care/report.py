"""The owner's period report: what the monthly review is based on, built from the store and
rendered as JSON, Markdown, or one self-contained HTML page with inline SVG charts (no CDN, no
script, nothing fetched).

The SVG chart lives here, the lowest layer that draws one, so the dashboard's system page and
this report plot a signal the same way."""

from __future__ import annotations

import functools
import html
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watchkeeper.access import Directory
from watchkeeper.charter.ledger import CareEntry, by_month
from watchkeeper.charter.roles import assignments
from watchkeeper.manifest import Signal, SystemManifest
from watchkeeper.monitor.stats import reviewed_error_rate
from watchkeeper.store import Unit

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


def build(unit: Unit, system: str, start: datetime, end: datetime) -> dict[str, Any]:
    record = unit.system(system)
    assert record is not None
    manifest = SystemManifest.model_validate(record.manifest)
    runbook = manifest.spec.runbook
    directory = Directory.of(unit.people(), unit.teams())
    signals = []
    for name, signal in runbook.signals.items():
        series = unit.monitoring.signal_series(system, name, since=start, until=end)
        bound = runbook.healthy.get(name)
        values = [v for _, _, v, _ in series if v is not None]
        estimates = (
            _estimates(unit, system, name, signal, start, end) if signal.kind == "estimated" else []
        )
        signals.append(
            {
                "name": name,
                "points": [[s.isoformat(), v] for s, _, v, _ in series],
                "min": bound.min if bound else None,
                "max": bound.max if bound else None,
                "latest": values[-1] if values else None,
                "mean": sum(values) / len(values) if values else None,
                "metric": signal.metric,
                "estimates": estimates,
                **estimate_error(estimates),
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


def _estimates(
    unit: Unit, system: str, name: str, signal: Signal, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """An estimated metric's windows in the period, each beside the metric realized on the
    labels that have come since (for a credit model, months after the window was estimated)."""
    from watchkeeper.monitor.engine import stored_windows

    most = math.ceil((end - start) / signal.window) + 1
    return [
        {
            "window_start": w["window_start"].isoformat(),
            **{k: w[k] for k in ("value", "n", "low", "high", "realized", "realized_n")},
        }
        for w in stored_windows(unit, system, name, signal, most)
        if w["window_start"] >= start and w["window_end"] <= end
    ]


def estimate_error(estimates: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How far the estimates were from what the labels later showed: the mean absolute error
    over the windows that have both, and how many those are."""
    gaps = [
        abs(e["value"] - e["realized"])
        for e in estimates
        if e["value"] is not None and e["realized"] is not None
    ]
    return {"mae": sum(gaps) / len(gaps) if gaps else None, "compared": len(gaps)}


def markdown(report: dict[str, Any]) -> str:
    return f"# {title(report)}\n\n{_sections(report)}"


def title(report: dict[str, Any]) -> str:
    return (
        f"{report['system']} — report {report['period']['start'][:10]} to "
        f"{report['period']['end'][:10]}"
    )


def _sections(report: dict[str, Any]) -> str:
    lines = [
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
        *_estimated(report["signals"]),
        f"## Findings ({report['findings']['count']})",
        "",
        *_listed(f"- {k}: {v}" for k, v in sorted(report["findings"]["by_check"].items())),
        "",
        "## Incidents",
        "",
        *_listed(
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
        *_listed(
            f"- {e['started_at'][:10]} {e['suite']}: pass rate {e['pass_rate']:.1%}"
            for e in report["evals"]
        ),
        "",
        "## Kill switch",
        "",
        *_listed(
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


def _estimated(signals: Sequence[dict[str, Any]]) -> list[str]:
    """Per estimated metric, each window's estimate beside the metric realized on its labels,
    and how far off the estimates were: whether the estimate can be trusted before labels."""
    lines = []
    for s in signals:
        if s.get("metric") is None:
            continue
        error = (
            f"mean absolute error {s['mae']:.3g} over {s['compared']} window(s) with labels"
            if s["mae"] is not None
            else "no labels yet for this period's windows"
        )
        lines += [
            f"## {s['name']}: estimated {s['metric']} against realized",
            "",
            f"{error}.",
            "",
            "| window | estimate | interval | realized | labels |",
            "|---|---|---|---|---|",
            *(
                f"| {e['window_start'][:16].replace('T', ' ')} | {_num(e['value'])} | "
                f"{_interval(e['low'], e['high'])} | {_num(e['realized'])} | {e['realized_n']} |"
                for e in s["estimates"]
            ),
            "",
        ]
    return lines


def _interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{low:.3g}–{high:.3g}"


def _listed(items: Iterable[str]) -> list[str]:
    """A section's items, or a line saying there were none: an empty heading reads as broken."""
    return list(items) or ["- none in this period"]


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


# --- charts: shared with the dashboard, which draws the same SVG inside its own pages ----------

WIDTH, HEIGHT = 640, 236
LEFT, RIGHT, TOP, BOTTOM = 62, 14, 12, 46
VALUE_TICKS = 5
TIME_TICKS = 4


@dataclass(frozen=True)
class Series:
    """A signal over time: x is time (a window without data stays a gap), y its value."""

    name: str
    points: Sequence[tuple[datetime, float | None]]  # window start, value (None: no data)
    low: float | None  # healthy min
    high: float | None  # healthy max
    baseline: float | None
    start: datetime
    end: datetime
    # an estimated metric: its interval per window, and what the labels later showed
    band: Sequence[tuple[datetime, float, float]] = ()
    realized: Sequence[tuple[datetime, float]] = ()

    def outside(self, value: float) -> bool:
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def signal_chart(series: Series) -> str:
    """Plain SVG, no script: axes with dated and numbered ticks, the healthy band with each
    bound's value written on its line, the baseline, and a cross on every window outside the
    bounds, so the chart reads in grey scale and to colour-blind eyes. The accessible name
    summarises it in words."""
    values = [v for _, v in series.points if v is not None]
    if not values:
        return f'<p class="empty">No values for {html.escape(series.name)} in this period.</p>'
    marks = [b for b in (series.low, series.high, series.baseline) if b is not None]
    marks += [v for _, lo, hi in series.band for v in (lo, hi)]
    marks += [v for _, v in series.realized]
    low, high = min(values + marks), max(values + marks)
    pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
    # values that are never negative (rates, counts) do not get a negative axis
    ticks = value_ticks((max(0.0, low - pad) if low >= 0 else low - pad), high + pad)
    low, high = ticks[0], ticks[-1]
    span_t = (series.end - series.start).total_seconds() or 1.0

    def x(at: datetime) -> float:
        share = (at - series.start).total_seconds() / span_t
        return LEFT + (WIDTH - LEFT - RIGHT) * min(1.0, max(0.0, share))

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))

    parts = [_value_axis(series.name, ticks, y), _time_axis(series, x)]
    parts.append(_healthy(series, y, low, high))
    if series.baseline is not None:
        b = y(series.baseline)
        parts.append(
            f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{b:.1f}" y2="{b:.1f}"/>'
            f'<text class="label" x="{LEFT + 4}" y="{b - 4:.1f}">'
            f"baseline {_fmt(series.baseline)}</text>"
        )
    parts.append(_band(series.band, x, y))
    for run in _runs(series.points):
        line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
        parts.append(f'<polyline class="series" points="{line}"/>')
    for when, labelled in series.realized:
        parts.append(
            f'<circle class="realized" cx="{x(when):.1f}" cy="{y(labelled):.1f}" r="3.5"/>'
        )
    for at, value in series.points:
        if value is not None and series.outside(value):
            cx, cy = x(at), y(value)
            parts.append(f'<path class="breach" d="M{cx - 4:.1f},{cy - 4:.1f}l8,8m0,-8l-8,8"/>')
    breaches = sum(1 for v in values if series.outside(v))
    summary = html.escape(
        f"{series.name}: {len(values)} windows from {series.start:%Y-%m-%d} to "
        f"{series.end:%Y-%m-%d}; latest {_fmt(values[-1])}"
        + (f"; healthy {bounds_text(series.low, series.high)}" if marks else "")
        + (f"; baseline {_fmt(series.baseline)}" if series.baseline is not None else "")
        + f"; {breaches} window(s) outside the healthy bounds"
        + _estimate_summary(series)
    )
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{summary}">'
        f"<title>{summary}</title>{''.join(parts)}</svg>"
    )


def _band(
    band: Sequence[tuple[datetime, float, float]],
    x: Callable[[datetime], float],
    y: Callable[[float], float],
) -> str:
    """The estimate's interval shaded: out along the high ends, back along the low ones."""
    if not band:
        return ""
    upper = [f"{x(at):.1f},{y(hi):.1f}" for at, _, hi in band]
    lower = [f"{x(at):.1f},{y(lo):.1f}" for at, lo, _ in reversed(band)]
    return f'<polygon class="band" points="{" ".join(upper + lower)}"/>'


def _estimate_summary(series: Series) -> str:
    """The chart's words for an estimate: its interval, and how near the labels came to it."""
    if not series.band and not series.realized:
        return ""
    estimated = {at: v for at, v in series.points if v is not None}
    gaps = [abs(estimated[at] - v) for at, v in series.realized if at in estimated]
    said = f"; interval shaded on {len(series.band)} window(s)"
    if not gaps:
        return said + "; no labels yet to compare"
    return (
        f"{said}; realized on {len(gaps)} window(s), mean absolute error "
        f"{_fmt(sum(gaps) / len(gaps))}"
    )


def estimate_series(
    name: str,
    windows: Sequence[dict[str, Any]],
    low: float | None,
    high: float | None,
    baseline: float | None,
    start: datetime,
    end: datetime,
) -> Series:
    """An estimated metric's windows (as `Operations.signals` or the report list them: ISO
    starts, value, low, high, realized) as the chart's series, interval and realized points."""
    at = [datetime.fromisoformat(w["window_start"]) for w in windows]
    return Series(
        name,
        [(t, w["value"]) for t, w in zip(at, windows, strict=True)],
        low,
        high,
        baseline,
        start,
        end,
        band=[
            (t, w["low"], w["high"])
            for t, w in zip(at, windows, strict=True)
            if w["low"] is not None and w["high"] is not None
        ],
        realized=[
            (t, w["realized"])
            for t, w in zip(at, windows, strict=True)
            if w["realized"] is not None
        ],
    )


def bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {_fmt(low)} and {_fmt(high)}"
    if low is not None:
        return f"at least {_fmt(low)}"
    if high is not None:
        return f"at most {_fmt(high)}"
    return "no bounds set"


def value_ticks(low: float, high: float) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) from just below `low` to just
    above `high`, about VALUE_TICKS of them: the axis then runs from the first to the last, so
    every value plotted lies between two numbered lines."""
    raw = (high - low) / (VALUE_TICKS - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    count = math.ceil((high - first) / step - 1e-9) + 1
    return [round(first + i * step, 12) for i in range(count)]


def _runs(
    points: Sequence[tuple[datetime, float | None]],
) -> list[list[tuple[datetime, float]]]:
    """Consecutive windows with values: a window without data breaks the line."""
    runs: list[list[tuple[datetime, float]]] = [[]]
    for at, value in points:
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((at, value))
    return [r for r in runs if r]


def _value_axis(name: str, ticks: list[float], y: Callable[[float], float]) -> str:
    """The plot's frame, a grid line and a number at each tick, the signal's name along it."""
    bottom = HEIGHT - BOTTOM
    middle = (TOP + bottom) / 2
    out = [
        f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{bottom - TOP}"/>',
        f'<text class="axis" transform="translate(12 {middle:.1f}) rotate(-90)" '
        f'text-anchor="middle">{html.escape(name)}</text>',
    ]
    for tick in ticks:
        at = y(tick)
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
            f'<text class="tick" x="{LEFT - 5}" y="{at + 4:.1f}" text-anchor="end">'
            f"{_fmt(tick)}</text>"
        )
    return "".join(out)


def _time_axis(series: Series, x: Callable[[datetime], float]) -> str:
    """Dates under the plot (with the hour when it spans under two days), and what x is."""
    span = series.end - series.start
    shape = "%Y-%m-%d" if span >= timedelta(days=2) else "%m-%d %H:%M"
    bottom = HEIGHT - BOTTOM
    out = []
    for i in range(TIME_TICKS + 1):
        at = series.start + span * i / TIME_TICKS
        anchor = "start" if i == 0 else "end" if i == TIME_TICKS else "middle"
        out.append(
            f'<line class="grid" x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{bottom}" '
            f'y2="{bottom + 4}"/>'
            f'<text class="tick" x="{x(at):.1f}" y="{bottom + 16}" text-anchor="{anchor}">'
            f"{at.strftime(shape)}</text>"
        )
    out.append(
        f'<text class="axis" x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 6}" '
        f'text-anchor="middle">window start (UTC)</text>'
    )
    return "".join(out)


def _healthy(series: Series, y: Callable[[float], float], low: float, high: float) -> str:
    """The healthy band shaded, each bound a dashed line with its value written on it."""
    if series.low is None and series.high is None:
        return ""
    top = y(series.high if series.high is not None else high)
    bottom = y(series.low if series.low is not None else low)
    out = [
        f'<rect class="healthy" x="{LEFT}" y="{top:.1f}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{max(0.0, bottom - top):.1f}"/>'
    ]
    for label, bound in (("healthy min", series.low), ("healthy max", series.high)):
        if bound is None:
            continue
        at = y(bound)
        out.append(
            f'<line class="bound" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
            f'<text class="label" x="{WIDTH - RIGHT - 4}" y="{at - 4:.1f}" text-anchor="end">'
            f"{label} {_fmt(bound)}</text>"
        )
    return "".join(out)


# --- the one-file HTML page --------------------------------------------------------------------


@functools.cache
def _markdown() -> MarkdownIt:
    """Raw HTML in the Markdown stays text, and images are off: a reason or a title someone
    typed can neither add markup nor make the page fetch anything. Built on first use: every
    command that reaches `Operations` imports this module, and only the HTML report renders."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")


# Nothing may load from anywhere: the page is one file, read offline and mailed around.
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body{font:15px/1.5 system-ui,"DejaVu Sans",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1b1f24}
h2{border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
table{border-collapse:collapse}th,td{text-align:left;padding:.3rem .6rem;
border-bottom:1px solid #d0d7de}
svg.chart{width:100%;height:auto;display:block;background:#fff}
svg .frame{fill:none;stroke:#d0d7de}svg .grid{stroke:#eaeef2}
svg .healthy{fill:#dafbe1;opacity:.6}
svg .bound{stroke:#116329;stroke-width:1.5;stroke-dasharray:6 4}
svg .baseline{stroke:#57606a;stroke-width:1.5;stroke-dasharray:2 3}
svg .series{fill:none;stroke:#0a58ca;stroke-width:2}
svg .breach{stroke:#a40e26;stroke-width:2.5;fill:none}
svg .band{fill:#0a58ca;opacity:.15}
svg .realized{fill:#fff;stroke:#8250df;stroke-width:2}
svg .tick,svg .label{font-size:11px;fill:#57606a}svg .axis{font-size:12px;fill:#1b1f24}
"""


def report_chart(report: dict[str, Any], signal: dict[str, Any]) -> str:
    start = datetime.fromisoformat(report["period"]["start"])
    end = datetime.fromisoformat(report["period"]["end"])
    if signal.get("estimates"):
        return signal_chart(
            estimate_series(
                signal["name"], signal["estimates"], signal["min"], signal["max"], None, start, end
            )
        )
    return signal_chart(
        Series(
            signal["name"],
            [(datetime.fromisoformat(at), value) for at, value in signal["points"]],
            signal["min"],
            signal["max"],
            None,
            start,
            end,
        )
    )


def details_html(report: dict[str, Any]) -> str:
    """The Markdown report's sections as HTML, each heading a level down: they sit under the
    page's own "Details" heading."""
    markdown = _markdown()
    tokens = markdown.parse(_sections(report))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + 1)}"
    return str(markdown.renderer.render(tokens, markdown.options, {}))


def html_page(report: dict[str, Any]) -> str:
    charts = "".join(
        f"<section><h3>{html.escape(s['name'])}</h3>{report_chart(report, s)}</section>"
        for s in report["signals"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{html.escape(report["system"])} report</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title(report))}</h1>
<h2>Signals against healthy bounds</h2>{charts}
<h2>Details</h2>
{details_html(report)}</body></html>
"""
