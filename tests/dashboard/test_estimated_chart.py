"""The system page draws an estimated metric with its interval shaded and, where the labels
have come, the realized metric as points — and says in words how far the estimate was off."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from anyio.from_thread import start_blocking_portal

from tests import _estimated as lender
from tests.dashboard.conftest import Browser
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.server import create_app

pytestmark = lender.BUILT


@pytest.fixture
def page(app: Watchkeeper) -> Iterator[tuple[Watchkeeper, Browser]]:
    lender.ready(app)
    ops = Operations(app, "ops@corp.example", lender.after(), enforce=False)
    token = ops.create_token(lender.OWNER)["token"]
    with start_blocking_portal() as portal:
        browser = Browser(portal, create_app(app))
        assert browser.sign_in(token).status_code == 303
        yield app, browser
        browser.close()


def _figure(text: str, signal: str) -> str:
    [figure] = [
        f for f in text.split('<figure class="chart">')[1:] if f"<strong>{signal}</strong>" in f
    ]
    return figure.split("</figure>")[0]


def test_the_estimate_its_interval_and_the_realized_points(
    page: tuple[Watchkeeper, Browser],
) -> None:
    app, browser = page
    day = lender.BASELINE_DAYS + 1
    ops = Operations(app, lender.OWNER, lender.after(), enforce=False)
    ops.feedback(lender.NAME, lender.later_feedback(day))
    answer = browser.get(f"/systems/{lender.NAME}")
    assert answer.status_code == 200
    chart = _figure(answer.text, "accuracy")
    assert chart.count('<polygon class="band"') == 1
    labelled = lender.BASELINE_DAYS + 1  # the baseline, and the one later day
    assert chart.count('<circle class="realized"') == labelled
    [windows] = [s["windows"] for s in ops.signals(lender.NAME, "accuracy")]
    gaps = [abs(w["value"] - w["realized"]) for w in windows if w["realized"] is not None]
    label = html.unescape(re.search(r'aria-label="([^"]*)"', chart).group(1))  # type: ignore[union-attr]
    assert (
        f"realized on {labelled} window(s), mean absolute error {sum(gaps) / len(gaps):.3g}"
        in label
    )
    assert "Estimated accuracy beside the realized" in chart and "not yet" in chart
    assert "interval" in chart and "realized on labels" in chart
    # a signal that estimates nothing keeps its plain chart
    volume = _figure(answer.text, "volume")
    assert "<svg" in volume and 'class="band"' not in volume and 'class="realized"' not in volume
