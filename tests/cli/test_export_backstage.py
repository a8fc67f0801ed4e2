"""`wk export backstage` (issue 19 item 7): a Backstage catalog that shows the owners Watchkeeper
holds. No PyPI package ships Backstage's own entity schemas, so each entity is checked here
against the rules Backstage's catalog applies when it reads one (catalog-model's validators):
the envelope, names, annotation and label keys, tags, each kind's required spec fields, and
that every entity reference resolves inside the export."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.conftest import DEMO_MANIFESTS, EXAMPLES, Cli, make_unreadable
from watchkeeper.app import Watchkeeper
from watchkeeper.cli.export import entity_name
from watchkeeper.manifest._models import EMAIL_RE
from watchkeeper.testing import T0

T = T0.isoformat()
URL = "https://watchkeeper.corp.example"
# Backstage's rules (KubernetesValidatorFunctions, DefaultNamespaceEntityPolicy's tag rule).
NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
TAG = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")
REQUIRED_SPEC = {
    "Component": {"type": str, "lifecycle": str, "owner": str},
    "Group": {"type": str, "children": list},
    "User": {"memberOf": list},
    "Location": {"targets": list},
}
LIFECYCLES = {"draft": "experimental", "live": "production", "retired": "deprecated"}


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and len(name) <= 63 and NAME.match(name) is not None


def _valid_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    good_prefix = not prefix or (len(prefix) <= 253 and DNS_PREFIX.match(prefix) is not None)
    return good_prefix and _valid_name(name)


def backstage_problems(entities: list[dict[str, Any]]) -> list[str]:
    """What Backstage's catalog would refuse in these entities, or leave dangling."""
    problems = []
    by_ref = {(e["kind"].lower(), e["metadata"]["name"]) for e in entities}
    for e in entities:
        where = f"{e.get('kind')} {e.get('metadata', {}).get('name')}"
        if e.get("apiVersion") != "backstage.io/v1alpha1" or e.get("kind") not in REQUIRED_SPEC:
            problems.append(f"{where}: apiVersion/kind")
            continue
        meta, spec = e["metadata"], e["spec"]
        if not _valid_name(meta["name"]):
            problems.append(f"{where}: metadata.name")
        for field in ("annotations", "labels"):
            for key, value in meta.get(field, {}).items():
                if not _valid_key(key) or not isinstance(value, str):
                    problems.append(f"{where}: {field} {key}")
                if field == "labels" and not _valid_name(value):
                    problems.append(f"{where}: label value {value}")
        for tag in meta.get("tags", []):
            if len(tag) > 63 or not TAG.match(tag):
                problems.append(f"{where}: tag {tag}")
        for link in meta.get("links", []):
            if not isinstance(link.get("url"), str):
                problems.append(f"{where}: link")
        for field, kind in REQUIRED_SPEC[e["kind"]].items():
            if not isinstance(spec.get(field), kind) or (not spec[field] and kind is str):
                problems.append(f"{where}: spec.{field}")
        refs = [spec["owner"]] if e["kind"] == "Component" else []
        refs += [f"user:{m}" for m in spec.get("members", []) if e["kind"] == "Group"]
        refs += [f"group:{g}" for g in spec.get("memberOf", [])]
        for ref in refs:
            kind, _, name = ref.partition(":")
            if (kind, name) not in by_ref:
                problems.append(f"{where}: {ref} does not resolve")
    return problems


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe").load_all(text) if d is not None]


def _exported(folder: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every entity the Location in `folder` names (each target read), and the Location."""
    [location] = _documents((folder / "catalog-info.yaml").read_text())
    entities = [location]
    for target in location["spec"]["targets"]:
        entities += _documents((folder / target).read_text())
    return entities, location


def _component(entities: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [e for e in entities if e["kind"] == "Component" and e["metadata"]["name"] == name]
    return found


def _demo(tmp_path: Path) -> list[str]:
    folder = tmp_path / "manifests"
    shutil.copytree(DEMO_MANIFESTS, folder)
    return [str(p) for p in sorted(folder.glob("*.yaml"))]


def test_the_store_exports_each_system_with_its_owner(
    wk: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _demo(tmp_path)
    assert wk("apply", *files, "--now", T)[0] == 0
    monkeypatch.setenv("WATCHKEEPER_PUBLIC_URL", URL)
    code, out, err = wk("export", "backstage", "--dir", str(tmp_path / "catalog"))
    assert code == 0 and err == ""
    entities, location = _exported(tmp_path / "catalog")
    assert backstage_problems(entities) == []
    written = {line.removeprefix("wrote ") for line in out.splitlines()}
    targets = [*location["spec"]["targets"], "catalog-info.yaml"]
    assert written == {str(tmp_path / "catalog" / target) for target in targets}

    documents = [d for f in files for d in _documents(Path(f).read_text())]
    systems = {d["metadata"]["name"]: d for d in documents if d["kind"] == "AISystem"}
    components = [e["metadata"]["name"] for e in entities if e["kind"] == "Component"]
    assert sorted(components) == sorted(systems)
    for name, manifest in systems.items():
        component = _component(entities, name)
        owner = manifest["spec"]["charter"]["owner"]
        assert component["spec"]["owner"] == f"user:{entity_name(owner)}"
        assert component["spec"]["lifecycle"] == LIFECYCLES[manifest["spec"]["lifecycle"]]
        assert component["metadata"]["annotations"]["watchkeeper.dev/system"] == name
        assert component["metadata"]["links"][0]["url"] == f"{URL}/systems/{name}"
        assert component["metadata"].get("title") == manifest["metadata"].get("title")
    [people] = [d for d in documents if d["kind"] == "People"]
    users = {e["spec"]["profile"]["email"]: e for e in entities if e["kind"] == "User"}
    assert sorted(users) == sorted(p["email"] for p in people["people"])
    for team in people["teams"]:
        for member in team["members"]:
            assert team["name"] in users[member]["spec"]["memberOf"]


def test_whoever_left_stays_named_until_the_charter_changes(
    wk: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backstage shows the owner Watchkeeper holds, gone or not: the vacuum is Watchkeeper's to
    report; the user says they left."""
    assert wk("apply", *_demo(tmp_path), "--now", T)[0] == 0
    assert wk("people", "deactivate", "fay@corp.example", "--now", T)[0] == 0
    monkeypatch.delenv("WATCHKEEPER_PUBLIC_URL", raising=False)
    code, out, _ = wk("export", "backstage")
    entities = _documents(out)
    assert code == 0 and backstage_problems(entities) == []
    fraud = _component(entities, "fraud-model")
    assert fraud["spec"]["owner"] == "user:fay_corp.example"
    assert "links" not in fraud["metadata"]  # no URL set: nothing to link to
    [fay] = [e for e in entities if e["metadata"]["name"] == "fay_corp.example"]
    assert fay["metadata"]["annotations"] == {"watchkeeper.dev/active": "false"}


def test_an_unreadable_stored_manifest_is_skipped_and_said(
    wk: Cli, app: Watchkeeper, tmp_path: Path
) -> None:
    assert wk("apply", *_demo(tmp_path), "--now", T)[0] == 0
    make_unreadable(app, "claims-triage", T0 + timedelta(hours=1))
    code, out, err = wk("export", "backstage")
    assert code == 1
    assert "skipped claims-triage: its stored manifest cannot be read" in err
    names = [e["metadata"]["name"] for e in _documents(out) if e["kind"] == "Component"]
    assert names == ["fraud-model", "support-assistant"]


@pytest.fixture
def offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """`wk` over a store that does not exist: these exports read files."""
    return Cli(f"sqlite:///{tmp_path / 'never-created.db'}", capsys, monkeypatch)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_files_export_as_they_declare_teams_lifecycles_and_gaps(
    offline: Cli, tmp_path: Path
) -> None:
    """From files (no store): a team owner is a group, each lifecycle maps to Backstage's, and a
    system without an owner, which Backstage cannot hold, is left out with the reason (exit 1)."""
    files = _demo(tmp_path)
    folder = tmp_path / "manifests"
    _edit(folder / "fraud-model.yaml", "owner: fay@corp.example", "owner: risk-oncall")
    _edit(folder / "fraud-model.yaml", "lifecycle: live", "lifecycle: retired")
    _edit(folder / "support-assistant.yaml", "lifecycle: live", "lifecycle: draft")
    _edit(folder / "claims-triage.yaml", "    owner: eli@corp.example\n", "")
    code, out, err = offline("export", "backstage", *files)
    assert code == 1
    assert "skipped claims-triage: no owner (spec.charter.owner)" in err
    entities = _documents(out)
    assert backstage_problems(entities) == []
    fraud = _component(entities, "fraud-model")
    assert fraud["spec"] == {
        "type": "service",
        "lifecycle": "deprecated",
        "owner": "group:risk-oncall",
    }
    assert _component(entities, "support-assistant")["spec"]["lifecycle"] == "experimental"
    assert not (tmp_path / "never-created.db").exists()


def test_the_server_url_is_the_link_when_no_public_url_is_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchkeeper.cli import run

    monkeypatch.delenv("WATCHKEEPER_PUBLIC_URL", raising=False)
    monkeypatch.setenv("WATCHKEEPER_URL", URL + "/")
    assert run(["export", "backstage", str(EXAMPLES)]) == 0
    [component] = [e for e in _documents(capsys.readouterr().out) if e["kind"] == "Component"]
    page = f"{URL}/systems/support-assistant"
    assert component["metadata"]["annotations"]["watchkeeper.dev/dashboard"] == page
    assert component["metadata"]["links"] == [
        {"url": page, "title": "Watchkeeper", "icon": "dashboard"}
    ]


def test_bad_input_is_refused_with_the_reason(offline: Cli, tmp_path: Path) -> None:
    wk = offline
    code, out, err = wk("export", "backstage")
    assert code == 2 and out == "" and "no store at" in err and "Traceback" not in err
    assert not (tmp_path / "never-created.db").exists()
    code, _, err = wk("export", "backstage", str(EXAMPLES / "nowhere.yaml"))
    assert code == 2 and "nowhere.yaml" in err and "Traceback" not in err
    blocked = tmp_path / "file"
    blocked.write_text("")
    code, _, err = wk("export", "backstage", str(EXAMPLES), "--dir", str(blocked / "sub"))
    assert code == 2 and "cannot write" in err and "Traceback" not in err
    folder = tmp_path / "clash"
    shutil.copytree(EXAMPLES, folder)
    _edit(
        folder / "people" / "people.yaml",
        "  - {email: ops@corp.example",
        "  - {email: ana+x@corp.example}\n  - {email: ana_x@corp.example}\n"
        "  - {email: ops@corp.example",
    )
    code, _, err = wk("export", "backstage", str(folder))
    assert code == 2 and "ana+x@corp.example and ana_x@corp.example both become" in err


@given(st.from_regex(EMAIL_RE, fullmatch=True))
def test_every_email_gets_a_name_backstage_accepts(email: str) -> None:
    assert _valid_name(entity_name(email))


def test_long_emails_keep_distinct_names() -> None:
    first, second = ("a" * 70 + "@corp.example", "a" * 71 + "@corp.example")
    assert entity_name(first) != entity_name(second)
    assert all(len(entity_name(e)) <= 63 for e in (first, second))
