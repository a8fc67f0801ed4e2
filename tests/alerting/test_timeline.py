"""Alerting as a timeline on a fixed clock, with real loopback receivers for the pages."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from tests.conftest import Cli
from watchkeeper.access import AccessService
from watchkeeper.alerting.courier import Courier
from watchkeeper.alerting.service import AlertingService
from watchkeeper.alerting.timeline import timeline
from watchkeeper.charter import CharterService
from watchkeeper.ingest.service import IngestService
from watchkeeper.manifest import load_text
from watchkeeper.monitor.engine import MonitorService
from watchkeeper.scheduler import Scheduler
from watchkeeper.store import Store
from watchkeeper.switch import SwitchService
from watchkeeper.testing import T0, HttpReceiver, http_receiver

M = timedelta(minutes=1)
H = timedelta(hours=1)


def manifests(receiver: str) -> str:
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [
            {
                "email": "ana@corp.example",
                "channels": [{"type": "webhook", "url": f"{receiver}/ana"}],
            },
            {
                "email": "ben@corp.example",
                "channels": [
                    {"type": "pagerduty", "routing_key": "RK", "url": f"{receiver}/v2/enqueue"}
                ],
            },
            {
                "email": "dev@corp.example",
                "channels": [{"type": "slack", "url": f"{receiver}/slack"}],
            },
        ],
    }
    system = {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot", "tier": "high"},
        "spec": {
            "lifecycle": "live",
            "charter": {
                "owner": "ana@corp.example",
                "retraining_decider": "ben@corp.example",
                "kill_authority": ["ana@corp.example", "dev@corp.example"],
            },
            "runbook": {
                "signals": {
                    "quality": {"from": "observation", "field": "metadata.score", "window": "1h"}
                },
                "alerts": [
                    {
                        "name": "low-quality",
                        "signal": "quality",
                        "below": 0.5,
                        "severity": "critical",
                        "playbook": "retrain",
                    }
                ],
                "escalation": {
                    "levels": [
                        {"after": "0m", "notify": ["ana@corp.example"]},
                        {"after": "30m", "notify": ["ben@corp.example"]},
                    ],
                    "repeat": 1,
                },
                "playbooks": {
                    "retrain": {
                        "summary": "Quality fell",
                        "steps": ["Look"],
                        "open_decision": "retrain",
                    }
                },
            },
        },
    }
    return "\n---\n".join(json.dumps(d) for d in (people, system))


class Desk:
    """The real services wired as the app wires them, around one store and one receiver."""

    def __init__(self, store: Store, receiver: HttpReceiver, http: httpx.Client) -> None:
        from watchkeeper.access import AccessService
        from watchkeeper.switch import SwitchService

        self.store = store
        self.receiver = receiver
        CharterService(store).apply(load_text(manifests(receiver.url)), "ops", T0 - H)
        self.ingest = IngestService(store)
        courier = Courier(
            store, public_url="http://wk.example", secret="s", http=http, sleep=lambda _: None
        )
        self.alerting = AlertingService(store, courier, SwitchService(store, AccessService(store)))
        self.scheduler = Scheduler(store, MonitorService(store), self.alerting)

    def feed(self, start: datetime, score: float, n: int = 10) -> None:
        items = [
            {
                "id": f"{start.isoformat()}-{i}",
                "ts": (start + i * M).isoformat(),
                "metadata": {"score": score},
            }
            for i in range(n)
        ]
        assert not self.ingest.observations("bot", items, start + H).rejected

    def pages(self) -> list[tuple[str, str]]:
        return [
            (r.path, r.json().get("event_action") or r.json().get("event", "slack"))
            for r in self.receiver.requests
        ]


@pytest.fixture
def desk(store: Store) -> Iterator[Desk]:
    with http_receiver() as receiver, httpx.Client(timeout=5) as http:
        yield Desk(store, receiver, http)


def test_page_walks_the_path_until_acknowledged_then_auto_resolves(desk: Desk) -> None:
    desk.feed(T0, 0.2)
    report = desk.scheduler.tick(T0 + H)
    assert report.ran and len(report.incidents_opened) == 1
    incident = report.incidents_opened[0]
    assert desk.pages() == [("/ana", "trigger")]
    ack_link = next(link for link in desk.receiver.on("/ana")[0].json()["links"])
    assert ack_link["href"].startswith(f"http://wk.example/api/v1/incidents/{incident}/ack?by=ana")
    desk.scheduler.tick(T0 + H + 29 * M)
    assert len(desk.pages()) == 1
    desk.scheduler.tick(T0 + H + 30 * M)
    assert desk.pages()[-1] == ("/v2/enqueue", "trigger")
    desk.alerting.acknowledge(incident, "ben@corp.example", T0 + H + 40 * M)
    assert desk.pages()[-1] == ("/v2/enqueue", "acknowledge")
    desk.feed(T0 + H, 0.9)
    desk.scheduler.tick(T0 + 2 * H + 30 * M)
    assert len(desk.pages()) == 3, "no more pages after the acknowledgement"
    with desk.store.read() as unit:
        assert unit.alerting.incident(incident).status == "acknowledged"
    desk.feed(T0 + 2 * H, 0.9)
    desk.scheduler.tick(T0 + 3 * H + 1 * M)
    with desk.store.read() as unit:
        assert unit.alerting.incident(incident).status == "acknowledged", "2 clean windows of 3"
    desk.feed(T0 + 3 * H, 0.9)
    desk.scheduler.tick(T0 + 4 * H + 1 * M)
    with desk.store.read() as unit:
        assert unit.alerting.incident(incident).status == "resolved"
    events = [r.json() for r in desk.receiver.on("/v2/enqueue")]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert len({e["dedup_key"] for e in events}) == 1


def test_repeat_and_playbook_decision(desk: Desk) -> None:
    desk.feed(T0, 0.2)
    for minutes in range(0, 181, 10):
        desk.scheduler.tick(T0 + H + minutes * M)
    paths = [p for p, _ in desk.pages()]
    assert paths.count("/ana") == 2 and paths.count("/v2/enqueue") == 2
    with desk.store.read() as unit:
        [decision] = unit.care.knowledge("bot", "decision")
        assert decision.status == "pending" and decision.assigned_to == "ben@corp.example"
        deliveries = unit.alerting.deliveries(system="bot")
    decision_notices = [d for d in deliveries if d.purpose == "decision"]
    assert [d.recipient for d in decision_notices] == ["ben@corp.example"]


def test_a_silence_suppresses(desk: Desk) -> None:
    desk.alerting.add_silence(
        system="bot",
        matchers={"rule": "low-*"},
        starts_at=T0,
        ends_at=T0 + 5 * H,
        actor="ana@corp.example",
        reason="retraining in progress",
        kind="silence",
        now=T0,
    )
    desk.feed(T0, 0.2)
    report = desk.scheduler.tick(T0 + H)
    assert report.incidents_opened == [] and desk.pages() == []
    with desk.store.read() as unit:
        [alert] = unit.alerting.alerts("bot")
        assert alert.muted_by and "retraining in progress" in alert.muted_by
        assert any(e.action == "alert.muted" for e in unit.audit_entries())


def test_two_schedulers_never_page_twice(desk: Desk) -> None:
    from concurrent.futures import ThreadPoolExecutor

    other = Scheduler(desk.store, desk.scheduler.monitor, desk.alerting)
    desk.feed(T0, 0.2)
    first = desk.scheduler.tick(T0 + H)
    with ThreadPoolExecutor(2) as pool:
        racing = list(pool.map(lambda s: s.tick(T0 + H + 30 * M), [other, desk.scheduler] * 3))
    assert first.pages + sum(r.pages for r in racing) == 2
    assert sorted(p for p, _ in desk.pages()) == ["/ana", "/v2/enqueue"]


def test_a_tick_already_running_in_this_process_keeps_the_lease(desk: Desk) -> None:
    """A server's heartbeat and a `POST /tick` share one Scheduler: the second must wait."""
    inner = []
    desk.scheduler.register("nested", lambda now: inner.append(desk.scheduler.tick(now)))
    outer = desk.scheduler.tick(T0 + H)
    assert outer.ran and [r.ran for r in inner] == [False]
    assert desk.scheduler.tick(T0 + H).ran


def test_the_commands_a_page_and_a_decision_notice_suggest_work(
    store: Store, db_url: str, wk: Cli
) -> None:
    """Run as written: the page's acknowledge command by the paged owner, and the decision
    notice's command by the retraining decider it went to."""
    with http_receiver() as receiver, httpx.Client(timeout=5) as http:
        text = manifests(receiver.url).replace(
            '{"type": "pagerduty", "routing_key": "RK", "url": "' + receiver.url + '/v2/enqueue"}',
            '{"type": "webhook", "url": "' + receiver.url + '/ben"}',
        )
        CharterService(store).apply(load_text(text), "ops", T0 - H)
        courier = Courier(store, http=http, sleep=lambda _: None)
        alerting = AlertingService(store, courier, SwitchService(store, AccessService(store)))
        ingest = IngestService(store)
        items = [{"id": f"o{i}", "ts": (T0 + i * M).isoformat(), "metadata": {"score": 0.2}}
                 for i in range(10)]  # fmt: skip
        assert not ingest.observations("bot", items, T0 + H).rejected
        Scheduler(store, MonitorService(store), alerting).tick(T0 + H)
        told = {r.path: r.json()["body"] for r in receiver.requests}
    suggested = {
        who: next(line.split(": ", 1)[-1].strip() for line in body.splitlines() if "wk " in line)
        for who, body in told.items()
    }
    assert suggested["/ana"].startswith("wk incident ack ")
    assert suggested["/ben"].startswith("wk log decision bot --closes ")
    for who, command in suggested.items():
        code, out, err = wk(*shlex.split(command)[1:], "--now", (T0 + H).isoformat(),
                            user=f"{who.strip('/')}@corp.example")  # fmt: skip
        assert code == 0, (command, out, err)
    with store.read() as unit:
        [decision] = unit.care.knowledge("bot", "decision")
    assert decision.status == "decided" and decision.fields["decision"] == "retrain"


def test_serious_incident_steps_and_the_tool_a_person_acted_in_are_told_in_words() -> None:
    def said(kind: str, actor: str, detail: dict[str, object]) -> str:
        event = {"at": "2026-05-01T08:30:00+00:00", "kind": kind, "actor": actor, "detail": detail}
        [told] = timeline({"alerts": [], "timeline": [event]})
        return str(told["text"])

    due = "2026-05-11T08:30:00+00:00"
    assert said("serious", "olga@x.io", {"article": "Art. 3(49)(a)", "death": True,
                "widespread": False, "report_due": due, "deadline_article": "Art. 73(4)"}) == (
        "Classified serious by olga@x.io: Art. 3(49)(a), a death; report due 2026-05-11 08:30 "
        "UTC (Art. 73(4))"
    )  # fmt: skip
    assert said("serious.reminder", "watchkeeper", {"stage": "overdue", "due": due,
                "notify": ["olga@x.io", "kim@x.io"]}) == (
        "Art. 73 report overdue (2026-05-11 08:30 UTC): told olga@x.io, kim@x.io"
    )  # fmt: skip
    assert said("hold.change", "serving", {"change": 3, "what": "model version v2 seen",
                "justification": None}).endswith("v2 seen — NOT JUSTIFIED")  # fmt: skip
    assert said("hold.justified", "olga@x.io", {"change": 3, "justification": "a canary"}) == (
        "Change #3 justified by olga@x.io: a canary"
    )
    assert said("report.submitted", "olga@x.io", {"report": "initial", "reference": "MSA-1",
                "on_time": False}) == (
        "Initial Art. 73 report sent to the authority by olga@x.io (reference MSA-1), after its "
        "deadline"
    )  # fmt: skip
    assert said("acknowledged", "ana@x.io", {"via": "pagerduty"}) == (
        "Acknowledged in PagerDuty by ana@x.io"
    )
    assert said("resolved", "ben@x.io", {"reason": "fixed", "via": "slack"}) == (
        "Resolved via Slack by ben@x.io: fixed"
    )
    assert said("acknowledged", "ana@x.io", {}) == "Acknowledged by ana@x.io"
