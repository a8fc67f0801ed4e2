"""Server-side SVG charts of a signal over time, against its healthy bounds and its baseline.

The period report's `svg_chart` (care.report) plots values by index for a printed page; here the
x axis is time (gaps stay gaps), and the baseline the relative-drop rule compares against is drawn
too, because "is this worse than normal?" is the dashboard's question. Windows outside the healthy
bounds get a cross as well as a colour, so the chart reads in grey scale and to colour-blind eyes.
No script, no external asset: the SVG is inline in the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 26


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float | None]]  # window start, value (None: no data)
    low: float | None  # healthy min
    high: float | None  # healthy max
    baseline: float | None
    start: datetime
    end: datetime

    def outside(self, value: float) -> bool:
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def signal_chart(series: Series) -> Markup:
    values = [v for _, v in series.points if v is not None]
    if not values:
        return Markup('<p class="empty">No values recorded for {} yet.</p>').format(series.name)
    marks = [b for b in (series.low, series.high, series.baseline) if b is not None]
    low, high = min(values + marks), max(values + marks)
    pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
    # values that are never negative (rates, counts) do not get a negative axis
    low, high = (max(0.0, low - pad) if low >= 0 else low - pad), high + pad
    span_t = (series.end - series.start).total_seconds() or 1.0

    def x(at: datetime) -> float:
        share = (at - series.start).total_seconds() / span_t
        return LEFT + (WIDTH - LEFT - RIGHT) * min(1.0, max(0.0, share))

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))

    parts: list[str] = [_frame(low, high), _time_axis(series, x)]
    parts.append(_healthy(series, y, low, high))
    if series.baseline is not None:
        b = y(series.baseline)
        parts.append(
            f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{b:.1f}" y2="{b:.1f}"/>'
            f'<text class="label" x="{LEFT + 4}" y="{b - 4:.1f}">'
            f"baseline {_fmt(series.baseline)}</text>"
        )
    for run in _runs(series.points):
        line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
        parts.append(f'<polyline class="series" points="{line}"/>')
    for at, value in series.points:
        if value is not None and series.outside(value):
            cx, cy = x(at), y(value)
            parts.append(f'<path class="breach" d="M{cx - 4:.1f},{cy - 4:.1f}l8,8m0,-8l-8,8"/>')
    latest = values[-1]
    breaches = sum(1 for v in values if series.outside(v))
    summary = (
        f"{series.name}: {len(values)} windows from {series.start:%Y-%m-%d} to "
        f"{series.end:%Y-%m-%d}; latest {_fmt(latest)}"
        + (f"; healthy {bounds_text(series.low, series.high)}" if marks else "")
        + (f"; baseline {_fmt(series.baseline)}" if series.baseline is not None else "")
        + f"; {breaches} window(s) outside the healthy bounds"
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}"><title>{escape(summary)}</title>{"".join(parts)}</svg>'
    )


def bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {_fmt(low)} and {_fmt(high)}"
    if low is not None:
        return f"at least {_fmt(low)}"
    if high is not None:
        return f"at most {_fmt(high)}"
    return "no bounds set"


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


def _frame(low: float, high: float) -> str:
    bottom, top = HEIGHT - BOTTOM, TOP
    return (
        f'<rect class="frame" x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{bottom - top}"/>'
        f'<text class="tick" x="{LEFT - 4}" y="{top + 8}" text-anchor="end">{_fmt(high)}</text>'
        f'<text class="tick" x="{LEFT - 4}" y="{bottom}" text-anchor="end">{_fmt(low)}</text>'
    )


def _time_axis(series: Series, x: Callable[[datetime], float]) -> str:
    ticks = 4
    span = series.end - series.start
    labels = []
    for i in range(ticks + 1):
        at = series.start + span * i / ticks
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        labels.append(
            f'<text class="tick" x="{x(at):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{at:%b %d}</text>"
        )
    return "".join(labels)


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
