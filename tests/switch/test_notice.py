"""Every flip tells the system's owner and kill authorities, with a command that works: the
deliveries go to a real HTTP receiver on loopback, and the commands the notices suggest are run."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Cli, webhook_people
from watchkeeper.app import build
from watchkeeper.manifest import load_text
from watchkeeper.settings import Settings
from watchkeeper.testing import T0, HttpReceiver, http_receiver

OWNER, KILLER, ONCALL, BYSTANDER = (
    "ana@corp.example",
    "kim@corp.example",
    "tess@corp.example",
    "uma@corp.example",
)


@pytest.fixture
def receiver(db_url: str) -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        people = webhook_people(receiver.url, OWNER, KILLER, ONCALL, BYSTANDER)
        people["teams"] = [{"name": "oncall", "members": [ONCALL]}]
        system = {
            "apiVersion": "watchkeeper/v1",
            "kind": "AISystem",
            "metadata": {"name": "bot"},
            "spec": {
                "charter": {"owner": OWNER, "kill_authority": [KILLER, "oncall"]},
                "kill_switch": {"fail_mode": "closed", "fallback": "Send tickets to a person"},
                "runbook": {"playbooks": {"harm": {"auto_disable": True}}},
            },
        }
        app = build(Settings(db=db_url))
        try:
            app.charter.apply(
                load_text("\n---\n".join(json.dumps(d) for d in (people, system))), "ops", T0
            )
        finally:
            app.close()
        yield receiver


def told(receiver: HttpReceiver) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for request in receiver.requests:
        found.setdefault(request.path.strip("/"), []).append(json.loads(request.body))
    return found


def suggested(message: dict[str, Any]) -> list[str]:
    return [line.strip() for line in message["body"].splitlines() if line.startswith("  wk ")]


def test_a_flip_tells_the_owner_and_every_kill_authority_and_its_command_works(
    wk: Cli, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHKEEPER_PUBLIC_URL", "http://wk.example")
    code, _, err = wk("kill", "bot", "--reason", "harmful answers", user=KILLER)
    assert code == 0, err
    notices = told(receiver)
    assert sorted(notices) == ["ana", "kim", "tess"], "owner, kill authority, team member"
    for (message,) in notices.values():
        assert message["title"] == f"bot was taken offline by {KILLER}"
        assert message["event"] == "notice"
        assert "Reason: harmful answers" in message["body"]
        assert "Send tickets to a person" in message["body"]
        assert message["links"] == [
            {"text": "Open the kill switch", "href": "http://wk.example/systems/bot#switch"}
        ]
    (restore,) = suggested(notices["ana"][0])
    code, out, err = wk(*shlex.split(restore)[1:], user=ONCALL)
    assert code == 0, err
    assert "enabled" in out
    back_on = told(receiver)["ana"][1]
    assert back_on["title"] == f"bot was put back online by {ONCALL}"
    (kill,) = suggested(back_on)
    code, _, err = wk(*shlex.split(kill)[1:], user=KILLER)
    assert code == 0, err
    assert [m["title"] for m in told(receiver)["kim"]] == [
        f"bot was taken offline by {KILLER}",
        f"bot was put back online by {ONCALL}",
        f"bot was taken offline by {KILLER}",
    ]


def test_a_refused_or_repeated_flip_tells_nobody(wk: Cli, receiver: HttpReceiver) -> None:
    code, _, err = wk("kill", "bot", "--reason", "not mine to pull", user=BYSTANDER)
    assert code == 2 and "kill" in err
    code, _, _ = wk("restore", "bot", "--reason", "already on", user=KILLER)
    assert code == 0
    assert receiver.requests == []


def test_a_playbooks_kill_is_told_once_to_each_and_is_critical(
    db_url: str, receiver: HttpReceiver
) -> None:
    app = build(Settings(db=db_url))
    try:
        app.switch.auto_disable("bot", "harm", "alert harm fired", T0)
    finally:
        app.close()
    notices = told(receiver)
    assert sorted(notices) == ["ana", "kim", "tess"]
    for (message,) in notices.values():
        assert message["severity"] == "critical"
        assert message["title"] == "bot was taken offline by playbook:harm"
