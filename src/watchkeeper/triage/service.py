"""The triage queue's shell: scan each completed day for outputs the runbook's rules pick out,
queue each observation once, take people's verdicts, and act on them — a `harmful` verdict tells
every kill authority at once, corrected labels become feedback, tags meet failure modes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.alerting.courier import Courier
from watchkeeper.alerting.notifiers import Message
from watchkeeper.errors import ActionError
from watchkeeper.manifest import SystemManifest
from watchkeeper.monitor.contract import check_contract
from watchkeeper.monitor.signals import complete_windows, window_start
from watchkeeper.monitor.stats import reviewed_error_rate
from watchkeeper.store import ObservationRecord, Store, TriageItemRecord, Unit, applied_manifest
from watchkeeper.triage.rules import Match, evaluate

DAY = timedelta(days=1)
VERDICTS = ("ok", "wrong", "harmful", "unclear")
SCAN_KEY = "triage:scan"
SCAN_PAGE = 5_000  # observations held at once while a day is scanned


def item_dict(item: TriageItemRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "system": item.system,
        "observation_id": item.observation_id,
        "observed_at": item.observed_at.isoformat(),
        "queued_at": item.queued_at.isoformat(),
        "age_days": round((now - item.queued_at) / DAY, 1),
        "rule": item.rule,
        "condition": item.condition,
        "reason": item.reason,
        "priority": item.priority,
        "assignee": item.assignee,
        "status": item.status,
        "verdict": item.verdict,
        "label": item.label,
        "tags": item.tags,
        "note": item.note,
        "observation": item.snapshot,
    }


def _snapshot(observation: ObservationRecord) -> dict[str, Any]:
    """What a person judging the item sees, kept as it was when queued."""
    return {
        "inputs": observation.inputs,
        "output": observation.output,
        "metadata": observation.metadata,
        "feedback": observation.feedback,
        "model_version": observation.model_version,
    }


class TriageService:
    def __init__(self, store: Store, courier: Courier) -> None:
        self.store = store
        self.courier = courier

    def scan(self, now: datetime) -> int:
        """`scan_system` for every applied system, raising on the first that fails (the
        scheduler calls `scan_system` system by system, so one never stops the others)."""
        with self.store.read() as unit:
            names = [record.name for record in unit.systems()]
        return sum(self.scan_system(now, name) for name in names)

    def scan_system(self, now: datetime, system: str) -> int:
        """Queue what a live system's rules pick from every completed, unscanned day."""
        with self.store.read() as unit:
            manifest = applied_manifest(unit, system)
            first = unit.ingest.first_observation_at(system)
            scanned = unit.monitoring.last_signal_window(system, SCAN_KEY)
        triage = manifest.spec.runbook.triage
        if manifest.spec.lifecycle != "live" or not triage.rules or first is None:
            return 0
        since = scanned or window_start(first, DAY)
        assignee = triage.assignee or manifest.spec.charter.quality_monitor
        return sum(
            self._scan_day(manifest, start, end, now, assignee)
            for start, end in complete_windows(since, now, DAY)
        )

    def _scan_day(
        self,
        manifest: SystemManifest,
        start: datetime,
        end: datetime,
        now: datetime,
        assignee: str | None,
    ) -> int:
        """A day read a page at a time, each page's matches queued in a short unit of its own:
        a day of a million rows must not hold the store's write lock while it is read (on
        SQLite every ingest would wait behind it). Only a finished day is recorded as scanned;
        a scan cut off halfway reads its day again and queues nothing twice."""
        system, rules = manifest.name, manifest.spec.runbook.triage.rules
        contracts = (
            [u.contract for u in manifest.spec.upstream]
            if any(r.condition == "contract_violation" for r in rules)
            else []
        )
        known = {c for x in manifest.spec.upstream for c in x.contract}
        queued = matched = seen_rows = after = 0
        while True:
            with self.store.read() as unit:
                observations, after = unit.ingest.observations_page(
                    system, start, end, after, SCAN_PAGE
                )
            seen_rows += len(observations)
            violations = frozenset(
                o.id
                for o in observations
                for contract in contracts
                if check_contract(contract, [(o.ts, o.inputs)], known_fields=known)
            )
            matches = evaluate(rules, observations, system=system, contract_violations=violations)
            matched += len(matches)
            if matches:
                with self.store.write() as unit:
                    queued += _queue_matches(unit, system, matches, observations, now, assignee)
            if len(observations) < SCAN_PAGE:
                break
        with self.store.write() as unit:
            queued += self._queue_eval_failures(unit, manifest, start, end, now, assignee)
            row = {"signal": SCAN_KEY, "window_start": start, "window_end": end,
                   "value": float(matched), "n": seen_rows}  # fmt: skip
            unit.monitoring.save_signal_values(system, [row], now)
        return queued

    def _queue_eval_failures(
        self,
        unit: Unit,
        manifest: SystemManifest,
        start: datetime,
        end: datetime,
        now: datetime,
        assignee: str | None,
    ) -> int:
        """Failed cases of eval runs in [start, end), when a rule asks for them."""
        rule = next((r for r in manifest.spec.runbook.triage.rules if r.eval_failures), None)
        if rule is None:
            return 0
        queued = 0
        for run in unit.care.eval_runs(manifest.name, limit=1000):
            if not start <= run.started_at < end:
                continue
            for case in run.run.get("cases", []):
                key = f"eval:{run.suite}:{run.started_at:%Y%m%dT%H%M}:{case['id']}"
                if case.get("passed") or unit.care.queued_observation_ids(manifest.name, [key]):
                    continue
                unit.care.queue_triage_item(
                    manifest.name,
                    key,
                    observed_at=run.started_at,
                    rule=rule.name,
                    condition="eval_failures",
                    reason=f"failed eval case {case['id']} of {run.suite}",
                    priority=rule.priority,
                    assignee=assignee,
                    snapshot={
                        "inputs": case.get("input"),
                        "output": case.get("output"),
                        "expected": case.get("expected"),
                        "error": case.get("error"),
                    },
                    now=now,
                )
                queued += 1
        return queued

    def flag(
        self, system: str, observation_id: str, reason: str, actor: str, now: datetime
    ) -> dict[str, Any]:
        """A manual flag (SDK `client.flag`, the API): queued at once, top priority."""
        if not reason.strip():
            raise ActionError("invalid", "a flag needs a reason")
        with self.store.write() as unit:
            manifest = applied_manifest(unit, system)
            existing = unit.care.queued_observation_ids(system, [observation_id])
            if existing:
                queued = next(
                    i for i in unit.care.triage_items(system) if i.observation_id == observation_id
                )
                return item_dict(queued, now)
            found = unit.ingest.observations_by_id(system, [observation_id])
            obs = found[0] if found else None
            item = unit.care.queue_triage_item(
                system,
                observation_id,
                observed_at=obs.ts if obs else now,
                rule="manual",
                condition="flag",
                reason=f"flagged by {actor}: {reason}",
                priority=5,
                assignee=manifest.spec.runbook.triage.assignee
                or manifest.spec.charter.quality_monitor,
                snapshot=_snapshot(obs)
                if obs
                else {"missing": "the observation has not arrived (yet)"},
                now=now,
            )
            unit.audit(
                now=now,
                actor=actor,
                action="triage.flagged",
                target=f"{system}/observation/{observation_id}",
                system=system,
                reason=reason,
            )
            return item_dict(item, now)

    def queue(
        self, system: str, now: datetime, *, status: str | None = "open"
    ) -> list[dict[str, Any]]:
        with self.store.read() as unit:
            applied_manifest(unit, system)
            return [item_dict(i, now) for i in unit.care.triage_items(system, status=status)]

    def verdict(
        self,
        item_id: int,
        verdict: str,
        actor: str,
        now: datetime,
        *,
        label: str | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Record a person's verdict; who may judge the item is decided before this is called
        (`access.may`, action `triage.verdict`)."""
        if verdict not in VERDICTS:
            raise ActionError("invalid", f"verdict must be one of {', '.join(VERDICTS)}")
        with self.store.write() as unit:
            manifest = applied_manifest(unit, _item(unit, item_id).system)
            item = unit.care.set_triage_verdict(
                item_id,
                verdict=verdict,
                label=label,
                tags=sorted(set(tags or [])),
                note=note,
                by=actor,
                now=now,
            )
            if label is not None:
                unit.ingest.add_feedback(
                    item.system,
                    [
                        {
                            "observation_id": item.observation_id,
                            "ts": now,
                            "label": label,
                            "score": None,
                            "thumbs_up": None,
                            "meta": {"source": "triage", "by": actor},
                        }
                    ],
                    now,
                )
            unit.audit(
                now=now,
                actor=actor,
                action="triage.verdict",
                target=f"{item.system}/triage/{item_id}",
                system=item.system,
                after={"verdict": verdict, "label": label, "tags": item.tags},
                reason=note,
            )
            result = item_dict(item, now)
            charter = manifest.spec.charter
        if verdict == "harmful":
            self._harmful(result, charter.kill_authority, actor, now)
        return result

    def _harmful(
        self, item: dict[str, Any], authorities: list[str], actor: str, now: datetime
    ) -> None:
        system = item["system"]
        observation = item["observation"]
        body = (
            f"{actor} judged an output of {system} HARMFUL in triage (item #{item['id']}).\n\n"
            f"Input: {observation.get('inputs')}\nOutput: {observation.get('output')}\n"
            f"Note: {item.get('note') or '-'}\n\n"
            f"To take {system} offline now:\n  wk kill {system} --reason "
            f'"harmful output {item["observation_id"]}"'
        )
        links: tuple[tuple[str, str], ...] = ()
        if self.courier.public_url:
            links = (
                (
                    "Open the kill switch",
                    f"{self.courier.public_url.rstrip('/')}/systems/{system}#switch",
                ),
            )
        message = Message(
            "trigger",
            system,
            f"Harmful output found in triage on {system}",
            "critical",
            body,
            "",
            dedup_key=f"watchkeeper/{system}/harmful/{item['id']}",
            links=links,
            details={"triage_item": item["id"]},
        )
        self.courier.send(message, self.courier.people(authorities), now=now, purpose="harmful")

    def error_rate(self, system: str, start: datetime, end: datetime) -> dict[str, Any]:
        """The reviewed error rate of the random sample observed in [start, end)."""
        with self.store.read() as unit:
            verdicts = [
                r.verdict
                for r in unit.care.triage_items(system, status="done", limit=100_000)
                if r.condition == "sample" and r.verdict and start <= r.observed_at < end
            ]
        return reviewed_error_rate(verdicts).to_dict()

    def failure_modes(self, system: str, now: datetime) -> dict[str, Any]:
        """Per tag: how often seen per month, the linked failure-mode record, or a proposal."""
        with self.store.read() as unit:
            manifest = applied_manifest(unit, system)
            items = unit.care.triage_items(system, status="done", limit=100_000)
            records = {
                (k.fields or {}).get("tag") or k.title: k
                for k in unit.care.knowledge(system, "failure-mode")
            }
        per_month: dict[str, Counter[str]] = {}
        for item in items:
            for tag in item.tags or []:
                per_month.setdefault(tag, Counter())[f"{item.reviewed_at:%Y-%m}"] += 1
        threshold = manifest.spec.runbook.triage.propose_failure_mode_after
        return {
            tag: {
                "per_month": dict(sorted(months.items())),
                "total": sum(months.values()),
                "failure_mode": records[tag].number if tag in records else None,
                "proposed": tag not in records and sum(months.values()) >= threshold,
            }
            for tag, months in sorted(per_month.items())
        }

    def stale(self, system: str, now: datetime) -> list[dict[str, Any]]:
        with self.store.read() as unit:
            deadline = applied_manifest(unit, system).spec.runbook.triage.deadline
            return [
                item_dict(r, now)
                for r in unit.care.triage_items(system, status="open", limit=100_000)
                if now - r.queued_at > deadline
            ]


def _queue_matches(
    unit: Unit,
    system: str,
    matches: list[Match],
    observations: list[ObservationRecord],
    now: datetime,
    assignee: str | None,
) -> int:
    """Queue the matched observations not queued already; returns how many were."""
    seen = unit.care.queued_observation_ids(system, [m.observation_id for m in matches])
    by_id = {o.id: o for o in observations}
    queued = 0
    for match in matches:
        if match.observation_id in seen:
            continue
        obs = by_id[match.observation_id]
        unit.care.queue_triage_item(
            system,
            obs.id,
            observed_at=obs.ts,
            rule=match.rule,
            condition=match.condition,
            reason=match.reason,
            priority=match.priority,
            assignee=assignee,
            snapshot=_snapshot(obs),
            now=now,
        )
        queued += 1
    return queued


def _item(unit: Unit, item_id: int) -> TriageItemRecord:
    found = unit.care.triage_item(item_id)
    if found is None:
        raise ActionError("not_found", f"no triage item #{item_id}")
    return found
