"""Running a suite: concurrency, timeouts and failures recorded per case, aggregates, records."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from watchkeeper.evals import CaseResult, EvalError, EvalRun, get_scorer, run_suite
from watchkeeper.testing import T0

from .samples import dataset

EXACT = get_scorer("exact_match")


def echo(value: Any) -> Any:
    return value


class Gauge:
    """Counts callers inside at once, and the most ever seen."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so threads a test abandoned on purpose finish too."""
    event = threading.Event()
    yield event
    event.set()


def test_a_run_records_every_case_and_its_aggregates() -> None:
    golden = dataset(
        ("a", "refund", "refund", ("billing",)),
        ("b", "invoice", "refund", ("billing", "urgent")),
        ("c", "track", "track", ("shipping",)),
        ("d", "other", "close"),
    )
    run = run_suite(golden, echo, EXACT, now=T0, model_version="v7")
    assert [(c.id, c.output, c.passed, c.score, c.error) for c in run.cases] == [
        ("a", "refund", True, 1.0, None),
        ("b", "invoice", False, 0.0, None),
        ("c", "track", True, 1.0, None),
        ("d", "other", False, 0.0, None),
    ]
    assert run.cases[1].detail == "expected 'refund', got 'invoice'"
    assert run.cases[1].tags == ("billing", "urgent")
    assert (run.started_at, run.model_version, run.target) == (T0, "v7", f"{__name__}:echo")
    assert (run.dataset, run.dataset_sha256, run.scorer) == (
        "memory.jsonl",
        "0" * 64,
        "exact_match",
    )
    summary = run.summary
    assert (summary.count, summary.passed, summary.errors, summary.timeouts) == (4, 2, 0, 0)
    assert (summary.mean_score, summary.pass_rate) == (0.5, 0.5)
    assert {tag: (s.count, s.passed, s.pass_rate) for tag, s in summary.by_tag.items()} == {
        "billing": (2, 1, 0.5),
        "shipping": (1, 1, 1.0),
        "urgent": (1, 0, 0.0),
    }
    assert summary.labels is not None and summary.labels.accuracy == 0.5
    assert summary.metrics()["pass_rate[billing]"] == 0.5


def test_label_metrics_only_where_labels_are_scored() -> None:
    labels = dataset(("a", " Refund ", "Refund"), ("b", "x", "invoice"), ("c", {"k": 1}, "Refund"))
    metrics = run_suite(labels, echo, EXACT, now=T0).summary.labels
    assert metrics is not None
    assert {s.label: (s.precision, s.recall) for s in metrics.per_label} == {
        "Refund": (1.0, 0.5),
        "invoice": (0.0, 0.0),
        "x": (0.0, 0.0),
    }
    structured = dataset(("a", {"k": 1}, {"k": 1}))
    assert run_suite(structured, echo, EXACT, now=T0).summary.labels is None
    text = dataset(("a", "refund issued", "refund"))
    assert run_suite(text, echo, get_scorer("contains"), now=T0).summary.labels is None


def test_a_failing_case_is_recorded_and_the_run_goes_on() -> None:
    def flaky(ticket: str) -> str:
        if ticket == "boom":
            raise ValueError("model endpoint returned 502")
        if ticket == "exit":
            sys.exit(3)
        return ticket

    golden = dataset(("a", "ok", "ok"), ("b", "boom", "ok"), ("c", "exit", "ok"))
    run = run_suite(golden, flaky, EXACT, now=T0)
    ok, boom, exited = run.cases
    assert ok.passed and ok.error is None
    assert boom.error is not None and not boom.passed and not boom.timed_out
    assert boom.error.startswith("ValueError: model endpoint returned 502 (at ")
    assert boom.error.endswith(f"{__file__}:{flaky.__code__.co_firstlineno + 2})")
    assert exited.error is not None and exited.error.startswith("SystemExit: 3 (at ")
    assert (run.summary.errors, run.summary.passed) == (2, 1)


def test_a_case_the_scorer_cannot_score_is_an_error_with_the_output_kept() -> None:
    golden = dataset(("a", "41.9", 42), ("b", "41.9", "n/a"), ("c", {1, 2}, 1))
    run = run_suite(golden, echo, get_scorer("numeric_close", {"abs_tol": 0.5}), now=T0)
    assert run.cases[0].passed
    assert run.cases[1].output == "41.9" and not run.cases[1].passed
    assert run.cases[1].error is not None
    assert run.cases[1].error.startswith(
        "scorer 'numeric_close': ValueError: numeric_close needs a number as expected value, "
        f"not 'n/a' (at {sys.modules['watchkeeper.evals.scorers'].__file__}:"
    )
    assert run.cases[2].output == "{1, 2}" and run.cases[2].error is None


def test_a_hanging_case_times_out_without_holding_up_the_others(
    release: threading.Event,
) -> None:
    def hangs_on_b(ticket: str) -> str:
        if ticket == "b":
            release.wait()
        return ticket

    golden = dataset(*[(ticket, ticket, ticket) for ticket in "abcd"])
    run = run_suite(golden, hangs_on_b, EXACT, now=T0, concurrency=1, timeout=0.2)
    assert [(c.id, c.passed, c.timed_out, c.error) for c in run.cases] == [
        ("a", True, False, None),
        ("b", False, True, "timed out after 0.2s"),
        ("c", True, False, None),
        ("d", True, False, None),
    ]
    assert (run.summary.timeouts, run.summary.errors) == (1, 0)
    assert run.summary.metrics()["timeout_rate"] == 0.25


def test_sync_cases_run_concurrently_up_to_the_limit() -> None:
    together = threading.Barrier(8, timeout=5)  # breaks unless all eight are inside at once
    gauge = Gauge()

    def meets(ticket: int) -> int:
        gauge.enter()
        try:
            together.wait()
            return ticket
        finally:
            gauge.leave()

    golden = dataset(*[(str(i), i, i) for i in range(8)])
    run = run_suite(golden, meets, EXACT, now=T0, concurrency=8)
    assert run.summary.passed == 8 and gauge.most == 8


def test_concurrency_is_a_ceiling() -> None:
    gauge = Gauge()

    def slow(ticket: int) -> int:
        gauge.enter()
        time.sleep(0.02)
        gauge.leave()
        return ticket

    golden = dataset(*[(str(i), i, i) for i in range(12)])
    assert run_suite(golden, slow, EXACT, now=T0, concurrency=3).summary.passed == 12
    assert gauge.most == 3


def test_async_targets_share_one_loop_and_are_cancelled_on_timeout() -> None:
    gauge = Gauge()
    cancelled: list[str] = []

    async def answer(ticket: str) -> str:
        gauge.enter()
        try:
            await asyncio.sleep(10 if ticket == "slow" else 0.05)
            return ticket
        except asyncio.CancelledError:
            cancelled.append(ticket)
            raise
        finally:
            gauge.leave()

    golden = dataset(("slow", "slow", "slow"), *[(str(i), str(i), str(i)) for i in range(7)])
    run = run_suite(golden, answer, EXACT, now=T0, concurrency=4, timeout=0.3)
    assert run.cases[0].timed_out and cancelled == ["slow"]
    assert run.summary.passed == 7 and gauge.most == 4


def test_an_async_callable_object_is_awaited() -> None:
    class Bot:
        async def __call__(self, ticket: str) -> str:
            return ticket.upper()

    run = run_suite(dataset(("a", "hi", "HI")), Bot(), EXACT, now=T0)
    assert run.cases[0].passed
    assert run.target == f"{__name__}:test_an_async_callable_object_is_awaited.<locals>.Bot"


def test_a_coroutine_from_a_sync_target_is_an_error_not_a_hang() -> None:
    async def answer(ticket: str) -> str:
        return ticket

    run = run_suite(dataset(("a", "hi", "hi")), lambda t: answer(t), EXACT, now=T0)
    assert run.cases[0].error == "the target returned a coroutine: declare it `async def`"


def test_progress_is_reported_per_case_on_the_calling_thread() -> None:
    seen: list[tuple[int, int, str, int]] = []

    def progress(done: int, total: int, result: CaseResult) -> None:
        seen.append((done, total, result.id, threading.get_ident()))

    golden = dataset(*[(str(i), i, i) for i in range(5)])
    run_suite(golden, echo, EXACT, now=T0, progress=progress)
    assert [(done, total) for done, total, _, _ in seen] == [(n, 5) for n in range(1, 6)]
    assert sorted(case for _, _, case, _ in seen) == ["0", "1", "2", "3", "4"]
    assert {thread for *_, thread in seen} == {threading.get_ident()}


def test_time_comes_from_the_caller() -> None:
    ticks = iter([100.0, 100.5, 100.75, 102.0])
    run = run_suite(
        dataset(("a", 1, 1)), echo, EXACT, now=datetime(2026, 3, 1, 12), timer=lambda: next(ticks)
    )
    assert run.started_at.isoformat() == "2026-03-01T12:00:00+00:00"
    assert (run.duration_ms, run.cases[0].duration_ms) == (2000.0, 250.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency must be at least 1, not 0"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, not 0"),
    ],
)
def test_run_settings_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(EvalError, match=message):
        run_suite(dataset(("a", 1, 1)), echo, EXACT, now=T0, **options)


# --- records -------------------------------------------------------------------------------


def test_a_run_survives_a_json_round_trip() -> None:
    golden = dataset(
        ("a", {"ticket_text": "hi"}, "greeting", ("t",)), ("b", [1, 2], [1, 2]), ("c", "x", True)
    )
    scorer = get_scorer("exact_match", {"ignore_case": True})
    run = run_suite(golden, echo, scorer, now=T0, model_version="2026-01")
    stored = json.loads(json.dumps(run.to_dict()))
    assert stored["format"] == 1
    assert set(stored) == {
        "format",
        "started_at",
        "duration_ms",
        "dataset",
        "dataset_sha256",
        "target",
        "scorer",
        "scorer_options",
        "model_version",
        "summary",
        "cases",
    }
    assert stored["started_at"] == "2026-01-05T09:00:00Z"
    assert EvalRun.from_dict(stored) == run


def test_a_malformed_record_is_refused_with_where() -> None:
    stored = run_suite(dataset(("a", 1, 1)), echo, EXACT, now=T0).to_dict()
    with pytest.raises(EvalError, match="format 2; this version reads 1"):
        EvalRun.from_dict({**stored, "format": 2})
    del stored["cases"][0]["passed"]
    with pytest.raises(EvalError, match=r"eval run record: cases\.0\.passed: Field required"):
        EvalRun.from_dict(stored)
