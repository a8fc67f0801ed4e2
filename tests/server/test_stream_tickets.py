"""The ticket an open switch stream hands its process: good for reports about that one system,
while the stream lives and GRACE after, and for nothing else."""

from __future__ import annotations

import httpx

from tests.sdk.test_switch_stream import SWITCH, report_headers, stored
from tests.server._world import SYSTEM, World
from watchkeeper.server import LiveServer
from watchkeeper.server._tickets import GRACE, Tickets


def test_a_ticket_admits_reports_about_its_system_until_the_stream_and_grace_are_over() -> None:
    tickets = Tickets()
    ticket = tickets.issue("bot", until=100.0, at=70.0)
    assert tickets.admits(ticket, "bot", 70.0) and tickets.admits(ticket, "bot", 100 + GRACE - 0.1)
    assert not tickets.admits(ticket, "bot", 100 + GRACE)
    assert not tickets.admits(ticket, "other", 71.0)
    assert not tickets.admits(None, "bot", 71.0) and not tickets.admits("made-up", "bot", 71.0)
    later = tickets.issue("bot", until=200.0, at=110.0)  # issuing after a while purges the dead
    assert not tickets.admits(ticket, "bot", 104.0) and tickets.admits(later, "bot", 150.0)


def test_over_http_the_ticket_alone_confirms_for_its_system_only(world: World) -> None:
    token = world.token("other_role_holder")
    with LiveServer(world.app, max_wait=1.0) as server, httpx.Client(base_url=server.url) as http:
        opened = http.get(
            f"{SWITCH}/stream", params={"wait": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        ticket = opened.headers["Watchkeeper-Stream"]
        alone = {**report_headers(), "Watchkeeper-Stream": ticket}
        assert http.post(f"{SWITCH}/report", headers=alone).status_code == 204
        other = f"/api/v1/systems/{SYSTEM}-other/switch/report"
        assert http.post(other, headers=alone).status_code == 401
        assert http.post(f"{SWITCH}/report", headers=report_headers()).status_code == 401
    assert [p.version for p in stored(world)] == [0]
