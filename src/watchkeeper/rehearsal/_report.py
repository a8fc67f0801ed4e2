"""The rehearsal told as a timeline, and what did not happen. Pure: the records the throwaway
pipeline kept, in; the report the owner reads, out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.alerting.timeline import timeline as incident_timeline
from watchkeeper.durations import format_duration
from watchkeeper.rehearsal._plan import Level, Missed, Span, Target
from watchkeeper.store import DeliveryRecord, FindingRecord

MAX_FINDINGS = 30
"""A drop that lasts two weeks fires in every window; the timeline shows the first ones."""
Series = Sequence[tuple[datetime, datetime, float | None, int]]


@dataclass(frozen=True)
class Facts:
    """What the throwaway pipeline recorded about the system."""

    findings: Sequence[FindingRecord]
    incidents: Sequence[Mapping[str, Any]]
    series: Series
    stopped_early: str | None = None
    told: Sequence[DeliveryRecord] = ()
    """Deliveries outside incidents: a harmful verdict tells the kill authorities directly."""
    events: Sequence[tuple[datetime, str, str]] = ()
    """What the rehearsal itself did on the way (queued, judged)."""


def report(
    aim: Target,
    when: Span,
    levels: Sequence[Level],
    facts: Facts,
    notes: Sequence[Missed],
) -> tuple[bool, str, float | None, list[dict[str, Any]], list[Missed]]:
    """(passed, verdict, seconds to the first page, timeline, missed)."""
    began = when.began
    events: list[tuple[datetime, str, str]] = [
        (began, "scenario", f"the scenario begins: {aim.describe()}")
    ]
    for finding in [f for f in facts.findings if f.rule][:MAX_FINDINGS]:
        events.append((finding.created_at, "finding", _finding_text(finding)))
    events += facts.events
    aimed = [i for i in facts.incidents if _about(i, aim.rule_name)]
    first_page: datetime | None = None
    undecided: list[Missed] = []
    for incident in facts.incidents:
        opened = datetime.fromisoformat(incident["opened_at"])
        events.append(
            (opened, "incident", f"incident #{incident['id']} opens [{incident['severity']}]")
        )
        for event in incident_timeline(incident):
            kind = {"playbook": "playbook", "decision.opened": "decision"}.get(event["kind"])
            if kind:
                events.append((datetime.fromisoformat(event["at"]), kind, event["text"]))
            if kind == "decision" and not (event.get("detail") or {}).get("assigned_to"):
                undecided.append(
                    Missed(
                        "playbook.undecided",
                        f"a playbook opened a {event['detail'].get('decision')} decision for "
                        "nobody: name a retraining decider in spec.charter",
                    )
                )
        channels = channels_of(levels)
        for delivery in incident["deliveries"]:
            at = datetime.fromisoformat(delivery["at"])
            who = delivery["recipient"]
            if delivery["status"] != "ok":
                events.append((at, "page", f"{who} NOT reached: {delivery['detail']}"))
                continue
            how = channels.get(who, delivery["channel"])
            paged = delivery["purpose"] == "page"
            told = "paged" if paged else f"told ({delivery['purpose']})"
            events.append((at, "page" if paged else "note", f"{who} {told} by {how}"))
            if paged and incident in aimed and first_page is None and at >= began:
                first_page = at
    for sent in facts.told:
        if sent.status != "ok":
            events.append((sent.at, "page", f"{sent.recipient} NOT reached: {sent.detail}"))
            continue
        how = channels_of(levels).get(sent.recipient, sent.channel)
        events.append((sent.at, "page", f"{sent.recipient} told of the harmful output by {how}"))
        if first_page is None and sent.at >= began:
            first_page = sent.at
    events.sort(key=lambda e: e[0])
    timeline = [
        {
            "at": at.isoformat(),
            "after_s": (at - began).total_seconds(),
            "kind": kind,
            "text": text,
        }
        for at, kind, text in events
    ]
    missed = list(notes)
    early = [i for i in facts.incidents if datetime.fromisoformat(i["opened_at"]) < began]
    if early:
        missed.append(
            Missed(
                "baseline.paged",
                f"{len(early)} incident(s) opened while the system was healthy, before the "
                "scenario began: pages an on-call person would learn to ignore",
                fails=False,
            )
        )
    missed += _unfilled(aim, when, facts.series)
    if aim.scenario == "harmful-output":
        if not facts.events:
            missed.append(
                Missed(
                    "triage.unqueued",
                    "no triage rule queued the harmful output (its user's thumbs down, a score "
                    "of 0): add {name: flagged, negative_feedback: true} to "
                    "spec.runbook.triage.rules",
                )
            )
    elif not aimed:
        missed += _silent(aim, facts)
    elif first_page is not None and (late := _hidden(aim, facts.findings, first_page)):
        missed.append(late)
    if facts.stopped_early:
        missed.append(Missed("budget.exceeded", facts.stopped_early))
    missed += undecided
    to_page = (first_page - began).total_seconds() if first_page else None
    failing = [m for m in missed if m.fails]
    passed = to_page is not None and not failing
    return passed, _verdict(aim, to_page, failing), to_page, timeline, missed


def channels_of(levels: Sequence[Level]) -> dict[str, str]:
    return {who: how for level in levels for who, how in level.reached}


def _about(incident: Mapping[str, Any], rule: str | None) -> bool:
    return any(a["rule"] == rule for a in incident["alerts"])


def _finding_text(finding: FindingRecord) -> str:
    rule = f" (rule {finding.rule})" if finding.rule else ""
    return f"{finding.check}{rule} [{finding.severity}]: {finding.summary}"


def _unfilled(aim: Target, when: Span, series: Series) -> list[Missed]:
    """The aimed signal's windows inside the scenario that never held a value."""
    if aim.signal is None or aim.signal.source == "eval":
        return []
    window = aim.signal.window
    inside = [(s, v, n) for s, e, v, n in series if s >= when.began and e <= when.end]
    if window > when.end - when.began:
        return [
            Missed(
                "signal.unfilled",
                f"signal {aim.signal_name}'s window ({format_duration(window)}) is longer than "
                f"the {format_duration(when.end - when.began)} rehearsed: no window of it fills "
                "before the drop has gone unpaged for two weeks",
            )
        ]
    if not inside or all(v is None for _, v, _ in inside):
        return [
            Missed(
                "signal.unfilled",
                f"signal {aim.signal_name} had no value in any {format_duration(window)} window "
                "of the scenario at this traffic",
            )
        ]
    return []


def _silent(aim: Target, facts: Facts) -> list[Missed]:
    """Why the aimed rule opened no incident: an undecided check, a finding without an incident,
    or nothing at all."""
    rule = aim.rule_name
    hidden = _hidden(aim, facts.findings, None)
    if hidden:
        return [hidden]
    fired = [f for f in facts.findings if f.rule == rule]
    if fired:
        return [
            Missed(
                "rule.silent",
                f"rule {rule} fired {len(fired)} finding(s) but no incident opened (silenced, "
                "or below the severity that opens one)",
            )
        ]
    return [Missed("rule.silent", f"rule {rule} never fired during the scenario")]


def _hidden(
    aim: Target, findings: Sequence[FindingRecord], before: datetime | None
) -> Missed | None:
    """The drop seen but judged not beyond doubt (before the first page, if there was one):
    at the alarm budget's share of false alarms, the windows held too few values to be sure.
    Fails the rehearsal when nothing paged; a note on the delay when something did later."""
    kind = "drop" if aim.rule and aim.rule.drop is not None else None
    undecided = [
        f
        for f in findings
        if f.check == "undecided"
        and f.subject == f"{aim.signal_name} ({kind})"
        and (before is None or f.created_at < before)
    ]
    if not undecided:
        return None
    return Missed(
        "budget.hidden",
        f"rule {aim.rule_name}: the drop was seen in {len(undecided)} window(s) but judged not "
        f"beyond doubt at the alarm budget's share (first: {undecided[0].summary}); lengthen "
        "the signal's window or raise spec.runbook.alarm_budget",
        fails=before is None,
    )


def _verdict(aim: Target, to_page: float | None, failing: Sequence[Missed]) -> str:
    if to_page is not None and not failing:
        if aim.rule_name is None:
            return f"the kill authorities were told {_minutes(to_page)} after {aim.describe()}"
        return (
            f"rule {aim.rule_name} paged {_minutes(to_page)} after {aim.describe()}, and every "
            "escalation level reached someone"
        )
    reasons = "; ".join(m.text for m in failing[:2])
    if to_page is not None:
        return f"the first page went out after {_minutes(to_page)}, but {reasons}"
    return f"nobody was paged: {reasons}"


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h" if minutes < 48 * 60 else f"{minutes / 1440:.1f} days"
