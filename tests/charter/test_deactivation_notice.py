"""Deactivating a person (`wk people deactivate`, the API, SCIM) tells each system whose role
fell vacant: its owner, or the admins when the owner is who left — through real webhooks on
loopback, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import webhook_people
from watchkeeper.app import Operations, build
from watchkeeper.clock import FixedClock
from watchkeeper.settings import Settings
from watchkeeper.store import Store
from watchkeeper.testing import T0, http_receiver

OWNER, LIAISON, ADMIN = "olga@x.io", "lee@x.io", "ada@x.io"


def test_the_owner_hears_of_a_vacancy_and_the_admins_when_the_owner_left(
    store: Store, tmp_path: Path
) -> None:
    app = build(Settings(), store=store, clock=FixedClock(T0))
    with http_receiver() as receiver:
        people = webhook_people(receiver.url, OWNER, LIAISON, ADMIN)
        people["people"][2]["admin"] = True
        system = {
            "apiVersion": "watchkeeper/v1", "kind": "AISystem", "metadata": {"name": "bot"},
            "spec": {"charter": {"owner": OWNER, "data_liaison": LIAISON}},
        }  # fmt: skip
        path = tmp_path / "org.yaml"
        path.write_text("\n---\n".join(json.dumps(d) for d in (people, system)))
        Operations(app, "setup", T0, enforce=False).apply([str(path)])
        ops = Operations(app, ADMIN, T0, enforce=True)
        ops.deactivate(LIAISON)
        [told] = receiver.on("/olga")
        assert "data_liaison" in told.json()["title"] and LIAISON in told.json()["title"]
        assert receiver.on("/ada") == []
        ops.deactivate(OWNER)
        [admins] = receiver.on("/ada")
        assert "owner" in admins.json()["title"]
    app.close()
