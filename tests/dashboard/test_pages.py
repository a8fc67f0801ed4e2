"""The dashboard in-process: pages for a signed-in person, sign-in and its cookie, CSRF, and the
actions with their refusals — each checked against the store and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tests.conftest import Cli
from tests.dashboard._world import CHEN, DAY, OTHER, SYSTEM, World
from tests.dashboard.conftest import Browser
from watchkeeper.server import create_app

ANA, BEN, UMA = "ana@corp.example", "ben@corp.example", "uma@corp.example"
Open = Callable[[], Browser]


def signed_in(browser: Open, world: World, email: str) -> Browser:
    person = browser()
    assert person.sign_in(world.token(email)).status_code == 303
    return person


def audit(world: World, action: str) -> list[dict[str, object]]:
    with world.app.store.read() as unit:
        return [e.to_dict() for e in unit.audit_entries() if e.action == action]


def test_pages_render_for_a_signed_in_person(browser: Open, world: World) -> None:
    ana = signed_in(browser, world, ANA)
    portfolio = ana.get("/")
    assert portfolio.status_code == 200
    assert "Support assistant" in portfolio.text and "Claims triage" in portfolio.text
    assert "Ana Alvarez" in portfolio.text and "not acknowledged" in portfolio.text
    assert f'href="/incidents/{world.incident}"' in portfolio.text
    assert "critical gaps" in portfolio.text and "enabled" in portfolio.text
    assert portfolio.headers["content-security-policy"].startswith("default-src 'none'")

    system = ana.get(f"/systems/{SYSTEM}")
    assert system.status_code == 200
    for expected in ('id="switch"', "<svg", "healthy min 0.7", "baseline", "Triage queue (3 open)"):
        assert expected in system.text, expected
    assert "took a value outside its categories" in system.text  # the contract break
    assert "Acknowledge kill authority" not in system.text, "hers is done; Dev acks his"
    assert "Alarm budget: 1 per 90d" in system.text
    assert "per 90d" in system.text.split('id="calibration-h"')[1].split("</section>")[0]

    other = ana.get(f"/systems/{OTHER}")
    assert other.status_code == 200 and "vacant" in other.text

    incident = ana.get(f"/incidents/{world.incident}")
    assert incident.status_code == 200
    assert "Escalated to level 1: notified ana@corp.example" in incident.text
    assert "Acknowledge incident" in incident.text

    assert ana.get("/assets/dashboard.css").headers["content-type"].startswith("text/css")
    assert ana.get("/systems/nope").status_code == 404
    assert ana.get("/incidents/not-a-number").status_code == 404


def test_not_signed_in_is_sent_to_sign_in(browser: Open, world: World) -> None:
    anonymous = browser()
    for path in ("/", f"/systems/{SYSTEM}", f"/incidents/{world.incident}"):
        response = anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/signin?next={path}"
    posted = anonymous.post(f"/incidents/{world.incident}/ack")
    assert posted.status_code == 303 and posted.headers["location"].startswith("/signin")
    assert world.app.alerting.incident_detail(world.incident)["status"] == "triggered"


def test_sign_in_sets_a_protected_cookie_and_sign_out_ends_it(browser: Open, world: World) -> None:
    ana = browser()
    wrong = ana.sign_in("wk_not-a-token")
    assert wrong.status_code == 401 and "unknown API token" in wrong.text
    answer = ana.sign_in(world.token(ANA), next=f"/systems/{SYSTEM}")
    assert answer.headers["location"] == f"/systems/{SYSTEM}"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "wk_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert world.token(ANA) not in cookie
    assert ana.get("/").status_code == 200
    assert ana.post("/signout").headers["location"] == "/signin"
    assert ana.get("/").status_code == 303

    elsewhere = browser().sign_in(world.token(ANA), next="//evil.example/")
    assert elsewhere.headers["location"] == "/"


def test_a_tampered_cookie_is_not_a_session(browser: Open, world: World) -> None:
    ana = signed_in(browser, world, ANA)
    value = ana.cookies["wk_session"]
    body, mac = value.split(".")
    ana.cookies.clear()
    ana.cookies.set("wk_session", body[:-2] + "xx." + mac)
    assert ana.get("/").status_code == 303
    ana.cookies.set("wk_session", value)
    assert ana.get("/").status_code == 200


def test_forms_without_this_sessions_csrf_token_are_rejected(browser: Open, world: World) -> None:
    ana = signed_in(browser, world, ANA)
    ana.get(f"/incidents/{world.incident}")
    ana.csrf = "forged"
    refused = ana.post(f"/incidents/{world.incident}/ack")
    assert refused.status_code == 403 and "could not be verified" in refused.text
    assert world.app.alerting.incident_detail(world.incident)["status"] == "triggered"

    forged_sign_in = browser()
    response = forged_sign_in.post("/signin", token=world.token(UMA))
    assert response.status_code == 403 and "wk_session" not in forged_sign_in.cookies


def test_kill_authority_flips_the_switch_after_confirming(browser: Open, world: World) -> None:
    ana = signed_in(browser, world, ANA)
    page = ana.get(f"/systems/{SYSTEM}")
    assert f"Disable {SYSTEM}…" in page.text
    confirm = ana.post(f"/systems/{SYSTEM}/switch", state="disabled", reason="harmful answers")
    assert confirm.status_code == 200 and "Route tickets to the human queue" in confirm.text
    assert world.app.switch.state(SYSTEM).state == "enabled", "nothing changes before confirming"
    flipped = ana.post(
        f"/systems/{SYSTEM}/switch", state="disabled", reason="harmful answers", confirm="yes"
    )
    assert flipped.headers["location"] == f"/systems/{SYSTEM}?done=disabled#switch"
    state = world.app.switch.state(SYSTEM)
    assert (state.state, state.changed_by, state.reason) == ("disabled", ANA, "harmful answers")
    after = ana.get(flipped.headers["location"])
    assert "SDK callers now get its fallback" in after.text and f"Enable {SYSTEM}…" in after.text
    assert ana.post(f"/systems/{SYSTEM}/switch", state="enabled", reason=" ").status_code == 400


def test_switch_flip_by_anyone_else_is_refused_and_audited(browser: Open, world: World) -> None:
    uma = signed_in(browser, world, UMA)
    page = uma.get(f"/systems/{SYSTEM}")
    assert f"Disable {SYSTEM}" not in page.text and "is not a kill authority" in page.text
    for confirm in ("", "yes"):
        refused = uma.post(
            f"/systems/{SYSTEM}/switch", state="disabled", reason="curious", confirm=confirm
        )
        assert refused.status_code == 403
        assert "uma@corp.example is not a kill authority" in refused.text
        assert "recorded in the audit trail" in refused.text
    assert world.app.switch.state(SYSTEM).state == "enabled"
    denied = [e for e in audit(world, "access.denied") if e["actor"] == UMA]
    assert len(denied) == 2 and denied[0]["system"] == SYSTEM


def test_role_holders_acknowledge_their_roles(browser: Open, world: World) -> None:
    ben = signed_in(browser, world, BEN)
    page = ben.get(f"/systems/{SYSTEM}")
    assert "Acknowledge retraining decider" in page.text
    done = ben.post(f"/systems/{SYSTEM}/acks", role="retraining_decider")
    assert done.headers["location"] == f"/systems/{SYSTEM}?done=ack#charter"
    [status] = world.app.charter.status(world.clock.now(), SYSTEM)
    decider = next(a for a in status["assignments"] if a["role"] == "retraining_decider")
    assert decider["ack"] == "acknowledged" and decider["acked_by"] == BEN
    uma = signed_in(browser, world, UMA)
    uma.get(f"/systems/{OTHER}")
    assert uma.post(f"/systems/{OTHER}/acks", role="owner").status_code == 403


def test_incident_acknowledged_by_someone_on_the_path(browser: Open, world: World) -> None:
    uma = signed_in(browser, world, UMA)
    uma.get(f"/incidents/{world.incident}")
    refused = uma.post(f"/incidents/{world.incident}/ack")
    assert refused.status_code == 403 and "may not acknowledge incidents of" in refused.text
    assert [e["target"] for e in audit(world, "access.denied") if e["actor"] == UMA] == [
        f"incident/{world.incident}"
    ]
    ana = signed_in(browser, world, ANA)
    ana.get(f"/incidents/{world.incident}")
    done = ana.post(f"/incidents/{world.incident}/ack")
    assert done.status_code == 303
    page = ana.get(done.headers["location"])
    assert "escalation has stopped" in page.text and "Acknowledge incident" not in page.text
    assert world.app.alerting.incident_detail(world.incident)["acknowledged_by"] == ANA


def test_triage_verdict_is_recorded(browser: Open, world: World) -> None:
    ana = signed_in(browser, world, ANA)
    ana.get(f"/systems/{SYSTEM}")
    item = world.triage_items[0]
    done = ana.post(
        f"/triage/{item}/verdict", verdict="wrong", tags="over-apology, refusal", note="no"
    )
    assert done.headers["location"] == f"/systems/{SYSTEM}?done=verdict#triage"
    [entry] = audit(world, "triage.verdict")
    assert entry["actor"] == ANA and entry["after"] == {
        "verdict": "wrong",
        "label": None,
        "tags": ["over-apology", "refusal"],
    }
    assert "Triage queue (2 open)" in ana.get(done.headers["location"]).text
    assert ana.post(f"/triage/{item}/verdict", verdict="maybe").status_code == 400


def test_signing_out_ends_the_session_even_for_a_kept_cookie(browser: Open, world: World) -> None:
    ana = signed_in(browser, world, ANA)
    kept = ana.cookies["wk_session"]
    ana.get("/")
    assert ana.post("/signout").status_code == 303
    ana.cookies.set("wk_session", kept)
    replayed = ana.get(f"/systems/{SYSTEM}")
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/signin")
    assert ana.post(f"/incidents/{world.incident}/ack").status_code == 303
    assert world.app.alerting.incident_detail(world.incident)["status"] == "triggered"


def test_someone_who_left_is_signed_out_at_once(browser: Open, world: World, wk: Cli) -> None:
    chen = signed_in(browser, world, CHEN)
    assert chen.get("/").status_code == 200
    code, _, stderr = wk("people", "deactivate", CHEN, user="ops@corp.example")
    assert code == 0, stderr
    ended = chen.get("/")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/signin")
    again = chen.sign_in(world.token(CHEN))
    assert again.status_code == 403 and "inactive" in again.text
    assert "wk_session" not in again.headers.get("set-cookie", "")
    assert any(e["actor"] == CHEN for e in audit(world, "access.denied"))


def test_the_dashboard_is_not_part_of_the_api_document(world: World) -> None:
    paths = create_app(world.app).openapi()["paths"]
    assert all(p.startswith(("/api/", "/healthz", "/readyz", "/metrics", "/v1/")) for p in paths)


def test_findings_are_one_row_per_cause_dated_by_their_windows(browser: Open, world: World) -> None:
    """The upstream's channel breaks again the next day: the system page shows the break once,
    over both windows, dated by the windows it is about rather than by the tick that found it;
    the incident page tells each alert by its rule and what it said."""
    start = world.clock.now() - 22 * DAY - timedelta(minutes=5)
    day = start + 22 * DAY
    items = [
        {
            "id": f"again-{i}",
            "ts": (day + i * timedelta(minutes=30)).isoformat(),
            "inputs": {"channel": "phone"},
            "output": "Here is how.",
            "metadata": {"score": 0.9},
        }
        for i in range(12)
    ]
    world.app.ingest.observations(SYSTEM, items, day + DAY)
    world.app.scheduler.tick(world.clock.set(day + DAY + timedelta(minutes=5)))

    page = signed_in(browser, world, ANA).get(f"/systems/{SYSTEM}")
    section = page.text.split('id="findings-h"')[1].split("</section>")[0]
    breaks = [row for row in section.split("<tr>") if "contract (upstream-break)" in row]
    assert len(breaks) == 1, "one break over two windows is one row"
    assert "2026-01-26 00:00 – 2026-01-28 00:00 UTC (2 windows)" in breaks[0]
    assert "took a value outside its categories" in breaks[0]
    threshold = next(row for row in section.split("<tr>") if "threshold (low-quality)" in row)
    assert "2026-01-26 00:00 – 2026-01-27 00:00 UTC" in threshold
    assert "09:05" not in threshold, "not dated by when the tick ran"

    incident = signed_in(browser, world, ANA).get(f"/incidents/{world.incident}")
    assert "Alert low-quality on quality: quality = 0.3, below 0.5" in incident.text
    assert "Alert upstream-break on tickets.channel: upstream tickets:" in incident.text
    assert "Incident opened by alert low-quality on quality" in incident.text
