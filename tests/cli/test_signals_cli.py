"""`wk signals`: each signal's windows, an estimated metric with its interval and — once the
labels come — the realized metric beside it; locally and through a server, with the same
answer, and a clear refusal for a system or signal that is not there."""

from __future__ import annotations

import json

import pytest

from tests import _estimated as lender
from tests.cli.test_ingest_file import _remote
from tests.conftest import SQLITE_ONLY, Cli
from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.server import LiveServer

pytestmark = lender.BUILT


@pytest.fixture
def built(app: Watchkeeper) -> Watchkeeper:
    return lender.ready(app)


def test_the_json_lists_each_signal_window_by_window(built: Watchkeeper, wk: Cli) -> None:
    code, out, err = wk("signals", lender.NAME, "--json")
    assert code == 0, err
    listed = {entry["signal"]: entry for entry in json.loads(out)}
    assert set(listed) == {"accuracy", "volume"}
    accuracy = listed["accuracy"]
    assert (accuracy["kind"], accuracy["metric"], accuracy["window"]) == (
        "estimated",
        "accuracy",
        "1d",
    )
    windows = accuracy["windows"]
    assert len(windows) == lender.BASELINE_DAYS + lender.LATER_DAYS
    assert [w["window_start"] for w in windows] == sorted(w["window_start"] for w in windows)
    for window in windows:
        assert window["low"] <= window["value"] <= window["high"] and window["n"] == lender.ROWS
    # the baseline came with its labels, the later days have none yet
    assert all(w["realized_n"] == lender.ROWS for w in windows[: lender.BASELINE_DAYS])
    assert [w["realized"] for w in windows[lender.BASELINE_DAYS :]] == [None] * lender.LATER_DAYS
    assert all(w["low"] is None and w["realized"] is None for w in listed["volume"]["windows"])
    code, out, _ = wk("signals", lender.NAME, "--signal", "accuracy", "--limit", "2", "--json")
    [only] = json.loads(out)
    assert code == 0 and only["windows"] == windows[-2:]


def test_the_table_shows_interval_and_realized_where_known(built: Watchkeeper, wk: Cli) -> None:
    code, out, err = wk("signals", lender.NAME, "--signal", "accuracy")
    assert code == 0, err
    assert "accuracy (estimated accuracy, 1d windows)" in out
    for name in ("window start", "value", "interval", "realized"):
        assert name in out
    expected = Operations(built, lender.OWNER, lender.after(), enforce=False).signals(
        lender.NAME, "accuracy", 30
    )
    first, last = expected[0]["windows"][0], expected[0]["windows"][-1]
    assert f"{first['low']:.3g}–{first['high']:.3g}" in out
    assert f"{first['realized']:.4g} (n={lender.ROWS})" in out
    [row] = [line for line in out.splitlines() if last["window_start"][:10] in line]
    cells = [cell.strip() for cell in row.strip().strip("│").split("│")]
    assert cells[1:] == [f"{last['value']:.4g}", str(last["n"]),
                         f"{last['low']:.3g}–{last['high']:.3g}", "-"]  # fmt: skip


@SQLITE_ONLY
def test_unknown_system_or_signal_is_exit_2_naming_it(built: Watchkeeper, wk: Cli) -> None:
    code, _, err = wk("signals", "nobody")
    assert code == 2 and "no system 'nobody'" in err
    code, _, err = wk("signals", lender.NAME, "--signal", "auc")
    assert code == 2 and "lender has no signal 'auc' (it has: " in err and "accuracy" in err
    code, _, err = wk("signals", lender.NAME, "--limit", "0")
    assert code == 2 and "--limit" in err


def test_through_a_server_the_same_answer(built: Watchkeeper, wk: Cli) -> None:
    token = Operations(built, "ops@corp.example", lender.after(), enforce=False).create_token(
        lender.OWNER
    )["token"]
    local = json.loads(wk("signals", lender.NAME, "--json")[1])
    with LiveServer(built) as live:
        code, out, err = _remote(live.url, token, "signals", lender.NAME, "--json")
        assert code == 0, err
        assert json.loads(out) == local
        code, _, err = _remote(live.url, token, "signals", lender.NAME, "--signal", "auc")
        assert code == 2 and "has no signal 'auc'" in err
