"""The triage queue on a real store: scanning, verdicts, harmful outputs, neglect."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.conftest import webhook_people
from watchkeeper.app import Operations, Watchkeeper, build
from watchkeeper.charter import CharterService
from watchkeeper.errors import ActionError
from watchkeeper.ingest.service import IngestService
from watchkeeper.manifest import load_text
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import T0, HttpReceiver, http_receiver
from watchkeeper.triage.service import TriageService

DAY = timedelta(days=1)
START = T0.replace(hour=0)


def manifests(receiver: str) -> str:
    people = webhook_people(receiver, "ana@corp.example", "dev@corp.example", "qa@corp.example")
    system = {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot"},
        "spec": {
            "lifecycle": "live",
            "charter": {
                "owner": "ana@corp.example",
                "quality_monitor": "qa@corp.example",
                "kill_authority": ["ana@corp.example", "dev@corp.example"],
            },
            "runbook": {
                "triage": {
                    "rules": [
                        {"name": "thumbs-down", "negative_feedback": True, "priority": 4},
                        {"name": "apology", "match": "(?i)sorry", "priority": 3},
                        {"name": "sample", "sample": "10%", "priority": 1},
                    ],
                    "deadline": "7d",
                    "propose_failure_mode_after": 2,
                }
            },
        },
    }
    return "\n---\n".join(json.dumps(d) for d in (people, system))


@pytest.fixture
def quality(db_url: str, store: Store) -> Iterator[tuple[Watchkeeper, HttpReceiver]]:
    """The whole app: who may record a verdict is decided where every face acts, Operations."""
    with http_receiver() as receiver, httpx.Client(timeout=5) as http:
        app = build(Settings(db=db_url, public_url="http://wk.example"), store=store, http=http)
        app.charter.apply(load_text(manifests(receiver.url)), "ops", START)
        yield app, receiver
        app.switch.drain(timeout=10)  # a flip's notices, before the receiver and client close


@pytest.fixture
def world(
    quality: tuple[Watchkeeper, HttpReceiver],
) -> tuple[TriageService, IngestService, HttpReceiver]:
    app, receiver = quality
    return app.triage, app.ingest, receiver


@pytest.mark.parametrize("page", [5_000, 7])
def test_rules_queue_the_right_observations_once(
    world: tuple, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also when a day is walked in pages smaller than it (as at any traffic)."""
    monkeypatch.setattr("watchkeeper.triage.service.SCAN_PAGE", page)
    triage, ingest, _ = world
    items = [
        {
            "id": f"o{i}",
            "ts": (START + i * timedelta(minutes=5)).isoformat(),
            "output": "Sorry, no." if i % 10 == 3 else "Here you go.",
        }
        for i in range(200)
    ]
    ingest.observations("bot", items, START + DAY)
    ingest.feedback("bot", [{"observation_id": "o7", "thumbs_up": False}], START + DAY)
    assert triage.scan(START + DAY + timedelta(hours=1)) > 0
    assert triage.scan(START + DAY + timedelta(hours=2)) == 0
    queue = triage.queue("bot", START + 2 * DAY)
    by_id = {i["observation_id"]: i for i in queue}
    assert by_id["o7"]["rule"] == "thumbs-down"
    assert all(by_id[f"o{i}"]["rule"] == "apology" for i in range(3, 200, 10))
    sampled = [i for i in queue if i["rule"] == "sample"]
    assert 5 <= len(sampled) <= 40
    assert len(by_id) == len(queue), "one item per observation"
    assert queue[0]["rule"] == "thumbs-down" and queue[0]["assignee"] == "qa@corp.example"


def test_harmful_verdict_reaches_every_kill_authority_and_is_audited(
    world: tuple, quality: tuple[Watchkeeper, HttpReceiver], store: Store
) -> None:
    triage, ingest, receiver = world
    ingest.observations(
        "bot", [{"id": "bad", "ts": START.isoformat(), "output": "Sorry, do X"}], START + DAY
    )
    triage.scan(START + DAY)
    [item] = triage.queue("bot", START + DAY)
    stranger = Operations(quality[0], "stranger@corp.example", START + DAY, enforce=False)
    with pytest.raises(ActionError) as refused:
        stranger.triage_verdict(item["id"], "harmful")
    assert refused.value.kind == "forbidden"
    assert triage.queue("bot", START + DAY) == [item] and receiver.requests == []
    triage.verdict(
        item["id"],
        "harmful",
        "qa@corp.example",
        START + DAY,
        label="refusal",
        tags=["unsafe-advice"],
        note="told the user to do X",
    )
    assert sorted(r.path for r in receiver.requests) == ["/ana", "/dev"]
    page = receiver.requests[0].json()
    assert "HARMFUL" in page["body"] and "wk kill bot" in page["body"]
    assert any(link["href"].endswith("/systems/bot#switch") for link in page["links"])
    [command] = [line.strip() for line in page["body"].splitlines() if line.startswith("  wk ")]
    run_as_written = Operations(quality[0], "ana@corp.example", START + DAY, enforce=True)
    words = shlex.split(command)
    assert words[:3] == ["wk", "kill", "bot"] and words[3] == "--reason"
    assert run_as_written.set_switch("bot", "disabled", words[4])["state"] == "disabled"
    with store.read() as unit:
        entry = [e for e in unit.audit_entries() if e.action == "triage.verdict"][-1]
        assert entry.actor == "qa@corp.example" and entry.after["verdict"] == "harmful"
        [observation] = unit.ingest.observations_by_id("bot", ["bad"])
        assert observation.feedback == {"label": "refusal"}


def test_tags_propose_failure_modes_and_stale_items_show(world: tuple) -> None:
    triage, ingest, _ = world
    ingest.observations(
        "bot",
        [{"id": f"s{i}", "ts": START.isoformat(), "output": "Sorry"} for i in range(3)],
        START + DAY,
    )
    triage.scan(START + DAY)
    items = triage.queue("bot", START + DAY)
    for item in items[:2]:
        triage.verdict(item["id"], "wrong", "qa@corp.example", START + DAY, tags=["over-apology"])
    modes = triage.failure_modes("bot", START + DAY)
    assert modes["over-apology"]["total"] == 2 and modes["over-apology"]["proposed"]
    assert triage.stale("bot", START + 9 * DAY)[0]["observation_id"] == items[2]["observation_id"]


def test_manual_flag_is_queued_once(world: tuple) -> None:
    triage, ingest, _ = world
    ingest.observations("bot", [{"id": "x", "ts": START.isoformat(), "output": "hi"}], START + DAY)
    first = triage.flag("bot", "x", "looks off", "ana@corp.example", START + DAY)
    again = triage.flag("bot", "x", "still off", "ana@corp.example", START + DAY)
    assert first["id"] == again["id"] and first["priority"] == 5
    assert first["observation"]["output"] == "hi"


def test_failed_eval_cases_are_queued_once(world: tuple, store: Store) -> None:
    triage, ingest, _ = world
    with store.read() as unit:
        record = unit.system("bot")
    manifest = json.loads(json.dumps(record.manifest))
    manifest["spec"]["runbook"]["triage"]["rules"].append(
        {"name": "eval-fail", "eval_failures": True, "priority": 3}
    )
    people = {
        "apiVersion": "watchkeeper/v1",
        "kind": "People",
        "people": [
            {"email": e} for e in ("ana@corp.example", "dev@corp.example", "qa@corp.example")
        ],
    }
    text = "\n---\n".join(json.dumps(d) for d in (people, manifest))
    CharterService(store).apply(load_text(text), "ops", START)
    ingest.observations("bot", [{"id": "x", "ts": START.isoformat(), "output": "ok"}], START + DAY)
    cases = [
        {"id": "c1", "input": "q1", "expected": "a", "output": "a", "passed": True},
        {"id": "c2", "input": "q2", "expected": "b", "output": "z", "passed": False},
    ]
    with store.write() as unit:
        unit.care.add_eval_run(
            "bot",
            "golden",
            started_at=START + timedelta(hours=3),
            actor="ops",
            trigger="manual",
            model_version=None,
            dataset_sha256="0" * 64,
            pass_rate=0.5,
            mean_score=0.5,
            run={"cases": cases},
        )
    triage.scan(START + DAY + timedelta(hours=1))
    triage.scan(START + 2 * DAY)
    [item] = [i for i in triage.queue("bot", START + DAY) if i["condition"] == "eval_failures"]
    assert item["observation"]["expected"] == "b" and "c2" in item["reason"]
