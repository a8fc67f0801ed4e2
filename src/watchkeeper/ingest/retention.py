"""Retention decided from plain data: what each system's `spec.retention` lets go, and when the
next run is due. `IngestService.purge` carries it out.

What goes once older than the retention: observations, their feedback, feedback whose
observation never came, window partials, and dead letters (those of names never applied as a
system after the default retention). What stays: the observations of the baseline period,
because every later window is measured against them and a baseline that moved with the retention
would hide a slow decline; aggregates (signal values, findings, baseline profiles); and triage
items, which are a person's record with their own snapshot and verdict, not observations.

Raw rows are thinned before that: once RAW_FULL_DAYS old (by then their windows are profiled,
triage has scanned their day, and most feedback has come), the observations outside the system's
stable `raw_sample` go, with their feedback — except those a triage rule queued and the baseline
period's. Their windows stay in the partials for the whole retention.

A system its manifest marks high-risk under the EU AI Act (`metadata.eu_ai_act: high-risk`)
keeps its logs "for a period appropriate to the intended purpose of the high-risk AI system, of
at least six months" (Art. 19(1) for providers, Art. 26(6) for deployers): nothing of it younger
than six calendar months goes, neither by retention nor by thinning, whatever `spec.retention`
says (the gate fails such a manifest: `retention.six_months`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from watchkeeper.clock import as_utc
from watchkeeper.manifest import SystemManifest, SystemSpec
from watchkeeper.monitor.engine import baseline_period

# items kept under a name that no applied system has (e.g. OTLP spans of a system not applied)
DEFAULT_RETENTION: timedelta = SystemSpec.model_fields["retention"].default.keep
HIGH_RISK = "high-risk"  # the value of `metadata.eu_ai_act` that keeps six months
# How long every raw row is kept before thinning to the sample: a replayed spool is recognised
# as duplicates, triage scans whole days, and feedback joins its observation meanwhile.
RAW_FULL_DAYS = timedelta(days=7)
RAW_SAMPLE_SALT = "raw"


@dataclass(frozen=True)
class Plan:
    """One system's retention run: everything dated before `before` goes, except the
    observations in `keep` (the baseline period, when it is known)."""

    system: str
    before: datetime
    keep: tuple[datetime, datetime] | None
    thin_before: datetime | None = None
    raw_sample: float = 1.0


def plan(manifest: SystemManifest, first_observation: datetime | None, now: datetime) -> Plan:
    retention = manifest.spec.retention
    thin = retention.raw_sample < 1
    before, thin_before = now - retention.keep, now - RAW_FULL_DAYS
    if manifest.metadata.eu_ai_act == HIGH_RISK:  # Art. 19(1), 26(6): at least six months
        floor = six_months_before(now)
        before, thin_before = min(before, floor), min(thin_before, floor)
    return Plan(
        manifest.name,
        before,
        baseline_period(manifest, first_observation),
        thin_before if thin else None,
        retention.raw_sample,
    )


def six_months_before(now: datetime) -> datetime:
    """The same instant six calendar months earlier, the 31st of a shorter month its last day:
    "six months" in the law's words, which is 181 to 184 days, not a fixed count of them."""
    year, month = divmod(now.year * 12 + now.month - 1 - 6, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def next_run(now: datetime) -> datetime:
    """Retention runs at most once a UTC day: the next one is due at the next midnight."""
    day = as_utc(now).date() + timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=as_utc(now).tzinfo)
