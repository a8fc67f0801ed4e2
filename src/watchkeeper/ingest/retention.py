"""Retention decided from plain data: what each system's `spec.retention` lets go, and when the
next run is due. `IngestService.purge` carries it out.

What goes once older than the retention: observations, their feedback, feedback whose
observation never came, and dead letters (those of names never applied as a system after the
default retention). What stays: the observations of the baseline period, because every later
window is measured against them and a baseline that moved with the retention would hide a slow
decline; aggregates (signal values, findings, baseline profiles); and triage items, which are a
person's record with their own snapshot and verdict, not observations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from watchkeeper.clock import as_utc
from watchkeeper.manifest import SystemManifest, SystemSpec
from watchkeeper.monitor.engine import baseline_period

# items kept under a name that no applied system has (e.g. OTLP spans of a system not applied)
DEFAULT_RETENTION: timedelta = SystemSpec.model_fields["retention"].default


@dataclass(frozen=True)
class Plan:
    """One system's retention run: everything dated before `before` goes, except the
    observations in `keep` (the baseline period, when it is known)."""

    system: str
    before: datetime
    keep: tuple[datetime, datetime] | None


def plan(manifest: SystemManifest, first_observation: datetime | None, now: datetime) -> Plan:
    return Plan(
        manifest.name,
        now - manifest.spec.retention,
        baseline_period(manifest, first_observation),
    )


def next_run(now: datetime) -> datetime:
    """Retention runs at most once a UTC day: the next one is due at the next midnight."""
    day = as_utc(now).date() + timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=as_utc(now).tzinfo)
