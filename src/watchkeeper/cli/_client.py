"""Client mode: with WATCHKEEPER_URL set, the CLI acts through the server as the token's owner.

`Remote` has the same methods as `access.Operations` and returns the same dicts; the server's
errors come back as the exceptions the local path raises (ActionError, ManifestError), so every
command prints and exits the same way in either mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from watchkeeper.cli._client_quality import QualityRemote
from watchkeeper.errors import ActionError, ErrorKind

_KIND: dict[int, ErrorKind] = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
}


class ServerError(Exception):
    """The server could not be reached or failed; nothing is known to have changed."""


class Remote(QualityRemote):
    def __init__(self, url: str, token: str | None) -> None:
        if not token:
            raise ActionError(
                "unauthenticated",
                "WATCHKEEPER_URL is set but WATCHKEEPER_TOKEN is not: ask an admin for a token "
                "(`wk token create EMAIL`), or unset WATCHKEEPER_URL to use a local database",
            )
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "watchkeeper-cli"},
            timeout=60.0,
        )

    def close(self) -> None:
        self._http.close()

    # --- reads -----------------------------------------------------------------------------

    def status(self, system: str | None = None) -> list[dict[str, Any]]:
        if system is None:
            return self._call("GET", "/systems")
        return [self._call("GET", f"/systems/{quote(system, safe='')}")]

    def vacuum(self) -> dict[str, Any]:
        return self._call("GET", "/vacuum")

    def verify_audit(self) -> dict[str, Any]:
        return self._call("GET", "/audit/verify")

    def gate(self, paths: Sequence[str]) -> list[dict[str, Any]]:
        """The readiness reports of the files here, judged by the server's acknowledgements."""
        return self._call("POST", "/gate", json={"files": _read(paths)})

    # --- changes ---------------------------------------------------------------------------

    def apply(self, paths: Sequence[str], justification: str | None = None) -> list[dict[str, Any]]:
        body = {"files": _read(paths), "justification": justification}
        return self._call("POST", "/apply", json=body)

    def ack(self, system: str, role: str) -> list[dict[str, Any]]:
        return self._call("POST", f"/systems/{quote(system, safe='')}/acks", json={"role": role})

    def deactivate(self, email: str) -> dict[str, Any]:
        return self._call("POST", f"/people/{quote(email, safe='@')}/deactivate")

    def reactivate(self, email: str) -> dict[str, Any]:
        return self._call("POST", f"/people/{quote(email, safe='@')}/reactivate")

    def create_token(self, email: str, expires: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/tokens", json={"email": email, "expires": expires})

    def create_service_token(
        self, system: str, expires: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        body = {"service": system, "name": name, "expires": expires}
        return self._call("POST", "/tokens", json=body)

    def create_scim_token(
        self, expires: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        return self._call("POST", "/tokens", json={"scim": True, "name": name, "expires": expires})

    def tokens(self, person: str | None = None, service: str | None = None) -> list[dict[str, Any]]:
        asked = {"person": person, "service": service}
        return self._call("GET", "/tokens", params={k: v for k, v in asked.items() if v})

    def revoke_token(self, ref: str) -> dict[str, Any]:
        return self._call("POST", f"/tokens/{quote(ref, safe='')}/revoke")

    def set_switch(
        self,
        system: str,
        state: str,
        reason: str,
        wait: float = 0.0,
        justification: str | None = None,
    ) -> dict[str, Any]:
        body = {"state": state, "reason": reason, "justification": justification}
        path = f"/systems/{quote(system, safe='')}/switch"
        return self._call("POST", path, json=body, params={"wait": wait})

    def switch_confirmations(self, system: str) -> dict[str, Any]:
        return self._call("GET", f"/systems/{quote(system, safe='')}/switch/confirmations")

    def drill(self, system: str, reason: str | None = None, wait: float = 30.0) -> dict[str, Any]:
        path = f"/systems/{quote(system, safe='')}/switch/drill"
        return self._call("POST", path, json={"reason": reason}, params={"wait": wait})

    def rehearse(
        self,
        system: str,
        scenario: str = "quality-drop",
        paths: Sequence[str] = (),
        budget: float = 120.0,
    ) -> dict[str, Any]:
        """Rehearsed on the server; the files here, when given, sent as `gate` sends them. The
        answer may take the whole budget, so the wait for it is the budget and then some."""
        body: dict[str, Any] = {"scenario": scenario, "budget": budget}
        if paths:
            body["files"] = _read(paths)
        path = f"/systems/{quote(system, safe='')}/rehearsals"
        return self._call("POST", path, json=body, timeout=budget + 60.0)

    def rehearsals(self, system: str, limit: int = 20) -> list[dict[str, Any]]:
        path = f"/systems/{quote(system, safe='')}/rehearsals"
        return self._call("GET", path, params={"limit": limit})

    def evidence(self, system: str, start: datetime, end: datetime) -> dict[str, Any]:
        body = {"from": start.isoformat(), "to": end.isoformat()}
        return self._call("POST", f"/systems/{quote(system, safe='')}/evidence", json=body)

    def evidence_origin(self, seq: int) -> dict[str, Any]:
        return self._call("GET", "/evidence/origin", params={"seq": seq})

    # --- observations ----------------------------------------------------------------------

    def ingest(self, system: str, items: Sequence[Any], source: str = "api") -> dict[str, Any]:
        path = f"/systems/{quote(system, safe='')}/observations"
        return self._call("POST", path, json=list(items), params={"source": source})

    def feedback(self, system: str, items: Sequence[Any], source: str = "api") -> dict[str, Any]:
        path = f"/systems/{quote(system, safe='')}/feedback"
        return self._call("POST", path, json=list(items), params={"source": source})

    def profiling(self, system: str) -> dict[str, Any]:
        return self._call("GET", f"/systems/{quote(system, safe='')}/profiling")

    def record_partials(self, system: str, items: Sequence[Any]) -> dict[str, Any]:
        path = f"/systems/{quote(system, safe='')}/partials"
        return self._call("POST", path, json={"items": list(items)})

    def observations(
        self,
        system: str,
        *,
        since: datetime | None = None,
        where: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> dict[str, Any]:
        wanted = {"since": since.isoformat() if since else None, "where": where,
                  "limit": limit, "after": after}  # fmt: skip
        params = {k: v for k, v in wanted.items() if v is not None}
        return self._call("GET", f"/systems/{quote(system, safe='')}/observations", params=params)

    def signals(
        self, system: str, signal: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if signal is not None:
            params["signal"] = signal
        return self._call("GET", f"/systems/{quote(system, safe='')}/signals", params=params)

    def dead_letters(self, system: str, limit: int = 100) -> list[dict[str, Any]]:
        path = f"/systems/{quote(system, safe='')}/dead-letters"
        return self._call("GET", path, params={"limit": limit})

    def flag(self, system: str, observation_id: str, reason: str) -> dict[str, Any]:
        body = {"observation_id": observation_id, "reason": reason}
        return self._call("POST", f"/systems/{quote(system, safe='')}/flags", json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach the Watchkeeper server at {self.url}: {exc}") from None
        body = _body(response)
        if response.status_code < 400:
            return body
        detail = str(body.get("detail") or response.text) if isinstance(body, dict) else ""
        if isinstance(body, dict) and body.get("problems"):
            from watchkeeper.manifest import Location, ManifestError, Problem

            raise ManifestError(
                [
                    Problem(Location(p["file"], p["line"], p["column"]), p["message"])
                    for p in body["problems"]
                ]
            )
        kind = _KIND.get(response.status_code)
        if kind is None:
            raise ServerError(f"the server answered {response.status_code}: {detail}")
        raise ActionError(kind, detail)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500]}


def _read(paths: Sequence[str]) -> list[dict[str, str]]:
    """The manifest files to send, read here so the server sees their text and names."""
    from watchkeeper.manifest import Location, ManifestError, Problem, expand_paths

    files = expand_paths(paths)
    if not files:
        raise ManifestError([Problem(Location("<arguments>", 0, 0), "no manifest files given")])
    submitted, problems = [], []
    for path in files:
        try:
            submitted.append({"name": str(path), "text": Path(path).read_text(encoding="utf-8")})
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(Location(str(path), 0, 0), f"cannot read file: {exc}"))
    if problems:
        raise ManifestError(problems)
    return submitted
