"""GET /api/v1/systems/{name}/signals: what `wk signals` shows, over HTTP — read by any active
person, each field the model declares and no other, 404 naming what is missing, and the limit
kept within 1 to 400."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import _estimated as lender
from tests.conftest import SQLITE_ONLY
from tests.server._world import Api, api_for
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.server import create_app
from watchkeeper.server._models import SignalOut, SignalWindowOut

PATH = f"/api/v1/systems/{lender.NAME}/signals"


pytestmark = lender.BUILT


@pytest.fixture
def api(app: Watchkeeper) -> Iterator[Api]:
    yield from api_for(create_app(lender.ready(app)))


@pytest.fixture
def token(app: Watchkeeper, api: Api) -> str:
    ops = Operations(app, "ops@corp.example", lender.after(), enforce=False)
    return str(ops.create_token(lender.OWNER)["token"])


def test_each_signal_with_interval_and_realized(app: Watchkeeper, api: Api, token: str) -> None:
    answer = api("GET", PATH, token)
    assert answer.status_code == 200, answer.text
    listed = {entry["signal"]: entry for entry in answer.json()}
    for entry in listed.values():
        assert set(entry) == set(SignalOut.model_fields)
        for window in entry["windows"]:
            assert set(window) == set(SignalWindowOut.model_fields)
    ops = Operations(app, lender.OWNER, lender.after(), enforce=False)
    assert answer.json() == ops.signals(lender.NAME)
    windows = listed["accuracy"]["windows"]
    assert windows[0]["realized_n"] == lender.ROWS and windows[-1]["realized"] is None
    one = api("GET", PATH, token, params={"signal": "accuracy", "limit": 3}).json()
    assert [entry["signal"] for entry in one] == ["accuracy"] and one[0]["windows"] == windows[-3:]


@SQLITE_ONLY
def test_refusals_name_what_is_wrong(api: Api, token: str) -> None:
    assert api("GET", PATH).status_code == 401
    missing = api("GET", "/api/v1/systems/nobody/signals", token)
    assert missing.status_code == 404 and "no system 'nobody'" in missing.json()["detail"]
    unknown = api("GET", PATH, token, params={"signal": "auc"})
    assert unknown.status_code == 404 and "has no signal 'auc'" in unknown.json()["detail"]
    for limit in (0, 401):
        wrong = api("GET", PATH, token, params={"limit": limit})
        assert wrong.status_code == 400 and "limit" in wrong.text, wrong.text
