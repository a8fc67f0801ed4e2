"""The README's "Data formats" section is what users write their files from: every example in it
is read here by the code that reads users' files, and every signal kind, playbook key and item
key the code knows must be described there."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from ruamel.yaml import YAML

from watchkeeper.cli.monitor import BY_NAME, _rows
from watchkeeper.evals import BUILTIN_SCORERS, load_dataset
from watchkeeper.evals._run import _KEYS as GOLDEN_KEYS
from watchkeeper.expr import FUNCTIONS
from watchkeeper.ingest.items import FEEDBACK_KEYS, OBSERVATION_KEYS, validate_batch
from watchkeeper.manifest import Playbook, Signal, SystemSpec, load_text

README = (Path(__file__).parent.parent / "README.md").read_text()
SECTION = README.partition("\n## Data formats\n")[2].partition("\n## ")[0]
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```$", SECTION, re.DOTALL | re.MULTILINE)
# After every example's time: the examples are dated early in March 2026.
NOW = datetime(2026, 3, 10, tzinfo=UTC)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCKS if lang == language]


def _jsonl(kind: str) -> list[str]:
    """The JSONL examples of one kind, told apart by the key only that kind has."""
    marks = {"golden": "expected", "feedback": "observation_id"}
    found = []
    for body in _blocks("jsonl"):
        kinds = {
            next((k for k, mark in marks.items() if mark in json.loads(line)), "observation")
            for line in body.splitlines()
            if line.strip()
        }
        assert len(kinds) == 1, f"a JSONL example mixes {sorted(kinds)}:\n{body}"
        if kinds == {kind}:
            found.append(body)
    return found


def _lines(body: str) -> int:
    return sum(1 for line in body.splitlines() if line.strip())


def test_the_section_shows_every_format() -> None:
    assert SECTION, "README.md has no '## Data formats' section"
    for kind in ("observation", "feedback", "golden"):
        assert _jsonl(kind), f"no JSONL example of {kind}"
    assert _blocks("csv")
    assert len(_blocks("yaml")) >= 3


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_observation_lines_are_ingested_as_written(tmp_path: Path, suffix: str) -> None:
    for body in _jsonl("observation"):
        path = tmp_path / f"observations{suffix}"
        path.write_text(body)
        accepted, rejected = validate_batch(list(_rows(path)), NOW)
        assert not rejected, [r.error for r in rejected]
        assert len(accepted) == _lines(body)
        assert all(item.ts < NOW for item in accepted)  # dated by `ts`, not by arrival


@pytest.mark.parametrize("body", _blocks("csv"))
def test_csv_columns_land_where_the_section_says(tmp_path: Path, body: str) -> None:
    path = tmp_path / "observations.csv"
    path.write_text(body)
    accepted, rejected = validate_batch(list(_rows(path)), NOW)
    assert not rejected, [r.error for r in rejected]
    header = body.splitlines()[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in body.splitlines()[1:]]
    assert len(accepted) == len(rows)
    named = {"id", "ts", "output", "latency_ms", "model_version"}
    for item, row in zip(accepted, rows, strict=True):
        assert item.ts == datetime.fromisoformat(row["ts"])
        assert item.id == row["id"] and item.output == row["output"]
        for column, text in row.items():
            group, _, name = column.rpartition(".")
            if column in named:
                continue
            where = item.metadata if group == "metadata" else item.inputs
            assert str(where[name]) == text, column


def test_a_time_column_of_another_name_is_the_time_when_the_flag_names_it(tmp_path: Path) -> None:
    assert "`--ts COLUMN`, `--output COLUMN`" in SECTION
    path = tmp_path / "observations.csv"
    path.write_text("timestamp,ticket_text,label\n2026-03-02T09:15:00,Where is my refund?,refund\n")
    names = {**BY_NAME, "timestamp": "ts", "label": "output"}
    del names["ts"], names["output"]
    (item,), rejected = validate_batch(list(_rows(path, names)), NOW)
    assert not rejected
    assert item.ts == datetime(2026, 3, 2, 9, 15, tzinfo=UTC) and item.output == "refund"
    assert json.loads(item.encoded[0]) == {"ticket_text": "Where is my refund?"}


def test_feedback_lines_are_accepted() -> None:
    for body in _jsonl("feedback"):
        items = [json.loads(line) for line in body.splitlines() if line.strip()]
        accepted, rejected = validate_batch(items, NOW, kind="feedback")
        assert not rejected, [r.error for r in rejected]
        assert len(accepted) == len(items)


def test_golden_sets_load(tmp_path: Path) -> None:
    for body in _jsonl("golden"):
        path = tmp_path / "golden.jsonl"
        path.write_text(body)
        assert len(load_dataset(path).cases) == _lines(body)


def _manifest(snippet: str) -> str:
    """A runbook snippet (the keys under `spec:`) as a whole system manifest."""
    return (
        "apiVersion: watchkeeper/v1\nkind: AISystem\nmetadata: {name: docs-example}\nspec:\n"
        + textwrap.indent(snippet, "  ")
    )


@pytest.mark.parametrize("snippet", _blocks("yaml"))
def test_yaml_examples_load_as_manifests(snippet: str) -> None:
    keys = set(YAML(typ="safe").load(snippet))
    assert keys <= set(SystemSpec.model_fields), f"not keys under spec: {keys}"
    (system,) = load_text(_manifest(snippet), "README.md").systems
    assert system.spec.runbook.signals or system.spec.runbook.playbooks


def test_every_signal_kind_has_an_example_that_loads() -> None:
    kinds = {
        signal.kind
        for snippet in _blocks("yaml")
        for signal in load_text(_manifest(snippet)).systems[0].spec.runbook.signals.values()
    }
    assert kinds == set(get_args(Signal.model_fields["kind"].annotation))


def _missing(names: Any) -> list[str]:
    return sorted(name for name in names if f"`{name}`" not in SECTION)


def test_every_signal_kind_and_source_is_described() -> None:
    assert not _missing(get_args(Signal.model_fields["kind"].annotation))
    assert not _missing(get_args(Signal.model_fields["source"].annotation))


def test_every_playbook_key_is_described() -> None:
    assert not _missing(Playbook.model_fields)


def test_every_item_key_is_described() -> None:
    assert not _missing(OBSERVATION_KEYS)
    assert not _missing(FEEDBACK_KEYS)
    assert not _missing(GOLDEN_KEYS)


def test_every_expression_function_and_scorer_is_described() -> None:
    assert not [name for name in FUNCTIONS if f"`{name}(" not in SECTION]
    assert not _missing(BUILTIN_SCORERS)
