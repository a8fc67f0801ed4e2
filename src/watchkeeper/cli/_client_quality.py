"""Client mode for the quality commands: the same methods as `QualityOperations`, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote


def _q(name: str) -> str:
    return quote(name, safe="")


class QualityRemote:
    _call: Callable[..., Any]  # Remote's request helper

    def tick(self) -> dict[str, Any]:
        return self._call("POST", "/tick")

    def check(self, system: str) -> dict[str, Any]:
        return self._call("POST", f"/systems/{_q(system)}/check")

    def findings(self, system: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if system:
            params["system"] = system
        return self._call("GET", "/findings", params=params)

    def incidents(self, system: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"open": open_only}
        if system:
            params["system"] = system
        return self._call("GET", "/incidents", params=params)

    def incident(self, incident_id: int) -> dict[str, Any]:
        return self._call("GET", f"/incidents/{incident_id}")

    def incident_ack(self, incident_id: int) -> dict[str, Any]:
        return self._call("POST", f"/incidents/{incident_id}/ack")

    def incident_resolve(self, incident_id: int, reason: str) -> dict[str, Any]:
        return self._call("POST", f"/incidents/{incident_id}/resolve", json={"reason": reason})

    def incident_serious(self, incident_id: int, kind: str) -> dict[str, Any]:
        return self._call("POST", f"/incidents/{incident_id}/serious", json={"kind": kind})

    def silence(
        self, system: str | None, matchers: dict[str, str], hours: float, reason: str, kind: str
    ) -> dict[str, Any]:
        body = {
            "system": system,
            "matchers": matchers,
            "hours": hours,
            "reason": reason,
            "kind": kind,
        }
        return self._call("POST", "/silences", json=body)

    def eval_run(
        self,
        system: str,
        suite: str | None = None,
        base_dir: str | None = None,
        progress: Any = None,
    ) -> list[dict[str, Any]]:
        del base_dir, progress  # the server runs evals where its datasets and targets live
        return self._call("POST", f"/systems/{_q(system)}/evals", json={"suite": suite})

    def report(self, system: str, days: int = 30) -> dict[str, Any]:
        return self._call("GET", f"/systems/{_q(system)}/report", params={"days": days})

    def review(self, system: str, verdict: str, notes: str, days: int = 30) -> dict[str, Any]:
        body = {"verdict": verdict, "notes": notes, "days": days}
        return self._call("POST", f"/systems/{_q(system)}/reviews", json=body)

    def care_log(self, system: str, hours: float, kind: str, note: str) -> dict[str, Any]:
        body = {"hours": hours, "kind": kind, "note": note}
        return self._call("POST", f"/systems/{_q(system)}/care", json=body)

    def care_ledger(self, system: str) -> dict[str, Any]:
        return self._call("GET", f"/systems/{_q(system)}/care")

    def record(
        self,
        kind: str,
        system: str,
        title: str,
        fields: dict[str, Any],
        incident_id: int | None = None,
        closes: int | None = None,
    ) -> dict[str, Any]:
        body = {
            "kind": kind,
            "title": title,
            "fields": fields,
            "incident_id": incident_id,
            "closes": closes,
        }
        return self._call("POST", f"/systems/{_q(system)}/knowledge", json=body)

    def postmortem(self, incident_id: int, title: str, fields: dict[str, Any]) -> dict[str, Any]:
        system = self.incident(incident_id)["system"]
        return self.record("postmortem", system, title, fields, incident_id=incident_id)

    def knowledge(self, system: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/systems/{_q(system)}/knowledge")

    def triage_queue(self, system: str, status: str | None = "open") -> list[dict[str, Any]]:
        return self._call("GET", f"/systems/{_q(system)}/triage", params={"all": status is None})

    def triage_verdict(
        self,
        item_id: int,
        verdict: str,
        label: str | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        body = {"verdict": verdict, "label": label, "tags": tags or [], "note": note}
        return self._call("POST", f"/triage/{item_id}/verdict", json=body)
