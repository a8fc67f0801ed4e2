"""The rehearsal as a stage service: read the system (as applied, or from files not yet
applied) and its people from the store, read its baseline days, run, and record the outcome
where the gate and the vacuum report find it."""

from __future__ import annotations

from datetime import datetime, timedelta

from watchkeeper.access import Directory, directory_of
from watchkeeper.charter import declared, manifest_digest, runbook_digest
from watchkeeper.errors import ActionError
from watchkeeper.manifest import Loaded, SystemManifest
from watchkeeper.monitor.engine import baseline_period
from watchkeeper.rehearsal._run import HistoryDays, MakePipeline, rehearse
from watchkeeper.rehearsal._traffic import MAX_PER_DAY
from watchkeeper.store import ObservationRecord, RehearsalRecord, Store, manifest_of

DAY = timedelta(days=1)


class RehearsalService:
    def __init__(self, store: Store, make: MakePipeline, *, smtp: bool) -> None:
        """`smtp`: whether this Watchkeeper can send email, which decides who email reaches."""
        self.store, self.make, self.smtp = store, make, smtp

    def rehearse(
        self,
        system: str,
        scenario: str,
        actor: str,
        now: datetime,
        *,
        files: Loaded | None = None,
        budget: float = 120.0,
    ) -> RehearsalRecord:
        """Rehearse the applied system, or the one `files` declare (its people over the store's),
        and record the outcome; audited as `runbook.rehearsed`."""
        manifest, version, directory = self._subject(system, files)
        history = None if files is not None else self._history(manifest)
        outcome = rehearse(
            manifest, directory, scenario, make=self.make, history=history, today=now,
            smtp=self.smtp, budget=budget,
        )  # fmt: skip
        with self.store.write() as unit:
            record = unit.rehearsals.add(
                system=system,
                scenario=scenario,
                digest=manifest_digest(manifest),
                runbook_digest=runbook_digest(manifest),
                version=version,
                passed=outcome.passed,
                time_to_page_s=outcome.time_to_page_s,
                report=outcome.report,
                actor=actor,
                now=now,
            )
            unit.audit(
                now=now,
                actor=actor,
                action="runbook.rehearsed",
                target=system,
                system=system,
                after={
                    "rehearsal": record.id,
                    "scenario": scenario,
                    "passed": outcome.passed,
                    "version": version,
                    "verdict": outcome.verdict,
                },
            )
        return record

    def rehearsals(self, system: str, limit: int = 20) -> list[RehearsalRecord]:
        with self.store.read() as unit:
            if unit.system(system) is None and not unit.rehearsals.of(system, limit=1):
                raise ActionError("not_found", f"no system {system!r}")
            return unit.rehearsals.of(system, limit=limit)

    def _subject(
        self, system: str, files: Loaded | None
    ) -> tuple[SystemManifest, int | None, Directory]:
        with self.store.read() as unit:
            known = directory_of(unit)
            if files is not None:
                manifest = next((s for s in files.systems if s.name == system), None)
                if manifest is None:
                    named = ", ".join(s.name for s in files.systems) or "none"
                    raise ActionError(
                        "invalid", f"the files declare no system {system!r} (they declare: {named})"
                    )
                return manifest, None, declared(files, known)
            record = unit.system(system)
            if record is None:
                raise ActionError("not_found", f"no system {system!r}")
            return manifest_of(record), record.version, known

    def _history(self, manifest: SystemManifest) -> HistoryDays:
        """The baseline days the system's own data holds, each thinned to MAX_PER_DAY rows."""

        def days() -> tuple[list[list[ObservationRecord]], list[datetime]]:
            with self.store.read() as unit:
                first = unit.ingest.first_observation_at(manifest.name)
                period = baseline_period(manifest, first)
                if first is None or period is None:
                    return [], []
                held, starts = [], []
                start, end = period
                while start < end:
                    rows = unit.ingest.observations(
                        manifest.name, start, start + DAY, limit=MAX_PER_DAY
                    )
                    if rows:
                        held.append(rows)
                        starts.append(start)
                    start += DAY
                return held, starts

        return days
