"""The dashboard in-process: pages for a signed-in person, sign-in and its cookie, CSRF, and the
actions with their refusals — each checked against the store and the audit trail."""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from tests.conftest import Cli
from tests.dashboard._world import CHEN, DAY, OTHER, SYSTEM, World
from tests.dashboard.conftest import Browser
from watchkeeper.app import Operations
from watchkeeper.care import report as reports
from watchkeeper.server import create_app
from watchkeeper.server.dashboard._views import OBSERVATIONS_PAGE, TRIAGE_PAGE

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


def flag_many(world: World, count: int) -> list[dict[str, object]]:
    """`count` more observations flagged by hand (top priority), as `client.flag` would."""
    now = world.clock.now()
    for i in range(count):
        world.app.triage.flag(SYSTEM, f"d{i % 21}-{i // 21 + 4}", f"look at {i}", ANA, now)
    return world.app.triage.queue(SYSTEM, now)


def triage_ids(text: str) -> list[int]:
    return [int(found) for found in re.findall(r'action="/triage/(\d+)/verdict"', text)]


def test_the_triage_queue_is_shown_a_page_at_a_time(browser: Open, world: World) -> None:
    queue = flag_many(world, 25)
    assert len(queue) == 28
    priority = {item["id"]: item["priority"] for item in queue}
    ana = signed_in(browser, world, ANA)
    pages = [ana.get(f"/systems/{SYSTEM}?triage_page={n}") for n in (1, 2, 3)]
    assert "Triage queue (28 open)" in pages[0].text
    shown = [triage_ids(page.text) for page in pages]
    assert [len(ids) for ids in shown] == [TRIAGE_PAGE, TRIAGE_PAGE, 28 - 2 * TRIAGE_PAGE]
    every = [i for ids in shown for i in ids]
    assert sorted(every) == sorted(priority), "each item on exactly one page"
    assert [priority[i] for i in every] == sorted(priority.values(), reverse=True)
    assert triage_ids(ana.get(f"/systems/{SYSTEM}").text) == shown[0]
    assert f"Items 1–{TRIAGE_PAGE} of 28 (page 1 of 3)" in pages[0].text
    assert f"Items {TRIAGE_PAGE + 1}–{2 * TRIAGE_PAGE} of 28 (page 2 of 3)" in pages[1].text
    assert f'href="/systems/{SYSTEM}?triage_page=2#triage"' in pages[0].text
    assert 'rel="prev"' not in pages[0].text and 'rel="next"' not in pages[2].text
    for link in (1, 3):
        assert f'href="/systems/{SYSTEM}?triage_page={link}#triage"' in pages[1].text
    beyond = ana.get(f"/systems/{SYSTEM}?triage_page=99")
    assert triage_ids(beyond.text) == shown[2] and "page 3 of 3" in beyond.text
    for bad in ("0", "two", "-1"):
        refused = ana.get(f"/systems/{SYSTEM}?triage_page={bad}")
        assert refused.status_code == 400, bad
        assert f"triage_page must be a page number from 1, not &#39;{bad}&#39;" in refused.text

    item = shown[1][0]
    done = ana.post(f"/triage/{item}/verdict", verdict="ok", triage_page="2")
    assert done.headers["location"] == f"/systems/{SYSTEM}?done=verdict&triage_page=2#triage"
    after = ana.get(done.headers["location"])
    assert "Triage queue (27 open)" in after.text and "page 2 of 3" in after.text
    assert item not in triage_ids(after.text) and triage_ids(after.text)[0] == shown[1][1]


def rows_of(text: str) -> list[str]:
    """The observation ids a page lists, in its order."""
    return re.findall(r'<span class="sub">(d\d+-\d+)</span>', text)


def test_the_observations_page_filters_and_pages(browser: Open, world: World) -> None:
    ana = signed_in(browser, world, ANA)
    system = ana.get(f"/systems/{SYSTEM}")
    assert f'href="/systems/{SYSTEM}/observations"' in system.text
    newest = ana.get(f"/systems/{SYSTEM}/observations")
    assert newest.status_code == 200
    ids = rows_of(newest.text)
    assert len(ids) == OBSERVATIONS_PAGE
    assert ids[:3] == ["d21-11", "d21-10", "d21-9"], "newest first"
    older = re.search(r'rel="next" href="([^"]+)"', newest.text)
    assert older is not None
    second = ana.get(html.unescape(older.group(1)))
    assert rows_of(second.text)[0] == "d19-10", "the page after the first 25"
    assert not set(rows_of(second.text)) & set(ids)
    assert "← Newest" in second.text

    bad_day = ana.get(
        f"/systems/{SYSTEM}/observations?" + urlencode({"where": "metadata.score < 0.5"})
    )
    assert rows_of(bad_day.text) == [f"d21-{i}" for i in range(11, -1, -1)]
    assert 'rel="next"' not in bad_day.text and "No older observations." in bad_day.text
    phone = ana.get(
        f"/systems/{SYSTEM}/observations?"
        + urlencode({"where": "inputs.channel == 'phone'", "since": "2026-01-01"})
    )
    assert rows_of(phone.text) == ["d21-0"]
    assert 'value="inputs.channel == &#39;phone&#39;"' in phone.text, "the filter stays in the box"
    late = ana.get(f"/systems/{SYSTEM}/observations?since=2099-01-01")
    assert rows_of(late.text) == [] and "Nothing was seen" in late.text

    for query, message in (
        ({"where": "inputs.channel =="}, "where: "),
        ({"where": "__import__('os')"}, "where: "),
        ({"since": "yesterday"}, "since: &#39;yesterday&#39; is not a date or time"),
        ({"after": "nonsense"}, "after: &#39;nonsense&#39; is not a cursor this API gave"),
        ({"where": "x" * 1001}, "where: longer than 1000 characters"),
    ):
        refused = ana.get(f"/systems/{SYSTEM}/observations?" + urlencode(query))
        assert refused.status_code == 400, query
        assert 'role="alert"' in refused.text and message in refused.text, query
        assert 'id="where"' in refused.text and "Traceback" not in refused.text
    assert ana.get("/systems/nope/observations").status_code == 404
    assert browser().get(f"/systems/{SYSTEM}/observations").status_code == 303


def test_the_period_report_is_one_offline_page_with_axes_and_html_details(world: World) -> None:
    reason = "<script>alert(1)</script> ![x](http://evil.example/x.png)"
    Operations(world.app, ANA, world.clock.now(), enforce=True).set_switch(
        SYSTEM, "disabled", reason
    )
    ana = Operations(world.app, ANA, world.clock.set(world.clock.now() + DAY), enforce=True)
    page = reports.html_page(ana.report(SYSTEM, 30))
    charts = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(charts) == 2
    quality = next(c for c in charts if 'aria-label="quality:' in c)
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', quality)
    dates = [t for t in ticks if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t)]
    values = [float(t) for t in ticks if re.fullmatch(r"-?[\d.]+", t)]
    assert len(dates) == 5 and dates == sorted(dates), ticks
    assert (dates[0], dates[-1]) == (f"{ana.now - 30 * DAY:%Y-%m-%d}", f"{ana.now:%Y-%m-%d}")
    assert len(values) >= 3 and values == sorted(values), ticks
    assert min(values) <= 0.3 and max(values) >= 0.88, "the axis covers what was plotted"
    assert "healthy min 0.7" in quality and "window start (UTC)" in quality
    assert "<h3>Charter</h3>" in page and "<li>" in page and "<table>" in page
    assert "<li>#1 [critical]" in page, "the incident, as a list item"
    assert "<pre>" not in page and "## " not in page, "details are HTML, not raw Markdown"
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for fetching in ("src=", "<link", "url(", "@import"):
        assert fetching not in page, f"nothing is fetched: {fetching}"
    assert "default-src 'none'" in page


@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 1.0), (0.27, 0.95), (-3.5, 12.0), (1e-4, 3e-4), (980.0, 1020.0)]
)
def test_value_ticks_are_round_evenly_spaced_and_span_the_values(low: float, high: float) -> None:
    ticks = reports.value_ticks(low, high)
    assert 3 <= len(ticks) <= 6
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    assert ticks[0] <= low < ticks[0] + step and ticks[-1] - step < high <= ticks[-1]
    assert f"{step / 10 ** math.floor(math.log10(step)):.6g}" in {"1", "2", "2.5", "5"}
