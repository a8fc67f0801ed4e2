"""Input bounds of the manifest reader: no alias bombs, no oversized files, no text a database
cannot store, and regular expressions RE2 can run — each refused with file:line:column."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server._world import SYSTEM_YAML, Api, World
from watchkeeper.manifest import ManifestError, load_paths, load_text
from watchkeeper.manifest._yaml import MAX_MANIFEST_BYTES

from .test_errors import GOOD

# The billion laughs: nine anchors each naming the previous one nine times; 9**9 strings once
# every alias is expanded.
BOMB = (
    "apiVersion: watchkeeper/v1\nkind: AISystem\nmetadata: {name: lol}\nspec:\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
)
NO_ALIASES = "YAML aliases are not allowed in a manifest: write the value out where it is used"


def located(text: str, file: str = "m.yaml") -> list[tuple[int, int, str]]:
    with pytest.raises(ManifestError) as caught:
        load_text(text, file, known_people=["ana@corp.example"])
    assert all(p.location.file == file for p in caught.value.problems)
    return [(p.location.line, p.location.column, p.message) for p in caught.value.problems]


# --- finding 3: aliases and size ------------------------------------------------------------


def test_billion_laughs_is_refused_at_its_first_alias_in_bounded_memory() -> None:
    """In a child capped at 512 MiB of address space: the parse used to need 2.4 GB."""
    assert len(BOMB.encode()) < 500
    script = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({512 * 2**20}, {512 * 2**20}))\n"
        "from watchkeeper.manifest import ManifestError, load_text\n"
        "try:\n"
        "    load_text(sys.stdin.read(), 'bomb.yaml')\n"
        "except ManifestError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=BOMB, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"bomb.yaml:6:8: {NO_ALIASES} (*a)"


def test_every_alias_is_located_and_anchors_alone_are_fine() -> None:
    text = GOOD.replace("owner: ana@corp.example", "owner: &o ana@corp.example\n    x: *o")
    found = located(text)
    assert found == [(8, 8, f"{NO_ALIASES} (*o)")]
    anchored = GOOD.replace("owner: ana@corp.example", "owner: &o ana@corp.example")
    assert load_text(anchored, known_people=["ana@corp.example"]).systems[0].name == "bot"


def test_merge_keys_are_aliases_too() -> None:
    text = "a: &base {x: 1}\nb:\n  <<: *base\n"
    [(line, col, message)] = located(text)
    assert (line, col) == (3, 7) and "(*base)" in message


def test_a_document_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    # an unclosed flow sequence: parsing it would report a syntax error instead
    text = "[" + "x" * MAX_MANIFEST_BYTES
    [(line, col, message)] = located(text)
    assert (line, col) == (1, 1)
    assert message == (
        f"the manifest is {len(text.encode())} bytes; the limit is {MAX_MANIFEST_BYTES} bytes "
        "(256 KiB) per file: split it into several files"
    )
    big = tmp_path / "watchkeeper.yaml"
    big.write_text("é" * (MAX_MANIFEST_BYTES // 2 + 1), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_paths([big])
    [problem] = caught.value.problems
    assert str(problem.location) == f"{big}:1:1"
    assert problem.message.startswith(f"the manifest is {MAX_MANIFEST_BYTES + 2} bytes")


def test_a_document_at_the_limit_is_read() -> None:
    padding = "#" * (MAX_MANIFEST_BYTES - len(GOOD.encode()) - 1) + "\n"
    assert len((GOOD + padding).encode()) == MAX_MANIFEST_BYTES
    loaded = load_text(GOOD + padding, known_people=["ana@corp.example"])
    assert loaded.systems[0].name == "bot"


# --- finding 14a: text a database cannot store ----------------------------------------------


@pytest.mark.parametrize(
    ("escape", "what"),
    [
        ("\\0", "a NUL character (\\x00)"),
        ("\\x00", "a NUL character (\\x00)"),
        ("\\ud800", "an unpaired surrogate (\\ud800)"),
    ],
)
def test_unstorable_characters_are_located_in_values_and_keys(escape: str, what: str) -> None:
    text = GOOD.replace("  name: bot", f'  name: bot\n  title: "Bad{escape}title"')
    text = text.replace("  runbook:", f'  runbook:\n    healthy: {{"k{escape}": {{min: 1}}}}')
    found = located(text)
    assert (5, 10, f"metadata.title: contains {what}, which cannot be stored") in found
    assert any(
        (line, col) == (10, 15) and f"contains {what}, which cannot be stored" in message
        for line, col, message in found
    ), found


# --- finding 7: regular expressions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "why"),
    [(r"(a)\1", r"invalid escape sequence: \1"), ("(?=a)b", "invalid perl operator: (?=")],
)
def test_patterns_re2_cannot_run_are_located_and_explained(pattern: str, why: str) -> None:
    text = GOOD.replace(
        "      acc: {from: eval, suite: golden}",
        "      acc: {from: eval, suite: golden}\n"
        f"      refusals: {{from: output, kind: rate, match: {json.dumps(pattern)}}}\n"
        "    triage:\n"
        f"      rules: [{{name: r, match: {json.dumps(pattern)}}}]",
    )
    found = located(text)
    assert [(line, col) for line, col, _ in found] == [(11, 51), (13, 32)]
    for _, _, message in found:
        assert f"not a regular expression RE2 can run ({why})" in message
        assert "backreferences" in message and "lookaround" in message
    assert found[0][2].startswith("spec.runbook.signals.refusals.match: ")
    assert found[1][2].startswith("spec.runbook.triage.rules.0.match: ")


# --- over the API, on both stores -----------------------------------------------------------


def apply(api: Api, world: World, text: str) -> tuple[int, dict[str, object]]:
    body = {"files": [{"name": "watchkeeper.yaml", "text": text}]}
    answer = api("POST", "/api/v1/apply", world.token("owner"), json=body)
    return answer.status_code, answer.json()


def test_api_apply_refuses_a_nul_with_a_located_400(api: Api, world: World) -> None:
    text = SYSTEM_YAML.replace("title: Ticket triage", 'title: "Ticket\\0triage"')
    status, answer = apply(api, world, text)
    assert status == 400, answer
    message = "metadata.title: contains a NUL character (\\x00), which cannot be stored"
    where = {"file": "watchkeeper.yaml", "line": 3, "column": 37}
    assert answer["problems"] == [{**where, "message": message}]


def test_api_apply_refuses_a_bomb_and_an_oversized_file_before_parsing(
    api: Api, world: World
) -> None:
    status, answer = apply(api, world, BOMB)
    assert status == 400
    assert [(p["line"], p["column"]) for p in answer["problems"]] == [(6, 8)]  # type: ignore[index, union-attr]
    # 600,001 characters (under the request model's bound) but 1.2 MB: refused by size, unparsed
    status, answer = apply(api, world, "[" + "é" * 600_000)
    assert status == 400
    [problem] = answer["problems"]  # type: ignore[misc]
    assert (problem["file"], problem["line"], problem["column"]) == ("watchkeeper.yaml", 1, 1)
    assert problem["message"].startswith("the manifest is 1200001 bytes; the limit is")
