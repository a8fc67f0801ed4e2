"""`wk demo`: a guided run through the real commands on a fresh workspace.

Three systems: one ready for go-live, one shipped with unanswered questions, one whose owner
leaves. Each step prints the command a user would type and what it shows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

MANIFESTS = Path(__file__).parent / "manifests"
SYSTEMS = ("support-assistant", "claims-triage", "fraud-model")


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(workdir: Path | None, console: Console) -> int:
    from watchkeeper.cli import run as wk

    workspace = Path(workdir or tempfile.mkdtemp(prefix="watchkeeper-demo-"))
    workspace.mkdir(parents=True, exist_ok=True)
    for path in MANIFESTS.glob("*.yaml"):
        shutil.copy(path, workspace / path.name)
    db = f"sqlite:///{workspace / '.watchkeeper' / 'watchkeeper.db'}"
    files = [str(workspace / f"{name}.yaml") for name in SYSTEMS]
    people = str(workspace / "people.yaml")

    def step(title: str, *args: str, user: str = "ops@corp.example") -> int:
        console.print(Rule(title, style="cyan"))
        shown = " ".join(a if " " not in a else repr(a) for a in args).replace(str(workspace), ".")
        console.print(f"[bold]$ WATCHKEEPER_USER={user} wk {shown}[/]")
        with _env(WATCHKEEPER_DB=db, WATCHKEEPER_USER=user):
            code = wk(list(args))
        console.print(f"[dim](exit {code})[/]\n")
        return code

    os.chdir(workspace)
    console.print(f"Workspace: {workspace}  (store: {db})\n")
    step(
        "1. A team answers the four questions for a new system",
        "init", "--no-input", "--out", str(workspace / "new-system" / "watchkeeper.yaml"),
        "--name", "search-ranker", "--tier", "medium", "--owner", "ana@corp.example",
        "--quality-monitor", "ana@corp.example", "--retraining-decider", "ben@corp.example",
        "--data-liaison", "chen@corp.example", "--kill-authority", "ana@corp.example",
        "--fail-mode", "open", "--fallback", "Serve the unranked list",
    )  # fmt: skip
    step("2. The go-live gate in CI, before anyone acknowledged", "gate", people, *files,
         "--now", "2026-01-05T09:00Z")  # fmt: skip
    step("3. Record the charters and people", "apply", people, *files,
         "--now", "2026-01-05T10:00Z")  # fmt: skip
    acks = [
        ("support-assistant", "ana@corp.example"),
        ("support-assistant", "ben@corp.example"),
        ("support-assistant", "chen@corp.example"),
        ("support-assistant", "dev@corp.example"),
        ("fraud-model", "fay@corp.example"),
        ("fraud-model", "gus@corp.example"),
        ("claims-triage", "eli@corp.example"),
    ]
    for system, user in acks:
        step(f"4. {user} acknowledges their roles on {system}", "ack", system, "all",
             "--now", "2026-01-06T09:00Z", user=user)  # fmt: skip
    step("5. Gate again: support-assistant is ready, claims-triage still is not", "gate",
         *files, "--now", "2026-01-06T10:00Z")  # fmt: skip
    step("6. Four months later, fraud-model's owner leaves", "people", "deactivate",
         "fay@corp.example", "--now", "2026-05-04T09:00Z")  # fmt: skip
    code = step("7. The ownership vacuum report: who is really looking after what?", "vacuum",
                "--now", "2026-05-04T10:00Z")  # fmt: skip
    console.print(Rule("What you just saw", style="cyan"))
    console.print(
        "- support-assistant: every question answered and acknowledged; ready at the gate.\n"
        "- claims-triage: went live anyway; the vacuum report names its empty roles.\n"
        "- fraud-model: its owner left; her roles became vacant the moment she was deactivated.\n"
        f"Re-run any command yourself: export WATCHKEEPER_DB={db}"
    )
    return 0 if code in (0, 1) else code
