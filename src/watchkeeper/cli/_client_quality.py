"""Client mode for the quality commands: the same methods as `QualityOperations`, over HTTP —
except evals, which run here, where the system's code lives, and are uploaded for the server to
record."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from watchkeeper.clock import SystemClock


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

    def incident_serious(
        self,
        incident_id: int,
        category: str,
        death: bool = False,
        widespread: bool = False,
        aware_at: datetime | None = None,
    ) -> dict[str, Any]:
        body = {
            "category": category,
            "death": death,
            "widespread": widespread,
            "aware_at": aware_at.isoformat() if aware_at else None,
        }
        return self._call("POST", f"/incidents/{incident_id}/serious", json=body)

    def incident_report(self, incident_id: int, complete: bool = False) -> dict[str, Any]:
        params = {"complete": complete}
        return self._call("GET", f"/incidents/{incident_id}/report", params=params)

    def incident_report_submitted(
        self, incident_id: int, complete: bool = False, reference: str | None = None
    ) -> dict[str, Any]:
        body = {"complete": complete, "reference": reference}
        return self._call("POST", f"/incidents/{incident_id}/report/submitted", json=body)

    def incident_justify(self, incident_id: int, change: int, text: str) -> dict[str, Any]:
        path = f"/incidents/{incident_id}/changes/{change}/justification"
        return self._call("POST", path, json={"text": text})

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

    def eval_suites(self, system: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/systems/{_q(system)}/evals")

    def eval_run(
        self,
        system: str,
        suite: str | None = None,
        base_dir: str | None = None,
        progress: Any = None,
    ) -> list[dict[str, Any]]:
        """The applied manifest's suites, run on this checkout (targets imported from it, golden
        sets read from it) and each uploaded as it finishes, as local mode records each."""
        from watchkeeper.evals import choose_suites, run_spec
        from watchkeeper.manifest import EvalSuite

        suites = [EvalSuite.model_validate(s) for s in self.eval_suites(system)]
        base = base_dir or os.getcwd()
        return [
            self.eval_upload(
                system,
                spec.suite,
                run_spec(spec, base, SystemClock().now(), progress=progress).to_dict(),
            )
            for spec in choose_suites(system, suites, suite)
        ]

    def eval_upload(self, system: str, suite: str, run: dict[str, Any]) -> dict[str, Any]:
        body = {"suite": suite, "run": run}
        return self._call("POST", f"/systems/{_q(system)}/evals/runs", json=body)

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
