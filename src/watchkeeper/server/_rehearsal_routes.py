"""Runbook rehearsals over HTTP: run one, list a system's.

A rehearsal is CPU work that can take its whole budget (up to ten minutes) in one of the
threads the kill switch's POST also waits on, so this process runs only a few at once and
refuses the next one (409) rather than queue it behind them. Who may rehearse is decided in
`Operations`, as for every other route.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query

from watchkeeper.errors import ActionError
from watchkeeper.server._models import RehearsalIn, RehearsalOut
from watchkeeper.server._routes import ERRORS, Acting, SystemName, written

MAX_RUNNING = 2  # rehearsals at once in this process
rehearsal_api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["rehearsal"])
_running = threading.BoundedSemaphore(MAX_RUNNING)


@rehearsal_api.post("/systems/{name}/rehearsals", response_model=RehearsalOut, status_code=201)
def rehearse(name: SystemName, body: RehearsalIn, ops: Acting) -> dict[str, Any]:
    """Rehearse the runbook: replay the system's traffic with the scenario's failure through a
    throwaway copy of its monitoring, alerting and paging, and record what happened (the
    vacuum report's `runbook.rehearsed` check reads it). Asked by whoever answers for the
    system; with `files`, the manifests sent are rehearsed before they are applied, asked as
    `/gate` is. A runbook that pages nobody is not an error: the record says `passed: false`."""
    with _slot(), written(body.files or []) as paths:
        return ops.rehearse(name, body.scenario, paths, body.budget)


@rehearsal_api.get("/systems/{name}/rehearsals", response_model=list[RehearsalOut])
def rehearsals(
    name: SystemName, ops: Acting, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, Any]]:
    """The system's rehearsals, the newest first, each with its timeline."""
    return ops.rehearsals(name, limit)


@contextmanager
def _slot() -> Iterator[None]:
    if not _running.acquire(blocking=False):
        raise ActionError(
            "conflict",
            f"{MAX_RUNNING} rehearsals are already running on this server: try again when one "
            "has finished",
        )
    try:
        yield
    finally:
        _running.release()
