"""Care on a real store: eval runs and schedules, reviews and reminders, the ledger, knowledge."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import webhook_people
from watchkeeper.alerting.courier import Courier
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.care.service import CareService
from watchkeeper.charter import CharterService
from watchkeeper.errors import ActionError
from watchkeeper.evals import EvalPolicy
from watchkeeper.manifest import load_text
from watchkeeper.store import Store
from watchkeeper.testing import T0, HttpReceiver, http_receiver

EXAMPLES = Path(__file__).parent.parent.parent / "src" / "watchkeeper" / "cli" / "demo" / "evals"
DAY = timedelta(days=1)


def manifests(receiver: str, target: str = "support_bot:answer") -> str:
    people = webhook_people(receiver, "ana@corp.example", "ben@corp.example", "dev@corp.example")
    system = {
        "apiVersion": "watchkeeper/v1",
        "kind": "AISystem",
        "metadata": {"name": "bot"},
        "spec": {
            "lifecycle": "live",
            "charter": {
                "owner": "ana@corp.example",
                "retraining_decider": "ben@corp.example",
                "kill_authority": ["dev@corp.example"],
                "review_every": "30d",
            },
            "runbook": {
                "escalation": {
                    "levels": [
                        {"notify": ["ana@corp.example"]},
                        {"after": "30m", "notify": ["ben@corp.example"]},
                    ]
                }
            },
            "evals": [
                {
                    "suite": "golden",
                    "dataset": str(EXAMPLES / "golden.jsonl"),
                    "target": target,
                    "every": "7d",
                }
            ],
            "care": {"hours_per_month": 8},
        },
    }
    return "\n---\n".join(json.dumps(d) for d in (people, system))


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
def care(store: Store, receiver: HttpReceiver) -> Iterator[CareService]:
    CharterService(store).apply(load_text(manifests(receiver.url)), "ops", T0)
    with httpx.Client(timeout=5) as http:
        yield CareService(store, Courier(store, http=http, sleep=lambda _: None))


def apply_target(store: Store, receiver: HttpReceiver, target: str, at: Any) -> None:
    CharterService(store).apply(load_text(manifests(receiver.url, target)), "ops", at)


def test_regressed_callable_lists_the_flipped_cases(
    care: CareService, store: Store, receiver: HttpReceiver
) -> None:
    [first] = care.run_evals("bot", T0, "ana@corp.example", base_dir=str(EXAMPLES), attended=True)
    assert first.diff is None and first.run.summary.count >= 20
    apply_target(store, receiver, "support_bot:answer_regressed", T0 + DAY)
    [second] = care.run_evals(
        "bot", T0 + DAY, "ben@corp.example", base_dir=str(EXAMPLES), attended=True
    )
    assert second.diff is not None
    regressed = {f["id"] for f in second.diff["regressions"]}
    assert regressed and all(i.startswith("billing") for i in regressed)
    assert set(second.diff["by_tag"]["billing"]["regressions"]) == regressed


def test_scheduled_eval_fires_at_the_right_tick_and_only_once(
    care: CareService, store: Store, receiver: HttpReceiver
) -> None:
    """The operator allows the demo's eval package and golden sets; the target is named by its
    installed module, since an unattended run searches no folder a manifest names."""
    apply_target(store, receiver, "watchkeeper.cli.demo.evals.support_bot:answer", T0)
    policy = EvalPolicy.configure(["watchkeeper.cli.demo.evals"], [EXAMPLES])
    operated = CareService(store, care.courier, policy)
    ran = [len(operated.scheduled_evals(T0 + days * DAY).outcomes) for days in (0, 6, 7, 7)]
    assert ran == [1, 0, 1, 0]


def test_scheduled_eval_the_operator_did_not_allow_stays_due(care: CareService) -> None:
    for _ in range(2):
        scheduled = care.scheduled_evals(T0, base_dir=str(EXAMPLES))
        assert scheduled.outcomes == []
        assert [(r["system"], r["suite"]) for r in scheduled.refused] == [("bot", "golden")]
        assert "module 'support_bot' is not under" in scheduled.refused[0]["reason"]


def test_review_overdue_reminds_then_escalates(
    care: CareService, receiver: HttpReceiver, app: Watchkeeper
) -> None:
    assert care.review_reminders(T0 + 29 * DAY) == 0
    assert care.review_reminders(T0 + 31 * DAY) == 1
    assert [r.path for r in receiver.requests] == ["/ana"]
    assert care.review_reminders(T0 + 32 * DAY) == 0
    assert care.review_reminders(T0 + 38 * DAY) == 1
    assert [r.path for r in receiver.requests] == ["/ana", "/ben"]
    assert "escalated" in receiver.requests[1].json()["title"]
    with pytest.raises(ActionError) as refused:
        Operations(app, "ben@corp.example", T0 + 39 * DAY, enforce=False).review(
            "bot", "healthy", ""
        )
    assert refused.value.kind == "forbidden"
    [command] = [
        line.strip()
        for line in receiver.requests[0].json()["body"].splitlines()
        if line.startswith("  wk ")
    ]
    words = shlex.split(command)  # run as written, by the owner it reminds
    assert words[:5] == ["wk", "review", "bot", "--verdict", "healthy"] and words[5] == "--notes"
    owner = Operations(app, "ana@corp.example", T0 + 39 * DAY, enforce=True)
    assert owner.review("bot", words[4], words[6])["verdict"] == "healthy"
    assert care.review_reminders(T0 + 60 * DAY) == 0
    assert care.review_reminders(T0 + 70 * DAY) == 1


def test_ledger_counts_reviews_and_evals_automatically(care: CareService) -> None:
    care.run_evals("bot", T0, "ana@corp.example", base_dir=str(EXAMPLES), attended=True)
    care.log_care("bot", 3, "maintenance", "bumped dependencies", "ben@corp.example", T0 + DAY)
    care.review("bot", "healthy", "", "ana@corp.example", T0 + 2 * DAY, {})
    ledger = care.ledger("bot", T0 + 40 * DAY)
    january = ledger["months"][0]
    assert january["month"] == "2026-01" and january["given"] == 4.25
    with pytest.raises(ActionError):
        care.log_care("bot", 0, "maintenance", "", "ben@corp.example", T0)


def test_decisions_close_and_export_as_markdown(care: CareService, tmp_path: Path) -> None:
    care.record(
        "decision",
        "bot",
        "Use a smaller model",
        {"context": "Latency", "decision": "Switch to small", "consequences": "Cheaper"},
        "ana@corp.example",
        T0,
    )
    care.record(
        "failure-mode",
        "bot",
        "Refund hallucination",
        {"symptoms": "Promises refunds", "mitigation": "Policy in prompt", "tag": "refund"},
        "ben@corp.example",
        T0,
    )
    care.record(
        "near-miss",
        "bot",
        "Schema almost broke",
        {"what_happened": "Field renamed in staging", "how_caught": "Contract check"},
        "ana@corp.example",
        T0,
    )
    files = care.export("bot", str(tmp_path))
    names = sorted(Path(f).relative_to(tmp_path).as_posix() for f in files)
    assert names == [
        "README.md",
        "decisions/0001-use-a-smaller-model.md",
        "failure-modes/0001-refund-hallucination.md",
        "near-misses/0001-schema-almost-broke.md",
    ]
    decision = (tmp_path / "decisions/0001-use-a-smaller-model.md").read_text()
    assert decision.startswith("# Decision 1: Use a smaller model")
    assert "## Consequences\n\nCheaper" in decision
    assert (
        "- [Refund hallucination](failure-modes/0001-refund-hallucination.md)"
        in (tmp_path / "README.md").read_text()
    )


def test_a_pending_decision_closes_once_with_the_fields_it_was_opened_with(
    care: CareService, store: Store
) -> None:
    with store.write() as unit:
        opened = unit.care.add_knowledge(
            "bot",
            "decision",
            title="Retrain or replace bot?",
            fields={"context": "Accuracy fell", "options": ["retrain", "replace"]},
            status="pending",
            by="watchkeeper",
            now=T0,
            assigned_to="ben@corp.example",
        )
    with store.read() as unit:
        assert unit.care.knowledge_record("bot", "decision", opened.number) == opened
    closed = care.record(
        "decision",
        "bot",
        "",
        {"decision": "retrain", "consequences": "Two days of labelling"},
        "ben@corp.example",
        T0 + DAY,
        closes=opened.number,
    )
    assert (closed["status"], closed["title"], closed["closed_by"]) == (
        "decided",
        "Retrain or replace bot?",
        "ben@corp.example",
    )
    assert closed["fields"]["context"] == "Accuracy fell"
    assert closed["fields"]["decided_by"] == "ben@corp.example"
    [stored] = care.knowledge("bot")
    assert stored == closed
    with pytest.raises(ActionError) as gone:
        care.record("decision", "bot", "", {}, "ben@corp.example", T0, closes=opened.number)
    assert gone.value.kind == "not_found"
