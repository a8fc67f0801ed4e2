"""Findings told once per cause: what `wk findings` and the dashboard show an on-call reader.

The checks store one finding per subject per window, which alerting needs (each subject's alert
clears on its own) but a person does not: one drift rule firing on 40 columns is one event, and
a contract break that lasts a week is one break, not 47 rows to scroll past. So a row is one
cause — the rule that fired, or, where no rule is named, the check on its subject (a contract
break on its upstream) — over one run of windows that follow or overlap each other, with every
subject it touched and the newest thing it said. Grouping by cause rather than by subject keeps
the columns of one drift event together; breaking the row where the windows stop keeps a cause
that went away and came back visible as a second row, since its return is news.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, get_args

from watchkeeper.manifest import Severity

RANK = {name: rank for rank, name in enumerate(get_args(Severity))}
SUBJECTS_NAMED = 5  # a row names this many of its other subjects, then counts the rest


def rollup(findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored findings (as `to_dict` gives them) as one row per cause per run of windows, the
    most recent run first; each row lists the ids of the findings it stands for."""
    causes: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for finding in findings:
        causes.setdefault(_cause(finding), []).append(finding)
    rows = [row for group in causes.values() for row in _runs(group)]
    rows.sort(
        key=lambda r: (_at(r["window_end"]), RANK[r["severity"]], max(r["findings"])),
        reverse=True,
    )
    return rows


def _cause(finding: Mapping[str, Any]) -> tuple[str, str, str]:
    if finding["rule"]:
        cause = finding["rule"]
    elif finding["check"] == "contract":
        cause = finding["subject"].split(".", 1)[0]
    else:
        cause = finding["subject"]
    return finding["system"], finding["check"], cause


def _runs(group: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The cause's findings split where one window ends before the next begins."""
    ordered = sorted(group, key=lambda f: (_at(f["window_start"]), _at(f["window_end"]), f["id"]))
    runs: list[list[Mapping[str, Any]]] = []
    end: datetime | None = None
    for finding in ordered:
        if end is None or _at(finding["window_start"]) > end:
            runs.append([])
            end = _at(finding["window_end"])
        runs[-1].append(finding)
        end = max(end, _at(finding["window_end"]))
    return [_row(run) for run in runs]


def _row(run: list[Mapping[str, Any]]) -> dict[str, Any]:
    newest = max(run, key=lambda f: (_at(f["window_end"]), f["id"]))
    first = run[0]
    return {
        "system": first["system"],
        "check": first["check"],
        "rule": first["rule"],
        "cause": _cause(first)[2],
        "severity": max((f["severity"] for f in run), key=RANK.__getitem__),
        "window_start": min(run, key=lambda f: _at(f["window_start"]))["window_start"],
        "window_end": newest["window_end"],
        "windows": len({(f["window_start"], f["window_end"]) for f in run}),
        "subjects": sorted({f["subject"] for f in run}),
        "summary": newest["summary"],
        "subject": newest["subject"],
        "findings": [f["id"] for f in run],
    }


def told(row: Mapping[str, Any]) -> str:
    """The row's newest summary, and which other subjects the same cause touched."""
    others = [s for s in row["subjects"] if s != row["subject"]]
    if not others:
        return str(row["summary"])
    named = ", ".join(others[:SUBJECTS_NAMED])
    rest = len(others) - SUBJECTS_NAMED
    more = f" and {rest} more" if rest > 0 else ""
    return f"{row['summary']} (also {named}{more})"


def span(row: Mapping[str, Any]) -> str:
    """The windows the row is about, e.g. `2026-01-26 00:00 – 2026-01-29 00:00 UTC (3 windows)`."""
    start, end = _at(row["window_start"]), _at(row["window_end"])
    count = f" ({row['windows']} windows)" if row["windows"] > 1 else ""
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC{count}"


def _at(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
