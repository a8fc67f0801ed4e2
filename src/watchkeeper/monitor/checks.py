"""The checks: pure judgements of one window's evidence, each returning findings with reasons.

The engine gathers the evidence (signal series, baselines, contract breaks, drift reports, when
data last arrived) and calls these; nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.manifest import AlertRule, Bound, Severity, Upstream
from watchkeeper.monitor.calibration import (
    DriftCalibration,
    DriftScore,
    Judgement,
    Noise,
    Side,
    judge,
)
from watchkeeper.monitor.contract import Break, renames
from watchkeeper.monitor.drift import ColumnDrift, DriftReport
from watchkeeper.monitor.findings import CheckKind, Finding
from watchkeeper.monitor.trend import DEFAULT_LIMIT, detect_trend


@dataclass(frozen=True)
class Window:
    system: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Sampling:
    """What a window's value is judged with: its rows, the signal's noise measured on the
    baseline, the check's share of the alarm budget, and the baseline's own error when the
    value is compared with it."""

    rows: int
    noise: Noise
    alpha: float
    baseline_error: float = 0.0


def _judge(value: float, limit: float, side: Side, sampling: Sampling | None) -> Judgement:
    if sampling is None:
        return judge(value, 0, limit, side, Noise(rate=False), 0.5)
    return judge(
        value, sampling.rows, limit, side, sampling.noise, sampling.alpha, sampling.baseline_error
    )


def _undecided(
    window: Window, subject: str, kind: str, text: str, judged: Judgement, sampling: Sampling
) -> Finding:
    """Beyond the limit, but not beyond doubt: recorded under no rule, so it never pages."""
    return Finding(
        window.system,
        "undecided",
        f"{subject} ({kind})",
        "info",
        f"{text}, but {sampling.rows} rows are too few to tell "
        f"(interval {judged.low:.3g} to {judged.high:.3g})",
        window.start,
        window.end,
        evidence={"check": kind, "low": judged.low, "high": judged.high, "rows": sampling.rows},
    )


def _interval(judged: Judgement, sampling: Sampling | None) -> dict[str, float | int | None]:
    if sampling is None:
        return {}
    return {"low": judged.low, "high": judged.high, "rows": sampling.rows, "z": judged.z}


def bounds(
    window: Window, signal: str, bound: Bound, value: float | None, sampling: Sampling | None = None
) -> list[Finding]:
    """Healthy bounds from the runbook: outside them is unhealthy, whatever the baseline. With
    `sampling`, only a window whose interval is wholly outside is a breach."""
    if value is None:
        return []
    limits = [
        (limit, side, f"{signal} = {value:.4g}, {side} its healthy {name} {limit:g}")
        for limit, side, name in ((bound.min, "below", "min"), (bound.max, "above", "max"))
        if limit is not None
    ]
    evidence = {"value": value, "min": bound.min, "max": bound.max}
    return _beyond(window, "bounds", signal, "error", None, value, limits, evidence, sampling)


def _beyond(
    window: Window,
    kind: CheckKind,
    subject: str,
    severity: Severity,
    rule: str | None,
    value: float,
    limits: Sequence[tuple[float, str, str]],
    evidence: dict[str, Any],
    sampling: Sampling | None,
) -> list[Finding]:
    """The first of `limits` (limit, side, text) the value is past: a finding when beyond
    doubt, "too few to tell" when only the value is past it."""
    for limit, side, text in limits:
        judged = _judge(value, limit, side, sampling)  # type: ignore[arg-type]
        if judged.unsure and sampling is not None:
            return [_undecided(window, subject, kind, text, judged, sampling)]
        if judged.breach:
            return [
                Finding(
                    window.system,
                    kind,
                    subject,
                    severity,
                    text,
                    window.start,
                    window.end,
                    rule=rule,
                    evidence={**evidence, **_interval(judged, sampling)},
                )
            ]
    return []


def relative_change(
    window: Window,
    rule: AlertRule,
    baseline: float | None,
    value: float | None,
    sampling: Sampling | None = None,
) -> list[Finding]:
    """The article's test: has the signal dropped (or risen) by the rule's share vs baseline?
    With `sampling`, beyond doubt: the window's interval (widened by the baseline's own error)
    must lie wholly past the changed level."""
    if value is None or baseline is None or baseline == 0 or rule.signal is None:
        return []
    change = (value - baseline) / abs(baseline)
    findings = []
    for kind, share, side in (("drop", rule.drop, "below"), ("rise", rule.rise, "above")):
        if share is None:
            continue
        limit = (
            baseline - share * abs(baseline)
            if side == "below"
            else baseline + share * abs(baseline)
        )
        if not (change <= -share if kind == "drop" else change >= share):
            continue
        judged = _judge(value, limit, side, sampling)  # type: ignore[arg-type]
        moved = "dropped" if kind == "drop" else "rose"
        text = f"{rule.signal} {moved} {abs(change):.0%} vs baseline (rule: {share:.0%})"
        sure = judged.high <= limit if side == "below" else judged.low >= limit
        if sampling is not None and not sure:
            findings.append(_undecided(window, rule.signal, kind, text, judged, sampling))
            continue
        findings.append(
            Finding(
                window.system,
                kind,  # type: ignore[arg-type]
                rule.signal,
                rule.severity,
                f"{text}: {value:.4g} against {baseline:.4g}",
                window.start,
                window.end,
                rule=rule.name,
                evidence={
                    "value": value,
                    "baseline": baseline,
                    "change": change,
                    **_interval(judged, sampling),
                },
            )
        )
    return findings


def threshold(
    window: Window, rule: AlertRule, value: float | None, sampling: Sampling | None = None
) -> list[Finding]:
    if value is None or rule.signal is None:
        return []
    limits = [
        (limit, side, f"{rule.signal} = {value:.4g}, {side} {limit:g}")
        for limit, side in ((rule.below, "below"), (rule.above, "above"))
        if limit is not None
    ]
    evidence = {"value": value, "below": rule.below, "above": rule.above}
    return _beyond(
        window,
        "threshold",
        rule.signal,
        rule.severity,
        rule.name,
        value,
        limits,
        evidence,
        sampling,
    )


def trend(
    window: Window,
    rule: AlertRule,
    series: Sequence[float],
    baseline: float | None,
    bound: float | None,
    limit: float = DEFAULT_LIMIT,
) -> list[Finding]:
    """A slow slide that has not crossed any bound yet — the one static rules never see."""
    if baseline is None or rule.signal is None or rule.trend is None:
        return []
    result = detect_trend(series, baseline=baseline, direction=rule.trend, bound=bound, limit=limit)
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


def calibrated_drift(
    window: Window, rule: AlertRule, calibration: DriftCalibration, score: DriftScore | None
) -> list[Finding]:
    """A watched input whose latest window, alone or pooled with the ones before it, has moved
    further from the baseline than the column's share of the alarm budget allows."""
    if score is None:
        return []
    worst = score.worst
    if abs(worst.z) <= calibration.critical:
        return []
    column = calibration.column
    pooled = "this window" if worst.windows == 1 else f"the last {worst.windows} windows"
    if worst.label == "rank":
        moved = "higher" if worst.z > 0 else "lower"
        what = f"values sit {moved} than the baseline's (mean rank {worst.share:.2f}, 0.50 is none)"
    else:
        what = f"{worst.label!r} is {worst.share:.1%} of rows, {worst.baseline:.1%} in the baseline"
    return [
        Finding(
            window.system,
            "drift",
            column,
            rule.severity,
            f"{column_words(column)} drifted over {pooled}: {what} (z {worst.z:+.1f}, "
            f"limit {calibration.critical:.1f})",
            window.start,
            window.end,
            rule=rule.name,
            evidence={
                "column": column,
                "cell": worst.label,
                "z": worst.z,
                "critical_z": calibration.critical,
                "share": worst.share,
                "baseline": worst.baseline,
                "windows_pooled": worst.windows,
                "rows": score.rows,
                "alpha": calibration.alpha,
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
        f"{column_words(verdict.column)} drifted ({verdict.method} "
        f"{verdict.score:.3g}, threshold {verdict.threshold:g})"
    )


def column_words(column: str) -> str:
    """A watched column as its reader knows it: by where its values come from, told the way
    `partials.column_values` reads them (bare names are inputs), so `output.label` is the
    output's label and never an input of that name."""
    if column.startswith("metadata."):
        return f"metadata {column.removeprefix('metadata.')!r}"
    if column.startswith("output."):
        return f"output {column.removeprefix('output.')!r}"
    named = {
        "output": "the output",
        "output_length": "the output's length",
        "latency_ms": "latency",
    }
    return named.get(column, f"input {column!r}")


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
            f"upstream {upstream.name}: {b.detail}" + _rename_guess(b, renamed),
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


def _rename_guess(b: Break, renamed: list[tuple[str, str]]) -> str:
    """At most one guess per finding, so the upstream contact reads a likely cause, not a list."""
    guess = next(((old, new) for old, new in renamed if b.field in (old, new)), None)
    return f" (renamed {guess[0]!r} -> {guess[1]!r}?)" if guess else ""


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


def cannot_estimate(
    system: str, signal: str, why: str, start: datetime, end: datetime
) -> list[Finding]:
    """An estimated metric that cannot be estimated says why (no labelled baseline, one class,
    scores that are not probabilities): never an empty chart taken for health."""
    return [
        Finding(
            system,
            "estimate",
            signal,
            "warning",
            f"cannot estimate {signal}: {why}",
            start,
            end,
            evidence={"why": why},
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
