"""Running a rehearsal: a throwaway copy of the system in a temporary store, its traffic sent
day by day on a simulated clock through the real pipeline (ingest, ticks, alerting, escalation,
playbooks), every notification caught by a recording transport. The only I/O of the package."""

from __future__ import annotations

import heapq
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from watchkeeper.access import Directory
from watchkeeper.clock import FixedClock
from watchkeeper.errors import ActionError
from watchkeeper.manifest import Loaded, Person, SystemManifest, Team
from watchkeeper.rehearsal._plan import (
    DAY,
    SCENARIOS,
    Level,
    Missed,
    Span,
    Target,
    channels,
    paged_for,
    reach,
    span,
    target,
    unreachable,
)
from watchkeeper.rehearsal._report import Facts, report
from watchkeeper.rehearsal._traffic import (
    HARMFUL,
    MAX_PER_DAY,
    SYNTHETIC_PER_DAY,
    Day,
    History,
    Synthetic,
    eval_uploads,
    inject,
)
from watchkeeper.store import ObservationRecord, Store

if TYPE_CHECKING:
    from watchkeeper.alerting.service import AlertingService
    from watchkeeper.care.service import CareService
    from watchkeeper.charter import CharterService
    from watchkeeper.ingest.service import IngestService
    from watchkeeper.scheduler import Scheduler
    from watchkeeper.triage.service import TriageService

ACTOR = "watchkeeper-rehearsal"
MAX_BUDGET = 600.0
RECORDER = "http://rehearsal.invalid"
EMBEDDING = "output_embedding"


class Pipeline(Protocol):
    """The application a rehearsal runs: built by the caller over the temporary store (the
    rehearsal sits below the application and cannot build one itself)."""

    @property
    def store(self) -> Store: ...
    @property
    def charter(self) -> CharterService: ...
    @property
    def ingest(self) -> IngestService: ...
    @property
    def care(self) -> CareService: ...
    @property
    def alerting(self) -> AlertingService: ...
    @property
    def scheduler(self) -> Scheduler: ...
    @property
    def triage(self) -> TriageService: ...
    def close(self) -> None: ...


MakePipeline = Callable[[Store, FixedClock, httpx.Client], Pipeline]
HistoryDays = Callable[[], tuple[list[list[ObservationRecord]], list[datetime]]]


@dataclass(frozen=True)
class Rehearsal:
    """One rehearsal's outcome: the Report of the shared contract, and what the record keeps."""

    system: str
    scenario: str
    passed: bool
    verdict: str
    time_to_page_s: float | None
    report: dict[str, Any] = field(default_factory=dict)


def rehearse(
    manifest: SystemManifest,
    directory: Directory,
    scenario: str,
    *,
    make: MakePipeline,
    history: HistoryDays | None,
    today: datetime,
    smtp: bool = False,
    budget: float = 120.0,
    timer: Callable[[], float] = time.monotonic,
    seed: int = 0,
) -> Rehearsal:
    """Rehearse `scenario` on a copy of `manifest` with the people of `directory`. `history`
    gives the system's own baseline days (none: traffic made from its contracts); `today` places
    the simulated period in the recent past; `smtp` says whether this Watchkeeper can send
    email; `budget` caps the wall-clock seconds."""
    if scenario not in SCENARIOS:
        raise ActionError(
            "invalid", f"unknown scenario {scenario!r}; one of: {', '.join(SCENARIOS)}"
        )
    if not 1 <= budget <= MAX_BUDGET:
        raise ActionError("invalid", f"budget: {budget:g} s is outside 1 to {MAX_BUDGET:g} s")
    started = timer()
    aim = target(manifest, scenario)
    if isinstance(aim, Missed):
        missed = [aim, *unreachable(reach(manifest.spec.runbook.escalation, directory, smtp))]
        return _outcome(manifest, scenario, False, f"cannot rehearse: {aim.text}", None, {
            "missed": [m.to_dict() for m in missed], "timeline": [], "rule": None,
            "signal": None, "source": None, "simulated": None,
            "elapsed_s": round(timer() - started, 3),
        })  # fmt: skip
    levels = reach(paged_for(manifest, aim), directory, smtp)
    notes = unreachable(levels)
    when = span(manifest, aim, today)
    rng = random.Random(seed)
    days, origin = history() if history else ([], [])
    source: Synthetic | History
    if days:
        source = History(days, origin)
        traffic = "history"
    else:
        source = Synthetic(manifest, rng, first=aim.signal_name)
        traffic = "synthetic"
    per_day = max((len(d) for d in days), default=SYNTHETIC_PER_DAY)
    if per_day > MAX_PER_DAY:
        notes.append(
            Missed("note", f"baseline days thinned to {MAX_PER_DAY:,} observations", fails=False)
        )
    with tempfile.TemporaryDirectory(prefix="watchkeeper-rehearsal-") as folder:
        facts = _simulate(
            manifest, directory, aim, when, levels, source, make, Path(folder), rng, smtp,
            lambda: timer() - started > budget,
        )  # fmt: skip
    passed, verdict, to_page, timeline, missed = report(aim, when, levels, facts, notes)
    return _outcome(manifest, scenario, passed, verdict, to_page, {
        "rule": aim.rule_name, "signal": aim.signal_name, "source": traffic,
        "simulated": {"from": when.start.isoformat(), "began": when.began.isoformat(),
                      "to": when.end.isoformat()},
        "timeline": timeline, "missed": [m.to_dict() for m in missed],
        "elapsed_s": round(timer() - started, 3),
    })  # fmt: skip


def _outcome(
    manifest: SystemManifest,
    scenario: str,
    passed: bool,
    verdict: str,
    to_page: float | None,
    rest: dict[str, Any],
) -> Rehearsal:
    body = {
        "system": manifest.name,
        "scenario": scenario,
        "passed": passed,
        "verdict": verdict,
        "time_to_page_s": to_page,
        **rest,
    }
    return Rehearsal(manifest.name, scenario, passed, verdict, to_page, body)


def _simulate(
    manifest: SystemManifest,
    directory: Directory,
    aim: Target,
    when: Span,
    levels: Sequence[Level],
    source: Synthetic | History,
    make: MakePipeline,
    folder: Path,
    rng: random.Random,
    smtp: bool,
    over_budget: Callable[[], bool],
) -> Facts:
    clock = FixedClock(when.start - DAY)
    http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    store = Store.open(f"sqlite:///{folder / 'rehearsal.db'}")
    pipeline = make(store, clock, http)
    try:
        pipeline.charter.apply(_copy(manifest, directory, smtp, aim), ACTOR, clock.now())
        judge = _reviewer(manifest, directory)
        return _drive(pipeline, clock, manifest, aim, when, levels, source, rng, judge, over_budget)
    finally:
        pipeline.close()


def _reviewer(manifest: SystemManifest, directory: Directory) -> str | None:
    """Who works the triage queue: its assignee, else the quality monitor, else the owner."""
    charter = manifest.spec.charter
    for ref in (manifest.spec.runbook.triage.assignee, charter.quality_monitor, charter.owner):
        members = directory.members(ref) if ref else []
        if members:
            return members[0]
    return None


def _copy(manifest: SystemManifest, directory: Directory, smtp: bool, aim: Target) -> Loaded:
    """The system as live, and its people with every channel this Watchkeeper could use pointed
    at the recorder: the rehearsal pages nobody real. Email without an SMTP server is left out,
    so the throwaway courier fails it as this one would. Embedding drift is left out unless the
    scenario aims at it: it loads a language model (seconds) and plays no part otherwise."""
    runbook = manifest.spec.runbook
    if EMBEDDING not in aim.columns:
        alerts = []
        for rule in runbook.alerts:
            if rule.drift and EMBEDDING in rule.drift:
                kept = [c for c in rule.drift if c != EMBEDDING]
                if not kept:
                    continue
                rule = rule.model_copy(update={"drift": kept})
            alerts.append(rule)
        runbook = runbook.model_copy(update={"alerts": alerts})
    spec = manifest.spec.model_copy(update={"lifecycle": "live", "runbook": runbook})
    live = manifest.model_copy(update={"spec": spec})
    people = [
        Person.model_validate(
            {
                "email": p.email,
                "name": p.name,
                "active": p.active,
                "admin": p.admin,
                "channels": [
                    {"type": "webhook", "url": f"{RECORDER}/{p.email}/{kind}"}
                    for kind in channels(p, smtp)
                ],
            }
        )
        for p in directory.people.values()
    ]
    teams = [
        Team.model_validate({"name": t.name, "members": t.members})
        for t in directory.teams.values()
    ]
    return Loaded(systems=[live], people=people, teams=teams)


def _drive(
    pipeline: Pipeline,
    clock: FixedClock,
    manifest: SystemManifest,
    aim: Target,
    when: Span,
    levels: Sequence[Level],
    source: Synthetic | History,
    rng: random.Random,
    judge_as: str | None,
    over_budget: Callable[[], bool],
) -> Facts:
    """Send each day's traffic at its end (ingest refuses the future) and tick; in the scenario
    tick at each of the aimed signal's windows too, and once an incident opens, at each
    escalation level's minute, until the last level has had its turn."""
    name = manifest.name
    window = aim.signal.window if aim.signal and aim.signal.source != "eval" else DAY
    factor = aim.factor if aim.scenario == "quality-drop" else 1.0
    levels_of = getattr(source, "levels", {})
    uploads = eval_uploads(
        manifest, levels_of, when.start, when.end,
        lambda signal, at: factor if signal == aim.signal_name and at >= when.began else 1.0, rng,
    )  # fmt: skip
    ticks = _schedule(when, window, [u.at for u in uploads])
    made, unsent = 0, Day(when.start)
    opened: datetime | None = None
    stop: datetime = when.end
    stopped: str | None = None
    judge = _Judge(judge_as)
    while ticks:
        at = heapq.heappop(ticks)
        if at > stop:
            break
        if judge.due(at):
            judge.rule(pipeline, at)
            stop = at + timedelta(minutes=5)
        while when.start + made * DAY < min(at, when.end):
            day = source.day(when.start + made * DAY, made)
            if day.start + DAY > when.began:
                day = inject(day, aim, rng, when.began, manifest.spec.runbook.triage.rules)
            unsent.observations += day.observations
            unsent.feedback += day.feedback
            made += 1
        due, unsent = _split(unsent, at)
        clock.set(at)
        if due.observations:
            pipeline.ingest.observations(name, due.observations, at, source="rehearsal")
        if due.feedback:
            pipeline.ingest.feedback(name, due.feedback, at, source="rehearsal")
        for upload in [u for u in uploads if u.at <= at]:
            uploads.remove(upload)
            pipeline.care.record_upload(name, upload.suite, upload.run, ACTOR, upload.at)
        clock.set(at)
        report = pipeline.scheduler.tick(at)
        if aim.scenario == "harmful-output" and judge.queued is None and judge.find(pipeline, name):
            heapq.heappush(ticks, judge.queued_at + JUDGED_AFTER)
        if opened is None and report.incidents_opened and at >= when.began:
            opened = at
            last = max((level.after for level in levels), default=timedelta(0))
            stop = min(when.end, at + last + timedelta(minutes=5))
            for level in levels:
                heapq.heappush(ticks, at + level.after + timedelta(minutes=1))
        if over_budget():
            stopped = (
                f"stopped at {at:%Y-%m-%d %H:%M} of the simulated period: over its time budget"
            )
            break
    with pipeline.store.read() as unit:
        findings = sorted(
            unit.monitoring.findings(name, since=when.start, limit=10_000),
            key=lambda f: (f.created_at, f.id),
        )
        ids = [i.id for i in unit.alerting.incidents(name, limit=50)]
        series = unit.monitoring.signal_series(name, aim.signal_name) if aim.signal_name else []
        told = [d for d in unit.alerting.deliveries(limit=10_000) if d.purpose == "harmful"]
    incidents = [pipeline.alerting.incident_detail(i) for i in sorted(ids)]
    return Facts(findings, incidents, series, stopped, told, judge.events)


JUDGED_AFTER = timedelta(hours=1)
"""How long after a harmful output is queued its simulated reviewer judges it: the rehearsal
times the path from verdict to kill authorities, not how fast the queue is worked."""


class _Judge:
    """The simulated reviewer of the harmful-output scenario: finds the harmful observation in
    the triage queue, then judges it harmful as `actor`."""

    def __init__(self, actor: str | None) -> None:
        self.actor = actor
        self.queued: int | None = None
        self.queued_at = datetime.min
        self.judged = False
        self.events: list[tuple[datetime, str, str]] = []

    def find(self, pipeline: Pipeline, system: str) -> bool:
        with pipeline.store.read() as unit:
            items = unit.care.triage_items(system, status="open", limit=10_000)
        for item in items:
            metadata = (item.snapshot or {}).get("metadata") or {}
            if metadata.get(HARMFUL):
                self.queued, self.queued_at = item.id, item.queued_at
                self.events.append(
                    (item.queued_at, "note", f"the harmful output is queued for triage by rule "
                     f"{item.rule} ({item.reason})")
                )  # fmt: skip
                return True
        return False

    def due(self, at: datetime) -> bool:
        return self.queued is not None and not self.judged and at >= self.queued_at + JUDGED_AFTER

    def rule(self, pipeline: Pipeline, at: datetime) -> None:
        assert self.queued is not None
        self.judged = True
        if self.actor is None:
            self.events.append((at, "note", "nobody holds a role that may judge the output"))
            return
        pipeline.triage.verdict(
            self.queued, "harmful", self.actor, at, note="rehearsal: the reviewer's verdict"
        )
        self.events.append((at, "note", f"{self.actor} judges it HARMFUL (simulated)"))


def _schedule(when: Span, window: timedelta, uploads: Sequence[datetime]) -> list[datetime]:
    """Every day's end, every eval run's minute, and within the scenario every window's end (at
    most hourly): a server ticks every few seconds, so each is judged as soon as it can be."""
    ticks = {at for at in uploads if at >= when.began}
    at = when.start + DAY
    while at <= when.end:
        ticks.add(at)
        at += DAY
    step = max(window, timedelta(hours=1))
    at = when.began + step
    while at <= when.end and step < DAY:
        ticks.add(at)
        at += step
    heap = sorted(ticks)
    heapq.heapify(heap)
    return heap


def _split(day: Day, until: datetime) -> tuple[Day, Day]:
    """The part of the traffic dated before `until`, and the rest."""
    due: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    for item in day.observations:
        (due if datetime.fromisoformat(item["ts"]) < until else later).append(item)
    ids = {o["id"] for o in due}
    now = [f for f in day.feedback if f["observation_id"] in ids]
    rest = [f for f in day.feedback if f["observation_id"] not in ids]
    return replace(day, observations=due, feedback=now), replace(
        day, observations=later, feedback=rest
    )
