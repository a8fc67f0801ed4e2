"""The evidence hold of a serious incident (EU AI Act Art. 73(6)), on both stores: a manifest
applied or a switch restored needs a recorded justification, a new model version seen in
observations is recorded unjustified and justified afterwards, a kill is never held back, and
the hold lifts once the incident is resolved and a report was submitted. Through `Operations`,
the `wk` commands (exit 2) and the API (409)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.alerting._serious_world import (
    CLINIC,
    DAY,
    KIM,
    OLGA,
    SYSTEM,
    H,
    as_,
    audited,
    changed,
    events,
    observe,
    open_clinic,
    write,
)
from tests.conftest import SQLITE_ONLY, Cli, RemoteCli
from tests.server._world import SYSTEM_YAML, Api, World, failing_run
from watchkeeper.app import Watchkeeper
from watchkeeper.errors import ActionError
from watchkeeper.server import LiveServer
from watchkeeper.testing import T0


@pytest.fixture
def held(app: Watchkeeper, tmp_path: Path) -> int:
    """The clinic's incident, classified serious an hour after it opened."""
    incident = open_clinic(app, tmp_path)
    as_(app, OLGA, T0 + H).incident_serious(incident, "a")
    return incident


def version(app: Watchkeeper) -> int:
    with app.store.read() as unit:
        record = unit.system(SYSTEM)
    assert record is not None
    return record.version


def test_an_apply_under_the_hold_needs_a_justification_and_is_recorded(
    app: Watchkeeper, held: int, tmp_path: Path
) -> None:
    olga = as_(app, OLGA, T0 + 2 * H)
    path = write(tmp_path, changed("Triage v2"))
    with pytest.raises(ActionError) as refused:
        olga.apply([path])
    assert refused.value.kind == "conflict"
    assert f"serious incident #{held}" in refused.value.message
    assert "Art. 73(6)" in refused.value.message and "--justification" in refused.value.message
    assert version(app) == 1 and events(app, held, "hold.change") == []

    [change] = olga.apply([path], "rank by the clinician's urgency field")
    assert version(app) == 2 and change["action"] == "updated"
    [recorded] = events(app, held, "hold.change")
    assert recorded["kind"] == "apply" and recorded["_actor"] == OLGA
    assert recorded["justification"] == "rank by the clinician's urgency field"
    assert recorded["what"].startswith("manifest version 2 applied: metadata.title")
    assert f"change #{recorded['change']} under a serious incident's hold" in change["details"]
    [entry] = audited(app, "incident.hold.change")
    assert entry["after"]["change"] == recorded["change"]
    assert entry["reason"] == recorded["justification"]


def test_an_unchanged_manifest_changes_nothing_and_needs_no_justification(
    app: Watchkeeper, held: int, tmp_path: Path
) -> None:
    [change] = as_(app, OLGA, T0 + 2 * H).apply([write(tmp_path, CLINIC)])
    assert change["action"] == "unchanged" and events(app, held, "hold.change") == []


def test_a_kill_is_never_held_back_a_restore_needs_a_justification(
    app: Watchkeeper, held: int
) -> None:
    kim = as_(app, KIM, T0 + 2 * H)
    assert kim.set_switch(SYSTEM, "disabled", "harmful ranking")["changed"]
    assert events(app, held, "hold.change") == []
    with pytest.raises(ActionError) as refused:
        as_(app, KIM, T0 + 3 * H).set_switch(SYSTEM, "enabled", "fixed")
    assert refused.value.kind == "conflict" and f"#{held}" in refused.value.message
    assert app.switch.state(SYSTEM).state == "disabled"
    restored = as_(app, KIM, T0 + 3 * H).set_switch(
        SYSTEM, "enabled", "fixed", justification="v1 restored, the cause is the export"
    )
    assert restored["state"] == "enabled"
    [recorded] = events(app, held, "hold.change")
    assert (recorded["kind"], recorded["_actor"]) == ("restore", KIM)
    assert recorded["justification"] == "v1 restored, the cause is the export"


def test_a_new_model_version_is_recorded_unjustified_then_justified_once(
    app: Watchkeeper, held: int
) -> None:
    observe(app, "o2", "v1", T0 + 2 * H)
    assert events(app, held, "hold.change") == [], "v1 was in service when the hold began"
    observe(app, "o3", "v2", T0 + 3 * H)
    observe(app, "o4", "v2", T0 + 4 * H)
    [recorded] = events(app, held, "hold.change")
    assert (recorded["kind"], recorded["model_version"]) == ("model_version", "v2")
    assert (recorded["justification"], recorded["_actor"]) == (None, "watchkeeper")
    assert [e["after"]["model_version"] for e in audited(app, "incident.hold.change")] == ["v2"]

    olga = as_(app, OLGA, T0 + 5 * H)
    justified = olga.incident_justify(held, recorded["change"], "the vendor's hotfix")
    assert (justified["justification"], justified["justified_by"]) == ("the vendor's hotfix", OLGA)
    [shown] = olga.incident_report(held)["hold"]["changes"]
    assert shown["justification"] == "the vendor's hotfix"
    assert shown["justified_at"] == (T0 + 5 * H).isoformat()
    [entry] = audited(app, "incident.hold.justified")
    assert entry["after"] == {"change": recorded["change"], "justification": "the vendor's hotfix"}

    with pytest.raises(ActionError) as twice:
        olga.incident_justify(held, recorded["change"], "something else")
    assert twice.value.kind == "conflict" and "justified already" in twice.value.message


@pytest.mark.parametrize(("change", "text", "kind"), [(999_999, "why", "not_found"),
                                                       (None, "  ", "invalid")])  # fmt: skip
@SQLITE_ONLY
def test_justifying_an_unknown_change_or_with_no_words_is_refused(
    app: Watchkeeper, held: int, change: int | None, text: str, kind: str
) -> None:
    observe(app, "o2", "v2", T0 + 2 * H)
    [recorded] = events(app, held, "hold.change")
    with pytest.raises(ActionError) as refused:
        as_(app, OLGA, T0 + 3 * H).incident_justify(held, change or recorded["change"], text)
    assert refused.value.kind == kind
    assert audited(app, "incident.hold.justified") == []


def test_the_hold_lifts_once_resolved_and_reported_not_before(
    app: Watchkeeper, held: int, tmp_path: Path
) -> None:
    olga = as_(app, OLGA, T0 + 2 * H)
    olga.incident_resolve(held, "rolled back")
    with pytest.raises(ActionError):
        olga.apply([write(tmp_path, changed("Triage v2"))])
    assert olga.incident(held)["hold"] is True, "resolved, but nothing was reported yet"

    reported = as_(app, OLGA, T0 + DAY).incident_report_submitted(held)
    assert reported["hold"] is False
    [change] = as_(app, OLGA, T0 + DAY).apply([write(tmp_path, changed("Triage v2"))])
    assert change["action"] == "updated"
    observe(app, "o2", "v3", T0 + DAY + H)
    assert events(app, held, "hold.change") == []


# --- wk -------------------------------------------------------------------------------------------


@SQLITE_ONLY
def test_wk_refuses_a_held_change_with_exit_2_and_takes_its_justification(
    app: Watchkeeper, held: int, tmp_path: Path, wk: Cli
) -> None:
    path = write(tmp_path, changed("Triage v2"))
    code, _, err = wk("apply", path, user=OLGA)
    assert code == 2 and f"serious incident #{held}" in err and "--justification" in err
    code, out, _ = wk("apply", path, "--justification", "fix the ranking", user=OLGA)
    assert code == 0 and "under a serious incident's hold" in out

    assert wk("kill", SYSTEM, "--reason", "harm", "--wait", "0", user=KIM)[0] == 0
    code, _, err = wk("restore", SYSTEM, "--reason", "fixed", "--wait", "0", user=KIM)
    assert code == 2 and "Art. 73(6)" in err
    restore = ("restore", SYSTEM, "--reason", "fixed", "--wait", "0", "--justification", "v1")
    assert wk(*restore, user=KIM)[0] == 0
    assert [e["kind"] for e in events(app, held, "hold.change")] == ["apply", "restore"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("serious", "1", "--category", "e"), "unknown category 'e'"),
        (("serious", "1", "--category", "b", "--death"), "a death is category (a)"),
        (("serious", "1", "--category", "d", "--aware-at", "2099-01-01T00:00Z"), "in the future"),
        (("serious", "1", "--category", "d", "--aware-at", "yesterday"), "ISO 8601"),
        (("justify", "1", "999999", "--text", "why"), "no change #999999"),
        (("report", "1", "--reference", "MSA-1"), "goes with --submitted"),
    ],
)
@SQLITE_ONLY
def test_wk_says_what_is_wrong_with_bad_input_and_exits_2(
    held: int, wk: Cli, args: tuple[str, ...], says: str
) -> None:
    code, _, err = wk("incident", *args, user=OLGA)
    assert code == 2 and says in err


def test_wk_drafts_the_report_records_it_sent_and_shows_the_deadline(
    app: Watchkeeper, held: int, wk: Cli
) -> None:
    code, out, _ = wk("incident", "report", str(held), user=OLGA)
    assert code == 0 and out.startswith("# Serious incident report (initial, EU AI Act")
    code, out, _ = wk("incident", "report", str(held), "--complete", "--json", user=OLGA)
    assert code == 0 and json.loads(out)["report"] == "complete"
    code, out, _ = wk("incident", "list", user=OLGA)
    assert code == 0 and "due 2026-01-20" in out
    code, out, _ = wk("incident", "show", str(held), user=OLGA)
    assert "Art. 3(49)(a), report due" in out and "evidence hold on" in out
    sent = ("incident", "report", str(held), "--submitted", "--reference", "MSA-7")
    code, out, _ = wk(*sent, user=OLGA)
    assert code == 0 and "initial report recorded as submitted" in out
    assert [e["reference"] for e in events(app, held, "report.submitted")] == ["MSA-7"]
    code, out, _ = wk("incident", "list", user=OLGA)
    assert "due 2026-01-20" not in out and "sent " in out


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture
def incident(api: Api, world: World) -> int:
    """The triage bot's incident, opened by a failing eval."""
    upload = {"suite": "golden", "run": failing_run()}
    path = "/api/v1/systems/triage-bot/evals/runs"
    assert api("POST", path, world.token("owner"), json=upload).status_code == 201
    [opened] = api("POST", "/api/v1/tick", world.token("admin")).json()["incidents_opened"]
    return int(opened)


@SQLITE_ONLY
def test_the_api_classifies_drafts_refuses_held_changes_and_records_the_report(
    api: Api, world: World, incident: int
) -> None:
    owner, kill = world.token("owner"), world.token("kill_authority")
    serious = f"/api/v1/incidents/{incident}/serious"
    bad = api("POST", serious, owner, json={"category": "e"})
    assert bad.status_code == 400 and "category" in bad.text
    assert api("POST", serious, owner, json={"category": "b", "death": True}).status_code == 400
    future = {"category": "d", "aware_at": "2099-01-01T00:00:00Z"}
    assert api("POST", serious, owner, json=future).status_code == 400
    classified = api("POST", serious, owner, json={"category": "b"})
    assert classified.status_code == 200, classified.text
    assert (classified.json()["serious_kind"], classified.json()["hold"]) == (
        "critical-infrastructure",
        True,
    )

    draft = api("GET", f"/api/v1/incidents/{incident}/report", owner)
    assert draft.status_code == 200 and "Art. 3(49)(b)" in draft.json()["text"]
    complete = api("GET", f"/api/v1/incidents/{incident}/report?complete=true", owner)
    assert complete.json()["report"] == "complete"

    files = [{"name": "watchkeeper.yaml", "text": SYSTEM_YAML.replace("Ticket triage", "v2")}]
    refused = api("POST", "/api/v1/apply", owner, json={"files": files})
    assert refused.status_code == 409 and f"#{incident}" in refused.json()["detail"]
    body = {"files": files, "justification": "retitled"}
    assert api("POST", "/api/v1/apply", owner, json=body).status_code == 200

    switch = "/api/v1/systems/triage-bot/switch"
    assert api("POST", switch, kill, json={"state": "disabled", "reason": "harm"}).is_success
    enable = {"state": "enabled", "reason": "fixed"}
    assert api("POST", switch, kill, json=enable).status_code == 409
    justified = api("POST", switch, kill, json={**enable, "justification": "fixed at source"})
    assert justified.status_code == 200

    unknown = api("POST", f"/api/v1/incidents/{incident}/changes/999999/justification", owner,
                  json={"text": "why"})  # fmt: skip
    assert unknown.status_code == 404 and "no change #999999" in unknown.json()["detail"]

    sent = api("POST", f"/api/v1/incidents/{incident}/report/submitted", owner,
               json={"reference": "MSA-9"})  # fmt: skip
    assert sent.status_code == 200 and sent.json()["reported_at"] is not None
    detail = api("GET", f"/api/v1/incidents/{incident}", owner).json()
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds.count("hold.change") == 2 and "report.submitted" in kinds


@SQLITE_ONLY
def test_wk_through_the_server_classifies_drafts_and_refuses_a_held_apply(
    world: World, incident: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client mode: the same commands over a real server on loopback, as the token's owner."""
    with LiveServer(world.app) as live:
        remote = RemoteCli(live.url, capsys, monkeypatch)
        owner = world.token("owner")
        aware = (world.app.clock.now() - H).isoformat()
        serious = ("incident", "serious", str(incident), "--category", "a", "--death")
        code, out, _ = remote(*serious, "--aware-at", aware, token=owner)
        assert code == 0 and "Art. 3(49)(a), report due" in out and "10 days, Art. 73(4)" in out
        code, _, err = remote("incident", "serious", str(incident), "--category", "z", token=owner)
        assert code == 2 and "category" in err
        code, out, _ = remote("incident", "report", str(incident), token=owner)
        assert code == 0 and "Category Art. 3(49)(a)" in out
        changed_file = world.folder / "changed.yaml"
        changed_file.write_text(SYSTEM_YAML.replace("Ticket triage", "v2"), encoding="utf-8")
        code, _, err = remote("apply", str(changed_file), token=owner)
        assert code == 2 and f"serious incident #{incident}" in err
        code, _, _ = remote("apply", str(changed_file), "--justification", "retitled", token=owner)
        assert code == 0
        sent = ("incident", "report", str(incident), "--submitted", "--complete")
        code, out, _ = remote(*sent, token=owner)
        assert code == 0 and "complete report recorded as submitted" in out
