"""Evals nobody attends — the server's eval route and the scheduler, in any process — import only
the modules and read only the golden sets the operator allowed; everything else runs where the
system's code lives, and `wk eval run` in client mode uploads its result.

The real server in process and a real store; a manifest applied over the API names a module of
the test's own that leaves a marker file when imported or called, so "never imported" is seen
on disk rather than assumed."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SQLITE_ONLY, RemoteCli
from tests.server._world import (
    SYSTEM,
    SYSTEM_YAML,
    Api,
    World,
    api_for,
    build_world,
    eval_run,
)
from watchkeeper.app import Operations, Watchkeeper, build
from watchkeeper.clock import FixedClock
from watchkeeper.errors import ActionError
from watchkeeper.evals import EvalPolicy, module_allowed, within
from watchkeeper.server import LiveServer, create_app
from watchkeeper.settings import Settings
from watchkeeper.store import Store

EXAMPLES = Path(__file__).parent.parent.parent / "src" / "watchkeeper" / "cli" / "demo" / "evals"
DEMO_TARGET = "watchkeeper.cli.demo.evals.support_bot:answer"
EVALS = "/api/v1/systems/triage-bot/evals"
UPLOAD = "/api/v1/systems/triage-bot/evals/runs"
DAY = timedelta(days=1)
GOLDEN = '{"id": "a", "input": "x", "expected": "x"}\n{"id": "b", "input": "y", "expected": "y"}\n'
PROBE = """\
from pathlib import Path

MARKER = Path({marker!r})
MARKER.write_text("imported")


def run(value):
    MARKER.write_text("called")
    return value
"""


@dataclass
class Probe:
    """A module that leaves a marker when imported or called, beside a valid golden set."""

    module: str
    folder: Path
    marker: Path

    @property
    def target(self) -> str:
        return f"{self.module}:run"

    @property
    def dataset(self) -> Path:
        return self.folder / "golden.jsonl"


@dataclass
class Served:
    world: World
    api: Api

    @property
    def app(self) -> Watchkeeper:
        return self.world.app

    def apply_evals(self, target: str, dataset: str | Path) -> None:
        """The owner applies the system's manifest over the API, naming this eval suite."""
        line = '    - {suite: golden, dataset: evals/golden.jsonl, target: "triage.app:answer"'
        assert line in SYSTEM_YAML
        text = SYSTEM_YAML.replace(
            line, f'    - {{suite: golden, dataset: "{dataset}", target: "{target}"'
        )
        body = {"files": [{"name": "watchkeeper.yaml", "text": text}]}
        response = self.api("POST", "/api/v1/apply", self.world.token("owner"), json=body)
        assert response.status_code == 200, response.text

    def stored_runs(self) -> list[Any]:
        with self.app.store.read() as unit:
            return unit.care.eval_runs(SYSTEM)


@pytest.fixture
def forget_modules(tmp_path: Path) -> Iterator[None]:
    """Whatever a test imported from its own folders is forgotten afterwards."""
    yield
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def probe(tmp_path: Path, forget_modules: None) -> Probe:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    module = f"wk_probe_{uuid.uuid4().hex[:12]}"
    marker = tmp_path / "marker"
    (folder / f"{module}.py").write_text(PROBE.format(marker=str(marker)))
    (folder / "golden.jsonl").write_text(GOLDEN)
    return Probe(module, folder, marker)


def serve(
    store: Store, clock: FixedClock, folder: Path, modules: tuple[str, ...] = (), data: Any = ()
) -> Iterator[Served]:
    """A server as its operator configured it (the store's URL is not read: the store is given)."""
    settings = Settings(eval_modules=modules, eval_data=tuple(map(str, data)))
    app = build(settings, store=store, clock=clock)
    world = build_world(app, folder)
    for api in api_for(create_app(app)):
        yield Served(world, api)


@pytest.fixture
def default(store: Store, clock: FixedClock, tmp_path: Path) -> Iterator[Served]:
    """A server as it ships: the operator allowed nothing."""
    yield from serve(store, clock, tmp_path / "org")


@pytest.fixture
def operated(store: Store, clock: FixedClock, tmp_path: Path) -> Iterator[Served]:
    """A server whose operator allows the demo's eval package and its golden sets."""
    yield from serve(store, clock, tmp_path / "org", ("watchkeeper.cli.demo.evals",), (EXAMPLES,))


# --- the policy as plain data --------------------------------------------------------------------


def test_module_prefixes_match_whole_dotted_names() -> None:
    allowed = ("support_bot", "claims.evals")
    assert module_allowed("support_bot", allowed)
    assert module_allowed("support_bot.app", allowed)
    assert module_allowed("claims.evals.holdout", allowed)
    assert not module_allowed("support_bot2", allowed)
    assert not module_allowed("claims", allowed)
    assert not module_allowed("claims.evalsx", allowed)
    assert not module_allowed("subprocess", ())


def test_roots_contain_only_what_lies_below_them() -> None:
    assert within("/srv/evals/a/golden.jsonl", ("/srv/evals",))
    assert within("/srv/evals", ("/srv/evals",))
    assert not within("/srv/evals-other/golden.jsonl", ("/srv/evals",))
    assert not within("/etc/passwd", ())


def test_a_bad_module_prefix_in_the_settings_is_named() -> None:
    with pytest.raises(ActionError, match=r"WATCHKEEPER_EVAL_MODULES.*'support bot'"):
        EvalPolicy.configure(("support bot",), ())


def test_the_settings_are_comma_separated_lists() -> None:
    settings = Settings.from_env(
        {
            "WATCHKEEPER_EVAL_MODULES": " support_bot, claims.evals ,",
            "WATCHKEEPER_EVAL_DATA": "/srv/a,/srv/b",
        }
    )
    assert settings.eval_modules == ("support_bot", "claims.evals")
    assert settings.eval_data == ("/srv/a", "/srv/b")
    assert Settings.from_env({}).eval_modules == ()


# --- what arrives over the API is never run by default -------------------------------------------


def test_the_server_refuses_to_run_a_target_named_over_the_api(
    default: Served, probe: Probe
) -> None:
    default.apply_evals(probe.target, probe.dataset)
    response = default.api("POST", EVALS, default.world.token("owner"), json={})
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert "where the system's code lives" in detail and f"wk eval run {SYSTEM}" in detail
    assert not probe.marker.exists()
    assert probe.module not in sys.modules
    assert default.stored_runs() == []


def test_subprocess_is_not_a_target_the_server_runs(default: Served, probe: Probe) -> None:
    default.apply_evals("subprocess:getoutput", probe.dataset)
    response = default.api("POST", EVALS, default.world.token("owner"), json={})
    assert response.status_code == 403 and "'subprocess'" in response.json()["detail"]


def test_the_scheduler_leaves_a_refused_eval_due_and_says_why(
    default: Served, probe: Probe
) -> None:
    default.apply_evals(probe.target, probe.dataset)
    now = default.app.clock.now()
    report = default.app.scheduler.tick(now).to_dict()
    assert report["ran"]
    assert not probe.marker.exists() and probe.module not in sys.modules
    [refused] = report["evals"]["refused"]
    assert (refused["system"], refused["suite"]) == (SYSTEM, "golden")
    assert probe.module in refused["reason"] and "WATCHKEEPER_EVAL_MODULES" in refused["reason"]
    assert report["evals"]["ran"] == 0 and default.stored_runs() == []
    later = default.app.scheduler.tick(now + 9 * DAY)
    assert later.ran and not probe.marker.exists()
    with default.app.store.read() as unit:
        overdue = [f for f in unit.monitoring.findings(SYSTEM) if f.check == "eval_overdue"]
    assert overdue and "golden" in overdue[0].summary


def test_a_dataset_outside_the_allowed_roots_is_refused_alike_whether_it_exists_or_not(
    store: Store, clock: FixedClock, tmp_path: Path
) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "golden.jsonl").write_text((EXAMPLES / "golden.jsonl").read_text())
    (outside / "secret.jsonl").write_text(GOLDEN)
    (allowed / "escape.jsonl").symlink_to(outside / "secret.jsonl")
    paths = {
        "exists": Path("/etc/passwd"),
        "missing": Path("/etc/no-such-file-here.jsonl"),
        "symlink out of the root": allowed / "escape.jsonl",
        "dot-dot out of the root": allowed / ".." / "outside" / "secret.jsonl",
    }
    modules = ("watchkeeper.cli.demo.evals",)
    for served in serve(store, clock, tmp_path / "org", modules, (allowed,)):
        details = {}
        for name, path in paths.items():
            served.apply_evals(DEMO_TARGET, path)
            response = served.api("POST", EVALS, served.world.token("owner"), json={})
            assert response.status_code == 403, (name, response.text)
            details[name] = response.json()["detail"].replace(str(path), "PATH")
        assert len(set(details.values())) == 1, details
        assert "golden set 'PATH' is not under WATCHKEEPER_EVAL_DATA" in details["exists"]
        served.apply_evals(DEMO_TARGET, allowed / "golden.jsonl")
        response = served.api("POST", EVALS, served.world.token("owner"), json={})
        assert response.status_code == 200, response.text
        report = served.app.scheduler.tick(clock.now() + 8 * DAY).to_dict()
        assert report["evals"] == {"ran": 1, "refused": []}


def test_an_allowed_module_and_root_run_unattended(operated: Served) -> None:
    operated.apply_evals(DEMO_TARGET, EXAMPLES / "golden.jsonl")
    response = operated.api("POST", EVALS, operated.world.token("owner"), json={})
    assert response.status_code == 200, response.text
    [outcome] = response.json()
    assert outcome["count"] >= 20 and outcome["diff"] is None
    now = operated.app.clock.now() + 8 * DAY
    report = operated.app.scheduler.tick(now).to_dict()
    assert report["evals"] == {"ran": 1, "refused": []}
    runs = operated.stored_runs()
    assert [r.trigger for r in runs] == ["schedule", "manual"]
    assert runs[0].actor == "watchkeeper"


def test_an_unattended_run_never_searches_the_datasets_folder(
    store: Store, clock: FixedClock, tmp_path: Path, probe: Probe
) -> None:
    """The probe's module is allowed by name and its folder as data, yet it is not importable:
    putting the golden set's folder on the import path would let a manifest pick any code there."""
    for served in serve(store, clock, tmp_path / "org", (probe.module,), (probe.folder,)):
        served.apply_evals(probe.target, probe.dataset)
        response = served.api("POST", EVALS, served.world.token("owner"), json={})
        assert response.status_code == 400, response.text
        assert f"no module {probe.module!r}" in response.json()["detail"]
        assert not probe.marker.exists()
        report = served.app.scheduler.tick(clock.now()).to_dict()
        assert report["ran"] and not probe.marker.exists()


def test_an_allowed_module_cannot_lead_to_code_outside_the_allowed_prefixes(
    store: Store, clock: FixedClock, tmp_path: Path, forget_modules: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`allowed:subprocess.getoutput` names an allowed module, but the callable it reaches is not
    the operator's to run."""
    package = tmp_path / "installed"
    package.mkdir()
    name = f"wk_allowed_{uuid.uuid4().hex[:12]}"
    (package / f"{name}.py").write_text("import subprocess\n\ndef run(value):\n    return value\n")
    monkeypatch.syspath_prepend(str(package))  # installed by the operator
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "golden.jsonl").write_text(GOLDEN)
    for served in serve(store, clock, tmp_path / "org", (name,), (tmp_path / "data",)):
        for target in (f"{name}:subprocess.getoutput", f"{name}:run.__globals__.get"):
            served.apply_evals(target, tmp_path / "data" / "golden.jsonl")
            response = served.api("POST", EVALS, served.world.token("owner"), json={})
            assert response.status_code == 403, (target, response.text)
        served.apply_evals(f"{name}:run", tmp_path / "data" / "golden.jsonl")
        response = served.api("POST", EVALS, served.world.token("owner"), json={})
        assert response.status_code == 200, response.text
        assert response.json()[0]["pass_rate"] == 1.0


def test_a_local_run_by_a_person_runs_as_before(
    store: Store, clock: FixedClock, tmp_path: Path, probe: Probe
) -> None:
    """`wk eval run` on one's own machine is that person running their system's code."""
    for served in serve(store, clock, tmp_path / "org"):
        served.apply_evals(probe.target, probe.dataset)
        ops = Operations(served.app, "olga@corp.example", clock.now(), enforce=False)
        [outcome] = ops.eval_run(SYSTEM, base_dir=str(probe.folder))
        assert outcome["pass_rate"] == 1.0 and probe.marker.read_text() == "called"


# --- client mode: run here, upload there ---------------------------------------------------------

APP = """\
def answer(ticket):
    return ticket


def answer_regressed(ticket):
    return "other" if ticket.startswith("b") else ticket
"""
TRIAGE_GOLDEN = "".join(
    json.dumps({"id": f"{tag}-{i}", "input": f"{tag}{i}", "expected": f"{tag}{i}", "tags": [tag]})
    + "\n"
    for tag in ("a", "b")
    for i in range(3)
)


@pytest.fixture
def checkout(default: Served, forget_modules: None) -> Path:
    """The system's repository on a developer's machine: its code and golden set."""
    folder = default.world.folder
    (folder / "triage").mkdir()
    (folder / "triage" / "__init__.py").write_text("")
    (folder / "triage" / "app.py").write_text(APP)
    (folder / "evals").mkdir()
    (folder / "evals" / "golden.jsonl").write_text(TRIAGE_GOLDEN)
    return folder


def test_client_mode_runs_here_and_uploads_a_run_stored_with_its_diff(
    default: Served,
    checkout: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LiveServer(default.app) as live:
        remote = RemoteCli(live.url, capsys, monkeypatch)
        owner = default.world.token("owner")
        code, out, err = remote("eval", "run", SYSTEM, "--base-dir", str(checkout), token=owner)
        assert code == 0, err
        assert "pass rate 100.0% over 6 cases" in out and "first run" in out
        regressed = default.world.system_file.read_text().replace(
            "triage.app:answer", "triage.app:answer_regressed"
        )
        default.world.system_file.write_text(regressed)
        code, _, err = remote("apply", str(default.world.system_file), token=owner)
        assert code == 0, err
        quinn = default.world.token("other_role_holder")
        code, out, err = remote("eval", "run", SYSTEM, "--base-dir", str(checkout), token=quinn)
        assert code == 1, err
        assert "regressed (b): b-0, b-1, b-2" in out
    runs = default.stored_runs()
    assert [(r.trigger, r.actor, r.pass_rate) for r in runs] == [
        ("upload", "quinn@corp.example", 0.5),
        ("upload", "olga@corp.example", 1.0),
    ]
    assert all(r.started_at == default.app.clock.now() for r in runs)
    with default.app.store.read() as unit:
        audit = [e for e in unit.audit_entries(system=SYSTEM) if e.action == "eval.run"]
        care = [e for e in unit.care.care_entries(SYSTEM) if e.kind == "eval"]
    assert [e.after["regressions"] for e in audit] == [0, 3] and len(care) == 2


def _run_record(**changes: Any) -> dict[str, Any]:
    case = {
        "id": "a",
        "input": "x",
        "expected": "x",
        "output": "x",
        "score": 1.0,
        "passed": True,
        "detail": "",
        "error": None,
        "timed_out": False,
        "duration_ms": 1.0,
        "tags": ["t"],
    }
    cases = [case, {**case, "id": "b", "output": "no", "score": 0.0, "passed": False}]
    run = eval_run(cases, passed=2, mean_score=1.0, pass_rate=1.0)
    for key, value in changes.items():
        run[key] = value
    return run


def test_an_upload_is_stored_as_a_server_run_would_be(default: Served) -> None:
    token = default.world.token("owner")
    body = {"suite": "golden", "run": _run_record()}
    response = default.api("POST", UPLOAD, token, json=body)
    assert response.status_code == 201, response.text
    outcome = response.json()
    # the server dates the run and counts its cases itself, whatever the upload claimed
    assert outcome["started_at"] == default.app.clock.now().isoformat()
    assert outcome["pass_rate"] == 0.5 and outcome["run"]["summary"]["passed"] == 1
    assert outcome["diff"] is None
    second = {"suite": "golden", "run": _run_record(cases=[_run_record()["cases"][0]])}
    response = default.api("POST", UPLOAD, token, json=second)
    assert response.status_code == 201 and response.json()["diff"]["removed"] == ["b"]
    [later, first] = default.stored_runs()
    assert (later.trigger, first.actor) == ("upload", "olga@corp.example")


@pytest.mark.parametrize(
    ("run", "where"),
    [
        (_run_record(cases=[{**_run_record()["cases"][0], "score": 2}]), "body.run.cases[0].score"),
        (
            _run_record(cases=[{**_run_record()["cases"][0], "output": "a\x00b"}]),
            "body.run.cases[0].output",
        ),
        (_run_record(cases=[]), "body.run.cases"),
        (_run_record(dataset_sha256="nothex"), "body.run.dataset_sha256"),
        (_run_record(model_version="v" * 201), "body.run.model_version"),
        (
            _run_record(cases=[{**_run_record()["cases"][0], "tags": ["t"] * 51}]),
            "body.run.cases[0].tags",
        ),
        (_run_record(format=2), "body.run.format"),
        (_run_record(surprise=1), "body.run.surprise"),
    ],
)
@SQLITE_ONLY
def test_a_bad_upload_is_a_located_400(default: Served, run: dict[str, Any], where: str) -> None:
    body = {"suite": "golden", "run": run}
    response = default.api("POST", UPLOAD, default.world.token("owner"), json=body)
    assert response.status_code == 400, response.text
    assert where in response.json()["detail"], response.json()
    assert default.stored_runs() == []


def test_an_upload_names_a_suite_of_the_applied_manifest(default: Served) -> None:
    body = {"suite": "other", "run": _run_record()}
    response = default.api("POST", UPLOAD, default.world.token("owner"), json=body)
    assert response.status_code == 400 and "no eval suite 'other' (known: golden)" in response.text
    twice = _run_record(cases=[_run_record()["cases"][0]] * 2)
    response = default.api(
        "POST", UPLOAD, default.world.token("owner"), json={"suite": "golden", "run": twice}
    )
    assert response.status_code == 400 and "duplicate" in response.json()["detail"]


def test_people_who_left_cannot_upload(default: Served) -> None:
    body = {"suite": "golden", "run": _run_record()}
    response = default.api("POST", UPLOAD, default.world.token("inactive"), json=body)
    assert response.status_code == 403
    assert default.stored_runs() == []
