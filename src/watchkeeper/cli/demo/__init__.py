"""`wk demo`: six months of three AI systems, replayed through the real pipeline.

A fresh SQLite workspace; the go-live gate and the final vacuum report run as the real CLI
commands, everything in between through the same operations the HTTP API calls, with a fixed
clock the story moves forward. Notifications go to a real HTTP receiver on loopback; a real
server answers an SDK client's kill-switch long-poll.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from watchkeeper.cli.demo.story import START, Story, go_live, replay, write_workspace

HERE = Path(__file__).parent
SYSTEMS = ("support-assistant", "fraud-model", "claims-triage")


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
    from watchkeeper import Client
    from watchkeeper.app import build
    from watchkeeper.cli import run as wk
    from watchkeeper.clock import FixedClock
    from watchkeeper.server import LiveServer
    from watchkeeper.settings import Settings
    from watchkeeper.testing import http_receiver

    began = time.monotonic()
    workspace = Path(workdir or tempfile.mkdtemp(prefix="watchkeeper-demo-")).resolve()
    db = f"sqlite:///{workspace / '.watchkeeper' / 'watchkeeper.db'}"
    with http_receiver() as receiver, _env(WATCHKEEPER_DB=db):
        write_workspace(workspace, HERE / "manifests", HERE / "evals", receiver.url)
        people = workspace / "people.yaml"
        os.chdir(workspace)
        console.print(f"Workspace: {workspace}\n")
        console.print(
            Rule("Before go-live: rehearse the runbooks, then the gate in CI", style="cyan")
        )
        with _env(WATCHKEEPER_USER="ops@corp.example"):
            for name in ("support-assistant", "claims-triage"):
                console.print(f"[bold]$ wk rehearse {name} people.yaml {name}.yaml[/]")
                files = [str(people), str(workspace / f"{name}.yaml")]
                wk(["rehearse", name, *files, "--now", (START - timedelta(days=3)).isoformat()])
        console.print("[bold]$ wk gate people.yaml support-assistant.yaml claims-triage.yaml[/]")
        with _env(WATCHKEEPER_USER="ops@corp.example"):
            wk(
                [
                    "gate",
                    str(people),
                    str(workspace / "support-assistant.yaml"),
                    str(workspace / "claims-triage.yaml"),
                    "--now",
                    START.isoformat(),
                ]
            )
        clock = FixedClock(START - timedelta(days=2))
        # The demo is the operator: its scheduler may run the evals it ships, and nothing else
        # (claims-triage names a model nobody installed, so its eval stays overdue).
        settings = Settings(
            db=db,
            public_url="http://127.0.0.1:8000",
            secret="demo",
            eval_modules=("watchkeeper.cli.demo.evals",),
            eval_data=(str(HERE / "evals"),),
        )
        app = build(settings, clock=clock)
        story = Story(app, clock, console, workspace, receiver.url)
        with LiveServer(app, max_wait=2.0) as server:
            go_live(story)
            token = story.ops("ops@corp.example").create_token("dev@corp.example")["token"]
            client = Client(server.url, token, "support-assistant", cache_dir=workspace / ".sdk")

            @client.monitored(fallback=lambda ticket: "routed to the human queue (fallback)")
            def answer(ticket: str) -> str:
                return "answered by the assistant"

            def sdk_check() -> str:
                deadline = time.monotonic() + 3
                want = story.ops("ops@corp.example").app.switch.state("support-assistant").state
                while (client.enabled() != (want == "enabled")) and time.monotonic() < deadline:
                    time.sleep(0.02)
                return answer("Where is my refund?")

            replay(story, sdk_check)
            client.close()
        console.print(Rule("Six months later: the ownership vacuum report", style="cyan"))
        console.print(f"[bold]$ wk vacuum --now {story.clock.now():%Y-%m-%dT%H:%M}Z[/]")
        code = wk(["vacuum", "--now", story.clock.now().isoformat()])
        _evidence(wk, story.clock.now(), console)
        _summary(story, console, time.monotonic() - began, db)
        app.close()
    return 0 if code in (0, 1) else code


def _evidence(wk: Callable[[list[str]], int], now: datetime, console: Console) -> None:
    """The half year as an auditor receives it: one bundle, checked offline (with the demo's
    secret, so every HMAC of the chain is recomputed, not only linked)."""
    console.print(Rule("For the auditor: the evidence bundle of the half year", style="cyan"))
    period = ["--from", f"{START:%Y-%m-%d}", "--to", f"{now:%Y-%m-%d}"]
    bundle = "evidence-support-assistant.zip"
    console.print(f"[bold]$ wk evidence support-assistant {' '.join(period)} --format zip[/]")
    with _env(WATCHKEEPER_SECRET="demo", WATCHKEEPER_USER="auditor@corp.example"):
        wk(["evidence", "support-assistant", *period, "--format", "zip", "-o", bundle,
            "--now", now.isoformat()])  # fmt: skip
        console.print(f"[bold]$ wk evidence verify {bundle}[/]")
        wk(["evidence", "verify", bundle])


def _summary(story: Story, console: Console, seconds: float, db: str) -> None:
    counts = {
        kind: sum(1 for e in story.events if e.kind == kind)
        for kind in ("happened", "found", "told", "did")
    }
    console.print(Rule("What you just saw", style="cyan"))
    console.print(
        f"{counts['happened']} things happened, Watchkeeper found {counts['found']}, told people "
        f"{counts['told']} times, and people acted {counts['did']} times — 182 days in "
        f"{seconds:.0f} s.\n"
        "Open the dashboard on this data:\n"
        f"  WATCHKEEPER_DB={db} .venv/bin/wk serve --port 8000\n"
        "  then visit http://127.0.0.1:8000/ and sign in with a token from\n"
        f"  WATCHKEEPER_DB={db} .venv/bin/wk token create ana@corp.example"
    )
