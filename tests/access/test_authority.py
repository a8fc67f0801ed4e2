"""Every action a person takes through `Operations`, as the API, the dashboard and the local CLI
take it: allowed for whom the manifest names for it, refused for anyone else — and each refusal
in the audit trail, in the local CLI's mode too unless the action is one a process on the database
is trusted with (`TRUSTED_LOCALLY`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_unreadable
from tests.server._world import failing_run
from watchkeeper.access import ACTIONS, TRUSTED_LOCALLY, Action, Refused
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.testing import T0

SYSTEM = "bot"


def email(name: str) -> str:
    return f"{name}@corp.example"


# Each person holds one thing on the system, so each rule is seen alone.
OLGA, QUINN, RITA, DAN, KIM = (email(n) for n in ("olga", "quinn", "rita", "dan", "kim"))
PAT = email("pat")  # on the escalation path only
TARA = email("tara")  # the triage assignee only
UMA, ZED, IVY = email("uma"), email("zed"), email("ivy")  # nothing; a spare; one who left
ADAM = email("adam")  # admin
PEOPLE = {
    "apiVersion": "watchkeeper/v1",
    "kind": "People",
    "people": [
        *({"email": e} for e in (OLGA, QUINN, RITA, DAN, KIM, PAT, TARA, UMA, ZED, IVY)),
        {"email": ADAM, "admin": True},
    ],
    "teams": [{"name": "deciders", "members": [RITA]}],
}
BOT = {
    "apiVersion": "watchkeeper/v1",
    "kind": "AISystem",
    "metadata": {"name": SYSTEM},
    "spec": {
        "lifecycle": "live",
        "charter": {
            "owner": OLGA,
            "quality_monitor": QUINN,
            "retraining_decider": "deciders",  # a team: the decision is assigned to its name
            "data_liaison": DAN,
            "kill_authority": [KIM],
        },
        "runbook": {
            "signals": {"accuracy": {"from": "eval", "suite": "golden"}},
            "alerts": [
                {
                    "name": "harm",
                    "signal": "accuracy",
                    "below": 0.5,
                    "severity": "critical",
                    "playbook": "retrain",
                }
            ],
            "escalation": {"levels": [{"notify": [PAT]}]},
            "playbooks": {"retrain": {"open_decision": "retrain"}},
            "triage": {"assignee": TARA},
        },
        "evals": [{"suite": "golden", "dataset": "evals/golden.jsonl", "target": "bot.app:answer"}],
    },
}
FAILING = failing_run(3)
OBSERVATION = {"id": "o1", "ts": T0.isoformat(), "output": "spam"}
POSTMORTEM = {"summary": "labels were off", "impact": "a day", "root_causes": ["a bad export"]}


@pytest.fixture
def bot(app: Watchkeeper, tmp_path: Path) -> Watchkeeper:
    """The system after its first bad eval: an open incident, the pending retrain-or-replace
    decision assigned to the team `deciders`, and a flagged observation in triage."""
    org = tmp_path / "org.yaml"
    org.write_text("\n---\n".join(json.dumps(d) for d in (PEOPLE, BOT)), encoding="utf-8")
    setup = Operations(app, "setup", T0, enforce=False)
    setup.apply([str(org)])
    setup.create_token(OLGA)
    setup.deactivate(IVY)
    setup.ingest(SYSTEM, [OBSERVATION])
    setup.flag(SYSTEM, "o1", "looks wrong")
    Operations(app, QUINN, T0, enforce=False).eval_upload(SYSTEM, "golden", FAILING)
    assert app.scheduler.tick(T0).to_dict()["incidents_opened"] == [1]
    return app


def _incident(ops: Operations) -> int:
    [incident] = ops.app.alerting.list_incidents(SYSTEM, open_only=False)
    return int(incident["id"])


def _item(ops: Operations) -> int:
    [item] = ops.app.triage.queue(SYSTEM, ops.now, status=None)
    return int(item["id"])


def _token(ops: Operations) -> str:
    with ops.app.store.read() as unit:
        [token] = unit.tokens(OLGA)
    return token.prefix


def _close(ops: Operations) -> Any:
    fields = {"decision": "retrain", "consequences": "two days of ML time"}
    return ops.record("decision", SYSTEM, "", fields, closes=1)


@dataclass(frozen=True)
class Case:
    action: Action
    refused: str  # someone it is not for
    allowed: str  # someone it is for, by the one thing they hold
    act: Callable[[Operations], Any]


# In order: each allowed act leaves the next meaningful.
CASES = [
    Case("read", IVY, UMA, lambda ops: ops.findings(SYSTEM)),
    Case("observations.write", UMA, PAT, lambda ops: ops.ingest(SYSTEM, [OBSERVATION])),
    Case(
        "feedback.write",
        UMA,
        DAN,
        lambda ops: ops.feedback(SYSTEM, [{"observation_id": "o1", "label": "spam"}]),
    ),
    Case("flag.write", UMA, QUINN, lambda ops: ops.flag(SYSTEM, "o1", "still wrong")),
    Case("triage.verdict", PAT, TARA, lambda ops: ops.triage_verdict(_item(ops), "wrong")),
    Case("system.eval", DAN, QUINN, lambda ops: ops.eval_upload(SYSTEM, "golden", FAILING)),
    Case("incident.ack", UMA, PAT, lambda ops: ops.incident_ack(_incident(ops))),
    Case("incident.serious", UMA, DAN, lambda ops: ops.incident_serious(_incident(ops), "d")),
    Case("decision.close", OLGA, RITA, _close),
    Case(
        "postmortem.write",
        UMA,
        KIM,
        lambda ops: ops.postmortem(_incident(ops), "Bad labels", POSTMORTEM),
    ),
    Case("incident.resolve", UMA, QUINN, lambda ops: ops.incident_resolve(_incident(ops), "fixed")),
    Case(
        "knowledge.record",
        UMA,
        PAT,
        lambda ops: ops.record(
            "near-miss", SYSTEM, "Close call", {"what_happened": "x", "how_caught": "triage"}
        ),
    ),
    Case("care.log", UMA, KIM, lambda ops: ops.care_log(SYSTEM, 2, "maintenance", "relabel")),
    Case("system.rehearse", UMA, KIM, lambda ops: ops.rehearse(SYSTEM, budget=60)),
    Case("review.sign", QUINN, OLGA, lambda ops: ops.review(SYSTEM, "healthy", "fine")),
    Case(
        "system.silence",
        DAN,
        PAT,
        lambda ops: ops.silence(SYSTEM, {"rule": "harm"}, 1, "retraining", "silence"),
    ),
    Case(
        "portfolio.silence",
        OLGA,
        ADAM,
        lambda ops: ops.silence(None, {}, 1, "upgrade", "maintenance"),
    ),
    Case("role.ack", UMA, QUINN, lambda ops: ops.ack(SYSTEM, "quality_monitor")),
    Case("switch.disable", OLGA, KIM, lambda ops: ops.set_switch(SYSTEM, "disabled", "harm")),
    Case(
        "switch.enable",
        ADAM,
        KIM,
        # the incident is serious by now: its evidence hold asks why the system comes back
        lambda ops: ops.set_switch(SYSTEM, "enabled", "fixed", justification="cause fixed"),
    ),
    Case("switch.drill", OLGA, KIM, lambda ops: ops.drill(SYSTEM, "quarterly drill", wait=1)),
    Case("token.create", OLGA, ADAM, lambda ops: ops.create_token(ZED)),
    Case("token.list", UMA, OLGA, lambda ops: ops.tokens(OLGA)),
    Case("token.revoke", UMA, OLGA, lambda ops: ops.revoke_token(_token(ops))),
    Case("person.deactivate", OLGA, ADAM, lambda ops: ops.deactivate(ZED)),
    Case("person.reactivate", OLGA, ADAM, lambda ops: ops.reactivate(ZED)),
    Case("scheduler.tick", OLGA, ADAM, lambda ops: ops.tick()),
]
# Applying manifests is decided per document before anything is parsed (`authorize_applying`,
# `authorize_apply`): tests/server/test_authorization.py's matrix covers it.
APPLYING = {"system.apply", "system.register", "people.apply"}


def denied(app: Watchkeeper) -> list[tuple[str, Any, str | None]]:
    with app.store.read() as unit:
        return [
            (e.actor, e.after, e.reason)
            for e in unit.audit_entries()
            if e.action == "access.denied"
        ]


def test_every_action_but_applying_is_exercised_here() -> None:
    assert {case.action for case in CASES} == set(ACTIONS) - APPLYING


@pytest.mark.parametrize("enforce", [True, False], ids=["api-dashboard", "local-cli"])
def test_each_action_is_for_whom_the_manifest_names_and_each_refusal_is_recorded(
    bot: Watchkeeper, enforce: bool
) -> None:
    for case in CASES:
        before = denied(bot)
        as_refused = Operations(bot, case.refused, T0, enforce=enforce)
        if not enforce and case.action in TRUSTED_LOCALLY:
            case.act(as_refused)  # a process on the database is trusted with it
            assert denied(bot) == before, case.action
            continue
        with pytest.raises(Refused) as caught:
            case.act(as_refused)
        recorded = (case.refused, {"attempted": case.action}, caught.value.message)
        assert denied(bot)[len(before) :] == [recorded], case.action
        case.act(Operations(bot, case.allowed, T0, enforce=enforce))
        assert len(denied(bot)) == len(before) + 1, case.action


def test_a_decision_assigned_to_a_team_is_a_members_or_an_admins_to_close(
    bot: Watchkeeper,
) -> None:
    """The defect of issue 14: a retrain-or-replace decision assigned to a team's name could be
    closed by nobody — no member, no admin."""
    with pytest.raises(Refused, match=r"only the decision's assignee, else its retraining decider"):
        _close(Operations(bot, OLGA, T0, enforce=False))
    closed = _close(Operations(bot, ADAM, T0, enforce=True))
    assert (closed["status"], closed["closed_by"]) == ("decided", ADAM)


def test_only_the_owner_signs_a_review_and_a_team_owner_is_its_members(
    bot: Watchkeeper, tmp_path: Path
) -> None:
    owned_by_team = {**BOT, "spec": {**BOT["spec"], "charter": {"owner": "deciders"}}}
    changed = tmp_path / "bot.yaml"
    changed.write_text(json.dumps(owned_by_team), encoding="utf-8")
    Operations(bot, ADAM, T0, enforce=True).apply([str(changed)])
    with pytest.raises(Refused, match="only its owner"):
        Operations(bot, OLGA, T0, enforce=False).review(SYSTEM, "healthy", "")
    signed = Operations(bot, RITA, T0, enforce=True).review(SYSTEM, "healthy", "")
    assert signed["reviewer"] == RITA


def test_who_answers_for_a_system_is_read_from_a_manifest_the_code_no_longer_reads(
    bot: Watchkeeper,
) -> None:
    """Observations never bounce because a tightened rule made the stored manifest unreadable:
    its charter and escalation path still say who may write them."""
    make_unreadable(bot, SYSTEM, T0)
    written = Operations(bot, PAT, T0, enforce=True).ingest(SYSTEM, [{"id": "o2"}])
    assert written["accepted"] == 1
    with pytest.raises(Refused):
        Operations(bot, UMA, T0, enforce=True).ingest(SYSTEM, [{"id": "o3"}])
