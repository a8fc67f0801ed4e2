"""Every class of manifest error is reported with its file:line:column, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.manifest import ManifestError, load_paths, load_text

PEOPLE = """\
apiVersion: watchkeeper/v1
kind: People
people:
  - {email: ana@corp.example, name: Ana}
  - {email: ben@corp.example, name: Ben}
"""

GOOD = """\
apiVersion: watchkeeper/v1
kind: AISystem
metadata:
  name: bot
spec:
  charter:
    owner: ana@corp.example
  runbook:
    signals:
      acc: {from: eval, suite: golden}
    alerts:
      - {name: drop, signal: acc, drop: 20%, playbook: p}
    playbooks:
      p: {steps: [look]}
  evals:
    - {suite: golden, dataset: g.jsonl, target: "m:f", every: 7d}
"""


def problems(text: str, tmp_path: Path) -> list[tuple[int, int, str]]:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(text)
    (tmp_path / "people.yaml").write_text(PEOPLE)
    with pytest.raises(ManifestError) as caught:
        load_paths([path, tmp_path / "people.yaml"])
    for p in caught.value.problems:
        assert p.location.file == str(path)
    return [(p.location.line, p.location.column, p.message) for p in caught.value.problems]


def test_good_manifest_loads(tmp_path: Path) -> None:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(GOOD + "---\n" + PEOPLE)
    loaded = load_paths([path])
    assert [s.name for s in loaded.systems] == ["bot"]
    assert loaded.systems[0].spec.runbook.alerts[0].drop == pytest.approx(0.2)
    assert {p.email for p in loaded.people} == {"ana@corp.example", "ben@corp.example"}


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    text = GOOD.replace("    owner: ana@corp.example", "    ownr: ana@corp.example")
    [(line, col, message)] = problems(text, tmp_path)
    assert (line, col) == (7, 5)
    assert "unknown key 'ownr' in spec.charter" in message
    assert "did you mean 'owner'" in message


def test_wrong_type(tmp_path: Path) -> None:
    text = GOOD.replace("playbook: p}", "playbook: p, severity: [a]}")
    [(line, _, message)] = problems(text, tmp_path)
    assert line == 12
    assert "spec.runbook.alerts.0.severity" in message


def test_bad_duration(tmp_path: Path) -> None:
    text = GOOD.replace("every: 7d", "every: 7 days")
    [(line, col, message)] = problems(text, tmp_path)
    assert (line, col) == (16, text.splitlines()[15].index("7 days") + 1)
    assert "'7 days' is not a duration" in message and "30m" in message


def test_bad_email(tmp_path: Path) -> None:
    text = GOOD.replace("owner: ana@corp.example", "owner: ana@@corp")
    [(line, col, message)] = problems(text, tmp_path)
    assert (line, col) == (7, 12)
    assert "is not an email address" in message


def test_unknown_person(tmp_path: Path) -> None:
    text = GOOD.replace("owner: ana@corp.example", "owner: zed@corp.example")
    [(line, col, message)] = problems(text, tmp_path)
    assert (line, col) == (7, 12)
    assert "unknown person 'zed@corp.example'" in message
    assert "People manifest" in message


def test_known_person_from_store_counts(tmp_path: Path) -> None:
    text = GOOD.replace("owner: ana@corp.example", "owner: zed@corp.example")
    loaded = load_text(text, known_people=["zed@corp.example"])
    assert loaded.systems[0].spec.charter.owner == "zed@corp.example"


def test_duplicate_system_name(tmp_path: Path) -> None:
    first, second = tmp_path / "a.wk.yaml", tmp_path / "b.wk.yaml"
    first.write_text(GOOD)
    second.write_text(GOOD)
    (tmp_path / "people.yaml").write_text(PEOPLE)
    with pytest.raises(ManifestError) as caught:
        load_paths([tmp_path])
    [problem] = caught.value.problems
    assert problem.location.file == str(second)
    assert problem.location.line == 4
    assert f"first declared at {first}:4:9" in problem.message


def test_missing_playbook_and_signal(tmp_path: Path) -> None:
    text = GOOD.replace("signal: acc,", "signal: acx,").replace("playbook: p}", "playbook: q}")
    found = problems(text, tmp_path)
    assert [(line, msg.split(" (")[0].split(";")[0]) for line, _, msg in found] == [
        (12, "alert 'drop' names missing signal 'acx'"),
        (12, "alert 'drop' names missing playbook 'q'"),
    ]
    assert "did you mean 'acc'" in found[0][2]


def test_all_problems_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("  name: bot", "  name: Bot_1\n  tier: hi")
        .replace("ana@corp.example", "zed@corp.example")
        .replace("playbook: p}", "playbook: q}")
    )
    found = problems(text, tmp_path)
    lines = [line for line, _, _ in found]
    assert lines == sorted(lines)
    assert len(found) == 4
    assert {4, 5, 8, 13} == set(lines)


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    [(line, _, message)] = problems(GOOD.replace("  charter:", "  charter: [", 1), tmp_path)
    assert message.startswith("invalid YAML")
    assert line >= 6


def test_duplicate_key_is_located(tmp_path: Path) -> None:
    text = GOOD.replace("  name: bot", "  name: bot\n  name: bot2")
    [(line, _, message)] = problems(text, tmp_path)
    assert line == 5
    assert "duplicate" in message


def test_unknown_kind_and_not_a_mapping(tmp_path: Path) -> None:
    found = problems("apiVersion: watchkeeper/v1\nkind: AISystm\n---\n- a list\n", tmp_path)
    assert found[0][:2] == (2, 7) and "did you mean 'AISystem'" in found[0][2]
    assert found[1][0] == 4 and "is a mapping" in found[1][2]


def test_missing_required_key(tmp_path: Path) -> None:
    [(line, _, message)] = problems("apiVersion: watchkeeper/v1\nkind: AISystem\n", tmp_path)
    assert line == 1
    assert "missing required key 'metadata'" in message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_paths([tmp_path / "nope.yaml"])
    assert "cannot read file" in caught.value.problems[0].message


def test_healthy_for_unknown_signal(tmp_path: Path) -> None:
    text = GOOD.replace("  runbook:\n", "  runbook:\n    healthy:\n      accuracy: {min: 0.9}\n")
    [(line, col, message)] = problems(text, tmp_path)
    assert (line, col) == (10, 7)
    assert "healthy bound for unknown signal 'accuracy'" in message
