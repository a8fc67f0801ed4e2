"""The checks: pure judgements of one window's evidence, each returning findings with reasons.

The engine gathers the evidence (signal series, baselines, contract breaks, drift reports, when
data last arrived) and calls these; nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.manifest import AlertRule, Bound, Severity, Upstream
from watchkeeper.monitor.contract import Break, renames
from watchkeeper.monitor.drift import ColumnDrift, DriftReport
from watchkeeper.monitor.findings import Finding
from watchkeeper.monitor.trend import detect_trend


@dataclass(frozen=True)
class Window:
    system: str
    start: datetime
    end: datetime


def bounds(window: Window, signal: str, bound: Bound, value: float | None) -> list[Finding]:
    """Healthy bounds from the runbook: outside them is unhealthy, whatever the baseline."""
    if value is None:
        return []
    low = bound.min is not None and value < bound.min
    high = bound.max is not None and value > bound.max
    if not (low or high):
        return []
    limit = bound.min if low else bound.max
    return [
        Finding(
            window.system,
            "bounds",
            signal,
            "error",
            f"{signal} = {value:.4g}, {'below' if low else 'above'} its healthy "
            f"{'min' if low else 'max'} {limit:g}",
            window.start,
            window.end,
            evidence={"value": value, "min": bound.min, "max": bound.max},
        )
    ]


def relative_change(
    window: Window, rule: AlertRule, baseline: float | None, value: float | None
) -> list[Finding]:
    """The article's test: has the signal dropped (or risen) by the rule's share vs baseline?"""
    if value is None or baseline is None or baseline == 0 or rule.signal is None:
        return []
    change = (value - baseline) / abs(baseline)
    findings = []
    if rule.drop is not None and change <= -rule.drop:
        findings.append(("drop", f"dropped {-change:.0%} vs baseline (rule: {rule.drop:.0%})"))
    if rule.rise is not None and change >= rule.rise:
        findings.append(("rise", f"rose {change:.0%} vs baseline (rule: {rule.rise:.0%})"))
    return [
        Finding(
            window.system,
            kind,  # type: ignore[arg-type]
            rule.signal,
            rule.severity,
            f"{rule.signal} {text}: {value:.4g} against {baseline:.4g}",
            window.start,
            window.end,
            rule=rule.name,
            evidence={"value": value, "baseline": baseline, "change": change},
        )
        for kind, text in findings
    ]


def threshold(window: Window, rule: AlertRule, value: float | None) -> list[Finding]:
    if value is None or rule.signal is None:
        return []
    below = rule.below is not None and value < rule.below
    above = rule.above is not None and value > rule.above
    if not (below or above):
        return []
    limit = rule.below if below else rule.above
    return [
        Finding(
            window.system,
            "threshold",
            rule.signal,
            rule.severity,
            f"{rule.signal} = {value:.4g}, {'below' if below else 'above'} {limit:g}",
            window.start,
            window.end,
            rule=rule.name,
            evidence={"value": value, "below": rule.below, "above": rule.above},
        )
    ]


def trend(
    window: Window,
    rule: AlertRule,
    series: Sequence[float],
    baseline: float | None,
    bound: float | None,
) -> list[Finding]:
    """A slow slide that has not crossed any bound yet — the one static rules never see."""
    if baseline is None or rule.signal is None or rule.trend is None:
        return []
    result = detect_trend(series, baseline=baseline, direction=rule.trend, bound=bound)
    if not result.fired:
        return []
    eta = result.projected_windows_to_bound
    when = f"; crosses {bound:g} in about {eta:.0f} windows" if eta and bound is not None else ""
    return [
        Finding(
            window.system,
            "trend",
            rule.signal,
            rule.severity,
            f"{rule.signal} is sliding {rule.trend} "
            f"({result.slope_per_window:+.3g} per window){when}",
            window.start,
            window.end,
            rule=rule.name,
            evidence={
                "slope_per_window": result.slope_per_window,
                "windows_to_bound": eta,
                "statistic": result.statistic,
                "reason": result.reason,
                "baseline": baseline,
            },
        )
    ]


def drift(window: Window, rule: AlertRule, report: DriftReport) -> list[Finding]:
    if not report.drifted:
        return []
    columns = {c.column: c for c in report.columns}
    return [
        Finding(
            window.system,
            "drift",
            column,
            rule.severity,
            _drift_summary(columns[column]),
            window.start,
            window.end,
            rule=rule.name,
            evidence={"column": columns[column].to_dict(), "share": report.share},
        )
        for column in report.drifted
    ]


def _drift_summary(verdict: ColumnDrift) -> str:
    if verdict.kind == "embedding":
        moved = verdict.detail.get("drifted_components")
        total = verdict.detail.get("components")
        return (
            f"what the outputs say drifted: {moved} of {total} embedding components moved "
            f"({verdict.score:.0%}, threshold {verdict.threshold:.0%})"
        )
    return (
        f"input {verdict.column!r} drifted ({verdict.method} "
        f"{verdict.score:.3g}, threshold {verdict.threshold:g})"
    )


def embedding_unavailable(window: Window, column: str, hint: str) -> list[Finding]:
    """A drift rule that watches embeddings on a machine without the model. No rule is named, so
    no playbook runs on it; it is stored and listed with the other findings."""
    return [
        Finding(
            window.system,
            "drift",
            column,
            "warning",
            f"embedding drift of {column!r} cannot run: no embedding model here; {hint}",
            window.start,
            window.end,
            evidence={"reason": "no embedding model", "hint": hint},
        )
    ]


def contract(
    window: Window,
    upstream: Upstream,
    breaks: Sequence[Break],
    data_liaison: str | None,
    rule: AlertRule | None = None,
) -> list[Finding]:
    """One finding per break, each naming who to tell: the upstream's contact and our liaison."""
    if not breaks:
        return []
    renamed = renames(breaks)
    severity: Severity = rule.severity if rule else "error"
    return [
        Finding(
            window.system,
            "contract",
            f"{upstream.name}.{b.field}",
            severity,
            f"upstream {upstream.name}: {b.detail}"
            + "".join(
                f" (renamed {old!r} -> {new!r}?)" for old, new in renamed if b.field in (old, new)
            ),
            window.start,
            window.end,
            rule=rule.name if rule else None,
            evidence={
                **b.to_dict(),
                "upstream": upstream.name,
                "team": upstream.team,
                "contact": upstream.contact,
                "data_liaison": data_liaison,
            },
        )
        for b in breaks
    ]


def silence(
    system: str, subject: str, last_seen: datetime | None, since: datetime, now: datetime,
    allowed: timedelta, severity: Severity = "warning", rule: str | None = None,
) -> list[Finding]:  # fmt: skip
    """No data is not health: a stream quiet for longer than allowed is itself a finding."""
    reference = last_seen or since
    quiet = now - reference
    if quiet < allowed:
        return []
    seen = f"last data {last_seen:%Y-%m-%d %H:%M}" if last_seen else "no data ever received"
    return [
        Finding(
            system,
            "silence",
            subject,
            severity,
            f"{subject}: {seen}; quiet for {_human(quiet)} (allowed {_human(allowed)})",
            reference,
            now,
            rule=rule,
            evidence={"last_seen": last_seen.isoformat() if last_seen else None},
        )
    ]


def eval_overdue(
    system: str, suite: str, last_run: datetime | None, since: datetime, every: timedelta,
    now: datetime,
) -> list[Finding]:  # fmt: skip
    due = (last_run or since) + every
    if now < due:
        return []
    return [
        Finding(
            system,
            "eval_overdue",
            suite,
            "warning",
            f"eval suite {suite} overdue by {_human(now - due)} (last run {last_run:%Y-%m-%d})"
            if last_run
            else f"eval suite {suite} has never run (due {due:%Y-%m-%d})",
            due,
            now,
            evidence={"last_run": last_run.isoformat() if last_run else None},
        )
    ]


def baseline_too_small(
    system: str, subject: str, have: int, need: int, what: str, start: datetime, end: datetime
) -> list[Finding]:
    """A baseline too thin to judge against: its checks have no verdict, and that is said,
    never taken for health. One finding per baseline period."""
    return [
        Finding(
            system,
            "baseline",
            subject,
            "warning",
            f"baseline too small for {subject}: {have} of {need} {what} between "
            f"{start:%Y-%m-%d} and {end:%Y-%m-%d}; its checks have no verdict until it is "
            "filled (or spec.runbook.baseline names a period with data)",
            start,
            end,
            evidence={"have": have, "need": need, "unit": what},
        )
    ]


@dataclass(frozen=True)
class Failure:
    """A step of a tick that raised: which system (None for portfolio-wide jobs), which step,
    and the error as `Class: message`."""

    system: str | None
    step: str
    error: str

    def to_dict(self) -> dict[str, str | None]:
        return {"system": self.system, "step": self.step, "error": self.error}


def failure(failed: Failure, now: datetime) -> Finding:
    """A step that failed for a system, as its finding: one a day while it keeps failing (the
    window is the day), never one a tick."""
    assert failed.system is not None
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Finding(
        failed.system,
        "failure",
        failed.step,
        "error",
        f"{failed.step} failed for {failed.system}: {failed.error}",
        day,
        now,
        evidence={"step": failed.step, "error": failed.error},
    )


def _human(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days}d"
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f}h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f}m"
