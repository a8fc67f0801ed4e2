"""`wk evidence`: a bundle exported from the store in each format, verified offline, and the
refusals — a period out of order, an unknown system, a truncated zip, an altered record, a
bundle from another deployment — each a clear message and an exit code, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, SQLITE_ONLY, Cli
from watchkeeper.app import build
from watchkeeper.evidence import _gather
from watchkeeper.monitor.checks import Failure
from watchkeeper.settings import Settings
from watchkeeper.store import Store

ANA = "ana@corp.example"
PEOPLE = str(EXAMPLES / "people" / "people.yaml")
SUPPORT = str(EXAMPLES / "support-assistant" / "watchkeeper.yaml")
TODAY = datetime.now(UTC).date()
PERIOD = ("--from", "2026-01-01", "--to", TODAY.isoformat())


@pytest.fixture
def applied(wk: Cli) -> Cli:
    """The example system applied on 2026-01-10, its owner's roles acknowledged, the switch
    pulled and restored by a kill authority (now: a flip takes the clock's time)."""
    assert wk("apply", PEOPLE, SUPPORT, "--now", "2026-01-10T09:00Z")[0] == 0
    assert wk("ack", "support-assistant", "all", "--now", "2026-01-11T09:00Z", user=ANA)[0] == 0
    for verb in ("kill", "restore"):
        code, out, err = wk(verb, "support-assistant", "--reason", "by hand", user=ANA)
        assert code == 0, out + err
    return wk


def test_each_format_is_written_and_verifies(applied: Cli, tmp_path: Path) -> None:
    for fmt in ("json", "html", "zip"):
        target = tmp_path / f"bundle.{fmt}"
        code, _, err = applied("evidence", "support-assistant", *PERIOD, "--format", fmt,
                               "-o", str(target))  # fmt: skip
        assert code == 0, err
        assert f"wrote {target}" in err
    bundle = json.loads((tmp_path / "bundle.json").read_text())
    assert bundle["period"] == {
        "from": "2026-01-01T00:00:00+00:00",
        "to": f"{TODAY + timedelta(days=1)}T00:00:00+00:00",  # --to's day is included
    }
    kinds = [r["kind"] for r in bundle["records"]]
    assert kinds.count("switch") == 2 and "ack" in kinds and "manifest" in kinds
    assert "<h2 id='obligations'>" in (tmp_path / "bundle.html").read_text()
    for fmt in ("json", "zip"):
        code, out, _ = applied("evidence", "verify", str(tmp_path / f"bundle.{fmt}"))
        assert code == 0 and "intact" in out, out
    code, out, _ = applied("evidence", "verify", str(tmp_path / "bundle.zip"), "--here")
    assert code == 0 and "exported by this deployment" in out


@SQLITE_ONLY
def test_an_altered_record_is_named_and_exits_1(applied: Cli, tmp_path: Path) -> None:
    target = tmp_path / "bundle.json"
    applied("evidence", "support-assistant", *PERIOD, "--format", "json", "-o", str(target))
    bundle = json.loads(target.read_text())
    [restore] = [
        r for r in bundle["records"] if r["kind"] == "switch" and r["data"]["state"] == "enabled"
    ]
    restore["data"]["actor"] = "someone-else@corp.example"
    target.write_text(json.dumps(bundle))
    code, out, _ = applied("evidence", "verify", str(target), "--json")
    result = json.loads(out)
    assert code == 1 and result["altered"] == restore["id"]
    assert f"record {restore['id']}" in result["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("support-assistant", "--from", "2026-02-01", "--to", "2026-01-01"), "out of order"),
        (("no-such-system", *PERIOD), "no system 'no-such-system'"),
        (("support-assistant", "--from", "last week", "--to", "2026-01-01"), "is not a date"),
        (("support-assistant", *PERIOD, "--format", "pdf"), "html, json or zip"),
        (("support-assistant",), "--from DATE --to DATE"),
    ],
)
@SQLITE_ONLY
def test_bad_periods_and_systems_are_refused_with_exit_2(
    applied: Cli, args: tuple[str, ...], message: str
) -> None:
    code, out, err = applied("evidence", *args)
    assert code == 2 and message in out + err and "Traceback" not in out + err


@SQLITE_ONLY
def test_a_truncated_zip_and_a_foreign_bundle_are_refused(
    applied: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    target = tmp_path / "bundle.zip"
    applied("evidence", "support-assistant", *PERIOD, "--format", "zip", "-o", str(target))
    cut = tmp_path / "cut.zip"
    cut.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    code, out, err = applied("evidence", "verify", str(cut))
    assert code == 2 and "not a complete zip archive" in out + err
    code, out, err = applied("evidence", "verify", str(tmp_path / "missing.zip"))
    assert code == 2 and "cannot read" in out + err

    # the same manifest applied at the same moment: the same first entry, another chain after it
    twin = Cli(f"sqlite:///{tmp_path / 'twin.db'}", capsys, monkeypatch)
    assert twin("apply", PEOPLE, SUPPORT, "--now", "2026-01-10T09:00Z")[0] == 0
    code, out, err = twin("evidence", "verify", str(target), "--here")
    assert code == 2 and "exported by another deployment" in out + err, out + err
    assert twin("evidence", "verify", str(target))[0] == 0  # offline, it is intact

    elsewhere = Cli(f"sqlite:///{tmp_path / 'other.db'}", capsys, monkeypatch)
    assert elsewhere("apply", PEOPLE, SUPPORT, "--now", "2026-01-09T09:00Z")[0] == 0
    code, out, err = elsewhere("evidence", "verify", str(target), "--here")
    assert code == 2 and "exported by another deployment (" in out + err, out + err


@SQLITE_ONLY
def test_a_period_holding_more_than_a_bundle_holds_is_refused_by_name(
    applied: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bundle of a busy system over years is refused before it is read whole into memory;
    what falls after the period does not count against it."""
    monkeypatch.setattr(_gather, "MAX_OF_A_KIND", 2)
    app = build(Settings(db=applied.db_url))
    days = ("2026-02-01", "2026-03-01", "2026-04-01", "2026-07-01")  # the last after the periods
    for day in days:
        failed = Failure("support-assistant", "monitor", f"Boom: {day}")
        app.monitor.record_failures([failed], datetime.fromisoformat(day).replace(tzinfo=UTC))
    app.close()
    period = ("--from", "2026-01-01", "--to", "2026-05-31", "--format", "json")
    code, out, err = applied("evidence", "support-assistant", *period)
    assert code == 2 and "more than 2 findings in the period" in err, out + err
    assert "export a shorter period" in err and "Traceback" not in err
    target = tmp_path / "bundle.json"
    later = ("--from", "2026-02-15", "--to", "2026-05-31", "--format", "json", "-o", str(target))
    code, out, err = applied("evidence", "support-assistant", *later)
    assert code == 0, err
    kinds = [r["kind"] for r in json.loads(target.read_text())["records"]]
    assert kinds.count("finding") == 2
    store = Store.open(applied.db_url)
    with store.read() as unit:
        actions = [e.action for e in unit.audit_entries(system="support-assistant")]
    store.close()
    assert actions.count("evidence.exported") == 1, "the refused export is not recorded"


def test_eval_runs_outside_the_period_do_not_count_against_a_bundle(
    applied: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A system's long history does not stop the export of a short period: only what the
    period holds is read and counted (incidents, triage items and eval runs as findings)."""
    monkeypatch.setattr(_gather, "MAX_OF_A_KIND", 2)
    store = Store.open(applied.db_url)
    with store.write() as unit:
        for day in ("2026-01-20", "2026-01-21", "2026-01-22", "2026-03-02"):
            unit.care.add_eval_run(
                "support-assistant",
                "golden",
                started_at=datetime.fromisoformat(day).replace(tzinfo=UTC),
                actor="scheduler",
                trigger="schedule",
                model_version=None,
                dataset_sha256="0" * 64,
                pass_rate=1.0,
                mean_score=1.0,
                run={},
            )
    store.close()
    target = tmp_path / "bundle.json"
    march = ("--from", "2026-03-01", "--to", "2026-03-31", "--format", "json", "-o", str(target))
    code, out, err = applied("evidence", "support-assistant", *march)
    assert code == 0, out + err
    records = json.loads(target.read_text())["records"]
    assert [r["data"]["started_at"][:10] for r in records if r["kind"] == "eval"] == ["2026-03-02"]
    longer = ("--from", "2026-01-15", "--to", "2026-03-31", "--format", "json")
    code, out, err = applied("evidence", "support-assistant", *longer)
    assert code == 2 and "more than 2 eval runs in the period" in err, out + err
