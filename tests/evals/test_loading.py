"""Golden sets and targets: what loads, and every way it can fail, located and in one go."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from watchkeeper.evals import Case, EvalError, import_target, load_dataset

from .samples import EXAMPLES, WriteModule


def test_a_golden_set_loads_with_defaults_and_the_hash_of_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"input": "hi", "expected": "greeting"}\n'
        b"\n"
        b'{"id": "b", "input": {"x": 1}, "expected": null, "tags": ["t", "u", "t"]}\r\n'
        b'{"id": 7, "input": [1], "expected": 2}'
    )
    golden = load_dataset(path)
    assert golden.cases == (
        Case("1", "hi", "greeting"),
        Case("b", {"x": 1}, None, ("t", "u")),
        Case("7", [1], 2),
    )
    assert golden.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert golden.path == str(path)


def test_the_shipped_example_loads() -> None:
    golden = load_dataset(EXAMPLES / "golden.jsonl")
    assert len(golden.cases) == 26
    assert {tag for case in golden.cases for tag in case.tags} == {
        "account",
        "billing",
        "shipping",
        "urgent",
    }


def test_every_bad_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_bytes(
        b'{"id": "a", "input": 1, "expected": 1}\n'
        b'{"input": 1, "expected": \n'
        b"[1, 2]\n"
        b'{"input": 1}\n'
        b'{"input": 1, "expected": 1, "tag": ["x"]}\n'
        b'{"id": "", "input": 1, "expected": 1, "tags": "billing"}\n'
        b'{"id": "a", "input": 1, "expected": 1}\n'
        b'{"input": "caf\xe9", "expected": 1}\n'
        b'{"id": "10", "input": 1, "expected": 1}\n'
        b'{"input": 1, "expected": 1}\n'
        b'{"input": 1, "expected": NaN}\n'
    )
    with pytest.raises(EvalError) as caught:
        load_dataset(path)
    assert caught.value.kind == "invalid"
    assert caught.value.problems == (
        f"{path}:2: not valid JSON: Expecting value (column 26)",
        f'{path}:3: expected an object with "input" and "expected", not a list',
        f'{path}:4: missing "expected"',
        f'{path}:5: unknown key "tag" (allowed: id, input, expected, tags)',
        f'{path}:6: "id" must be a non-empty string, not ""; '
        f'"tags" must be a list of non-empty strings, not "billing"',
        f"{path}:7: duplicate id 'a' (first on line 1)",
        f"{path}:8: not UTF-8 text (byte 15)",
        f"{path}:10: duplicate id '10' (first on line 9)",
        f"{path}:11: not valid JSON: NaN is not JSON",
    )


def test_a_missing_or_empty_golden_set_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match=r"missing.jsonl: cannot read the golden set \(No such"):
        load_dataset(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n  \n")
    with pytest.raises(EvalError, match=r"empty\.jsonl: no cases"):
        load_dataset(tmp_path / "empty.jsonl")


def test_a_hopeless_file_lists_the_first_fifty_problems(tmp_path: Path) -> None:
    path = tmp_path / "golden.csv"
    path.write_text("input,expected\n" * 120)
    with pytest.raises(EvalError) as caught:
        load_dataset(path)
    assert len(caught.value.problems) == 51
    assert caught.value.problems[-1] == f"{path}: … and 70 more problems"


# --- targets -------------------------------------------------------------------------------


def test_a_target_is_found_in_the_search_path_with_its_siblings(
    write_module: WriteModule, repo: Path
) -> None:
    write_module("bot/helpers.py", "def shout(text):\n    return text.upper()\n")
    write_module("bot/__init__.py", "")
    write_module(
        "bot/app.py",
        """
        from bot.helpers import shout

        class Bot:
            @staticmethod
            def answer(ticket):
                return shout(ticket)
        """,
    )
    path_before = list(sys.path)
    answer = import_target("bot.app:Bot.answer", [repo])
    assert answer("hi") == "HI"
    assert sys.path == path_before


def test_the_example_target_imports_from_its_folder() -> None:
    answer = import_target("support_bot:answer", [EXAMPLES])
    assert answer({"ticket_text": "Where is my order?"}) == "track_order"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bot.answer", "target 'bot.answer' is not an import path such as package.module:function"),
        ("bot:", "is not an import path"),
        ("bot:answer()", "is not an import path"),
        (
            "nowhere:answer",
            "target 'nowhere:answer': no module 'nowhere' in {repo} or among the installed",
        ),
        ("bot.nowhere:answer", "no module 'bot.nowhere' in {repo}"),
        ("bot:nope", "target 'bot:nope': {repo}/bot.py has no attribute 'nope'"),
        ("bot:VERSION", "target 'bot:VERSION' is a str, which cannot be called"),
        ("broken:answer", "importing 'broken' failed: SyntaxError:"),
        ("needy:answer", "importing 'needy' failed: No module named 'not_installed_anywhere'"),
        ("crashes:answer", "importing 'crashes' failed: RuntimeError: no API key (at {repo}/crash"),
    ],
)
def test_import_errors_say_what_is_wrong(
    spec: str, message: str, write_module: WriteModule, repo: Path
) -> None:
    write_module("bot.py", "VERSION = '1'\n\ndef answer(ticket):\n    return ticket\n")
    write_module("broken.py", "def answer(ticket)\n    return ticket\n")
    write_module("needy.py", "import not_installed_anywhere\n")
    write_module("crashes.py", "raise RuntimeError('no API key')\n")
    with pytest.raises(EvalError) as caught:
        import_target(spec, [repo])
    assert message.format(repo=repo) in caught.value.problems[0]


def test_a_module_of_the_same_name_from_another_repo_is_refused(
    write_module: WriteModule, repo: Path
) -> None:
    first = write_module("one/app.py", "def answer(ticket):\n    return 1\n").parent
    second = write_module("two/app.py", "def answer(ticket):\n    return 2\n").parent
    assert import_target("app:answer", [first])("x") == 1
    with pytest.raises(EvalError, match=f"module 'app' is already loaded from {first}/app.py"):
        import_target("app:answer", [second])
    assert import_target("app:answer", [first, second])("x") == 1
