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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from watchkeeper.clock import as_utc
from watchkeeper.manifest import SystemManifest, SystemSpec
from watchkeeper.monitor.engine import baseline_period

# items kept under a name that no applied system has (e.g. OTLP spans of a system not applied)
DEFAULT_RETENTION: timedelta = SystemSpec.model_fields["retention"].default.keep
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
    return Plan(
        manifest.name,
        now - retention.keep,
        baseline_period(manifest, first_observation),
        now - RAW_FULL_DAYS if thin else None,
        retention.raw_sample,
    )


def next_run(now: datetime) -> datetime:
    """Retention runs at most once a UTC day: the next one is due at the next midnight."""
    day = as_utc(now).date() + timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=as_utc(now).tzinfo)
