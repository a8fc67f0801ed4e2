"""The faces' safety net: a 403 that `access` did not decide (an acknowledge link's bad signature,
an eval the operator does not allow the server to run) reaches the audit trail through
`AccessService` here, for the API and the dashboard alike. Every person's action is decided and
its refusal written by `AccessService.authorize` itself, so it arrives here already recorded
(`Refused`) and is not written twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from watchkeeper.app import Watchkeeper


def record_refusal(request: Request, message: str) -> None:
    """A person's refusal is written as it is; one of a caller nobody authenticated goes through
    the noise gate, so garbage cannot flood the trail."""
    watchkeeper: Watchkeeper = request.app.state.watchkeeper
    now = getattr(request.state, "now", None) or watchkeeper.clock.now()
    attempted = f"{request.method} {request.url.path}"
    system = request.path_params.get("name")
    actor = getattr(request.state, "actor", None)
    if actor is None:
        client = request.client.host if request.client else "unknown"
        watchkeeper.access.refuse_anonymous(attempted, system, message, client, now)
        return
    watchkeeper.access.refuse(actor, attempted, request.url.path, system, message, now)
