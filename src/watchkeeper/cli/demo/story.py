"""Six months of three AI systems, replayed through the real pipeline in about a minute.

Data goes in through the same operations the HTTP API calls, the scheduler ticks once a day (and
at the minutes an escalation needs), notifications go to a real HTTP receiver on loopback, and a
real server answers an SDK client's kill-switch long-poll. The story is what the article warns
of: an upstream rename, a slow decline, an owner who leaves, a harmful output, reviews kept and
skipped, care given and not.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from watchkeeper.app import Operations, Watchkeeper
from watchkeeper.clock import FixedClock
from watchkeeper.evals import EvalRun, regression_diff

START = datetime.fromisoformat("2026-01-05T09:00:00+00:00")
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
DAYS = 182

RENAME_FROM, RENAME_TO = 56, 60  # fraud upstream renames merchant_category for four days
HARMFUL_DAY = 95
REGRESSION_FROM, REGRESSION_TO = 66, 73  # a model update that breaks billing answers
OWNER_LEAVES, SUCCESSOR = 119, 121
DECLINE_FROM, DROP_DAY = 90, 162


@dataclass
class Event:
    at: datetime
    kind: str  # happened | found | told | did
    text: str


@dataclass
class Story:
    app: Watchkeeper
    clock: FixedClock
    console: Console
    workspace: Path
    receiver_url: str
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    events: list[Event] = field(default_factory=list)
    seen_deliveries: int = 0
    seen_findings: set[str] = field(default_factory=set)
    checks: dict[str, Any] = field(default_factory=dict)

    # --- plumbing -----------------------------------------------------------------------------

    def ops(self, actor: str, at: datetime | None = None) -> Operations:
        """Acting now, or at `at`: a day's data is sent at the day's end, never before it was
        made (ingest refuses items dated after they arrive)."""
        return Operations(self.app, actor, at or self.clock.now(), enforce=False)

    def at(self, instant: datetime) -> None:
        self.clock.set(instant)

    def say(self, kind: str, text: str) -> None:
        self.events.append(Event(self.clock.now(), kind, text))
        label = {
            "happened": "[bold]HAPPENED[/]",
            "found": "[yellow]FOUND[/]   ",
            "told": "[cyan]TOLD[/]    ",
            "did": "[green]DID[/]     ",
        }[kind]
        self.console.print(f"{self.clock.now():%Y-%m-%d %H:%M}  {label} {text}", highlight=False)

    def tell_news(self) -> None:
        """Print who was told what since last time (from the delivery records)."""
        with self.app.store.read() as unit:
            rows = unit.alerting.deliveries(limit=100_000)[self.seen_deliveries :]
        self.seen_deliveries += len(rows)
        told: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            if row.status == "ok":
                told.setdefault((row.title, row.purpose), []).append(row.recipient.split("@")[0])
        for (title, purpose), people in told.items():
            self.say("told", f"{', '.join(dict.fromkeys(people))} ({purpose}): {title}")

    def tick(self, instant: datetime) -> dict[str, Any]:
        self.at(instant)
        report = self.ops("watchkeeper").tick()
        with self.app.store.read() as unit:
            fresh = [f for f in unit.monitoring.findings(limit=200) if f.created_at == instant]
        for finding in reversed(fresh):
            if finding.rule and finding.fingerprint not in self.seen_findings:
                self.seen_findings.add(finding.fingerprint)
                self.say("found", f"{finding.system}: {finding.summary}")
                self.checks.setdefault(finding.check, []).append(finding.to_dict())
        self._eval_news(instant)
        for incident in report["incidents_opened"]:
            detail = self.ops("watchkeeper").incident(incident)
            self.say("found", f"incident #{incident} on {detail['system']} [{detail['severity']}]")
        self.tell_news()
        return report

    def _eval_news(self, instant: datetime) -> None:
        with self.app.store.read() as unit:
            for system in ("support-assistant", "fraud-model"):
                runs = unit.care.eval_runs(system, limit=2)
                if not runs or runs[0].started_at != instant:
                    continue
                latest = runs[0]
                line = f"{system} weekly eval {latest.suite}: pass rate {latest.pass_rate:.0%}"
                if len(runs) == 2:
                    diff = regression_diff(runs[1].run, EvalRun.from_dict(latest.run))
                    if diff.regressions or diff.fixes:
                        lost = ", ".join(f.id for f in diff.regressions) or "none"
                        self.say("found", f"{line}; regressed: {lost}; fixed: {len(diff.fixes)}")

    # --- data -----------------------------------------------------------------------------------

    def feed_day(self, day: int) -> None:
        base = START.replace(hour=0) + day * DAY
        self._support(day, base)
        self._fraud(day, base)
        self._claims(day, base)

    def _support(self, day: int, base: datetime) -> None:
        items, feedback = [], []
        for i in range(40):
            harmful = day == HARMFUL_DAY and i == 7
            refusal = self.rng.random() < 0.02
            output = (
                "You can keep the item and dispute the charge with your bank to get the "
                "money back twice."
                if harmful
                else "Sorry, I can't help with that."
                if refusal
                else "Thanks for reaching out — here is what to do next."
            )
            oid = f"sa-{day}-{i}"
            items.append(
                {
                    "id": oid,
                    "ts": (base + i * 30 * MINUTE).isoformat(),
                    "inputs": {
                        "ticket_text": f"ticket {day}/{i}",
                        "channel": self.rng.choice(["email", "chat", "phone"]),
                        "account_age_days": self.rng.randint(1, 900),
                    },
                    "output": output,
                    "latency_ms": self.rng.uniform(300, 1400),
                    "model_version": "assist-2026.01",
                }
            )
            if harmful or self.rng.random() < 0.3:
                feedback.append(
                    {"observation_id": oid, "thumbs_up": not harmful and self.rng.random() < 0.92}
                )
        self.ops("support-assistant@svc", base + DAY).ingest("support-assistant", items)
        self.ops("support-assistant@svc", base + DAY).feedback("support-assistant", feedback)

    def fraud_level(self, day: int) -> float:
        if day < DECLINE_FROM:
            return 0.90
        if day < DROP_DAY:
            return 0.90 - 0.11 * (day - DECLINE_FROM) / (DROP_DAY - DECLINE_FROM)
        return 0.68

    def _fraud(self, day: int, base: datetime) -> None:
        items, feedback = [], []
        renamed = RENAME_FROM <= day < RENAME_TO
        for i in range(60):
            category = self.rng.choice(["grocery", "travel", "electronics", "fuel"])
            inputs: dict[str, Any] = {
                "amount": round(self.rng.lognormvariate(3.5, 1.0), 2),
                "country": self.rng.choice(["DE", "FR", "NL", "PL"]),
            }
            inputs["mcc" if renamed else "merchant_category"] = category
            oid = f"fm-{day}-{i}"
            items.append(
                {
                    "id": oid,
                    "ts": (base + i * 20 * MINUTE).isoformat(),
                    "inputs": inputs,
                    "output": {"label": "flag" if i % 9 == 0 else "ok"},
                    "model_version": "fraud-v7",
                }
            )
            if i % 3 == 0:
                score = min(1.0, max(0.0, self.rng.gauss(self.fraud_level(day), 0.02)))
                feedback.append({"observation_id": oid, "score": score})
        self.ops("fraud-model@svc", base + DAY).ingest("fraud-model", items)
        self.ops("fraud-model@svc", base + DAY).feedback("fraud-model", feedback)

    def _claims(self, day: int, base: datetime) -> None:
        items = [
            {
                "id": f"ct-{day}-{i}",
                "ts": (base + i * 60 * MINUTE).isoformat(),
                "output": "approve" if self.rng.random() < 0.7 else "deny",
            }
            for i in range(20)
        ]
        self.ops("claims-triage@svc", base + DAY).ingest("claims-triage", items)


def write_workspace(workspace: Path, manifests: Path, evals: Path, receiver: str) -> None:
    """The systems' repos, folded into one folder; everyone's channel is the loopback receiver."""
    workspace.mkdir(parents=True, exist_ok=True)
    for path in manifests.glob("*.yaml"):
        (workspace / path.name).write_text(path.read_text())
    people = workspace / "people.yaml"

    def webhook(match: re.Match[str]) -> str:
        name = match[1]
        channel = f"{{type: webhook, url: '{receiver}/{name}'}}"
        return f"email: {name}@{match[2]}, {match[3]}channels: [{channel}]"

    pattern = r"email: (\w+)@(\S+), (.*)channels: \[\{type: email\}\]"
    people.write_text(re.sub(pattern, webhook, people.read_text()))
    for name in ("support-assistant.yaml", "fraud-model.yaml"):
        # The golden sets ship in the package (their targets are its modules): point at them
        # where they are, the folder the demo's operator lets the scheduler read.
        replace_in(workspace / name, "dataset: evals/", f"dataset: {evals}/")


def replace_in(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def day_start(day: int) -> datetime:
    return START + day * DAY


def go_live(story: Story) -> None:
    ws = story.workspace
    people = str(ws / "people.yaml")
    systems = [str(ws / f"{n}.yaml") for n in ("support-assistant", "fraud-model", "claims-triage")]
    story.console.print(Rule("Month 0 — go-live", style="cyan"))
    story.at(START - DAY)
    story.ops("ops@corp.example").apply([people, *systems])
    story.say("happened", "three systems go live; charters applied from their repos")
    holders = {
        "support-assistant": ["ana", "ben", "chen", "dev"],
        "fraud-model": ["fay", "gus", "ivy"],
        "claims-triage": ["eli"],
    }
    for system, names in holders.items():
        for name in names:
            story.ops(f"{name}@corp.example").ack(system, "all")
    story.say(
        "did",
        "every named holder acknowledged their roles (claims-triage left two questions unanswered)",
    )
    record = story.ops("fay@corp.example").rehearse("fraud-model")
    outcome = "passes" if record["passed"] else "FAILS"
    story.say(
        "did", f"fay rehearses fraud-model's runbook: {outcome}: {record['report']['verdict']}"
    )


def replay(story: Story, sdk_check: Callable[[], str]) -> None:
    ws = story.workspace
    for day in range(DAYS):
        story.feed_day(day)
        now = day_start(day + 1)
        if day == REGRESSION_FROM:
            replace_in(
                ws / "support-assistant.yaml",
                'support_bot:answer"',
                'support_bot:answer_regressed"',
            )
            story.at(now - 2 * MINUTE)
            story.ops("ana@corp.example").apply([str(ws / "support-assistant.yaml")])
            story.say("happened", "support-assistant ships a model update (billing answers break)")
        if day == REGRESSION_TO:
            replace_in(
                ws / "support-assistant.yaml",
                'support_bot:answer_regressed"',
                'support_bot:answer"',
            )
            story.at(now - 2 * MINUTE)
            story.ops("ana@corp.example").apply([str(ws / "support-assistant.yaml")])
            story.say("did", "ana rolls the billing prompt back after the eval regression diff")
        if day == RENAME_FROM:
            story.say("happened", "payments-data renames merchant_category -> mcc (no notice)")
        if day == OWNER_LEAVES:
            story.at(now - MINUTE)
            story.ops("ops@corp.example").deactivate("fay@corp.example")
            story.say("happened", "fay (fraud-model owner) leaves the company")
            for system in story.ops("ops@corp.example").vacuum()["systems"]:
                for gap in system["gaps"]:
                    if system["system"] == "fraud-model" and gap["severity"] == "critical":
                        story.say("found", f"vacuum: fraud-model {gap['id']}: {gap['detail']}")
        report = story.tick(now)
        _respond(story, day, now, report, sdk_check)
        if day == SUCCESSOR:
            replace_in(
                ws / "fraud-model.yaml", "owner: fay@corp.example", "owner: hana@corp.example"
            )
            replace_in(
                ws / "fraud-model.yaml",
                "retraining_decider: fay@corp.example",
                "retraining_decider: hana@corp.example",
            )
            replace_in(
                ws / "fraud-model.yaml",
                "[fay@corp.example, gus@corp.example, ivy@corp.example]",
                "[hana@corp.example, gus@corp.example, ivy@corp.example]",
            )
            story.at(now + 2 * 60 * MINUTE)
            story.ops("ops@corp.example").apply([str(ws / "fraud-model.yaml")])
            story.ops("hana@corp.example").ack("fraud-model", "all")
            story.say(
                "did", "hana is named fraud-model's owner and retraining decider, and acknowledges"
            )
        _monthly(story, day, now)


def _respond(
    story: Story, day: int, now: datetime, report: dict[str, Any], sdk_check: Callable[[], str]
) -> None:
    """What the people in the story do about what they were told."""
    for incident in report["incidents_opened"]:
        detail = story.ops("watchkeeper").incident(incident)
        if detail["severity"] == "critical":
            story.tick(now + 30 * MINUTE)
            story.at(now + 45 * MINUTE)
            story.ops("ivy@corp.example").incident_ack(incident)
            story.say(
                "did",
                f"ivy acknowledges incident #{incident} after 45 minutes "
                "(level 1 had not answered)",
            )
            story.tell_news()
            pending = [
                k
                for k in story.ops("hana@corp.example").knowledge(detail["system"])
                if k["kind"] == "decision" and k["status"] == "pending"
            ]
            for decision in pending:
                story.at(now + DAY - 3 * 60 * MINUTE)
                story.ops("hana@corp.example").record(
                    "decision",
                    detail["system"],
                    decision["title"],
                    {
                        "decision": "Retrain on the last 90 days of labels; shadow for a week",
                        "consequences": "Two days of ML time; precision back above 0.85 expected",
                    },
                    closes=decision["number"],
                )
                story.say(
                    "did",
                    f"hana records the retrain-or-replace call: retrain "
                    f"(decision {decision['number']})",
                )
        elif detail["system"] == "fraud-model":
            story.at(now + 20 * MINUTE)
            story.ops("gus@corp.example").incident_ack(incident)
            story.say("did", f"gus (risk on-call) acknowledges #{incident}: {detail['title']}")
    if day == RENAME_TO:
        story.say("did", "payments-data restores merchant_category")
    if day == HARMFUL_DAY + 1:
        _harmful(story, now, sdk_check)
    if day == HARMFUL_DAY + 3:
        _restore(story, now, sdk_check)


def _harmful(story: Story, now: datetime, sdk_check: Callable[[], str]) -> None:
    queue = story.ops("ana@corp.example").triage_queue("support-assistant")
    bad = next(i for i in queue if "twice" in json.dumps(i["observation"]))
    story.at(now + 60 * MINUTE)
    story.ops("ana@corp.example").triage_verdict(
        bad["id"], "harmful", None, ["bad-refund-advice"], "Tells customers to double-dip refunds"
    )
    story.say("did", f"ana (quality monitor) marks triage item #{bad['id']} HARMFUL")
    story.tell_news()
    story.at(now + 80 * MINUTE)
    story.ops("dev@corp.example").set_switch(
        "support-assistant", "disabled", "harmful refund advice"
    )
    story.say(
        "did", "dev (kill authority) disables support-assistant, 20 minutes after the verdict"
    )
    story.say("happened", f"serving code calls the assistant: {sdk_check()}")


def _restore(story: Story, now: datetime, sdk_check: Callable[[], str]) -> None:
    story.at(now + 60 * MINUTE)
    story.ops("dev@corp.example").set_switch(
        "support-assistant", "enabled", "refund policy added to the prompt"
    )
    story.say("did", "dev restores support-assistant after the fix")
    story.say("happened", f"serving code calls the assistant: {sdk_check()}")
    story.ops("ana@corp.example").record(
        "postmortem",
        "support-assistant",
        "Harmful refund advice",
        {
            "summary": "The assistant advised customers to dispute charges for items they kept.",
            "impact": "One customer conversation; caught in triage within a day.",
            "root_causes": ["No refund policy in the prompt", "No golden case for refund abuse"],
            "action_items": [
                "Add refund-abuse cases to the golden set — ana",
                "Review prompt changes — ben",
            ],
            "went_well": ["Negative feedback queued it for review the next morning"],
        },
    )
    story.say("did", "ana writes the postmortem")


def _monthly(story: Story, day: int, now: datetime) -> None:
    """On the first of each month: fraud-model's owner reviews and logs care; support logs care."""
    date = now.date()
    if date.day != 1:
        return
    story.at(now + 3 * 60 * MINUTE)
    owner = "hana@corp.example" if day >= SUCCESSOR else "fay@corp.example"
    if day < OWNER_LEAVES or day >= SUCCESSOR:
        story.ops(owner).review(
            "fraud-model", "concerns" if day > DECLINE_FROM else "healthy", "monthly review", 30
        )
        story.ops("gus@corp.example").care_log("fraud-model", 8, "maintenance", "label backfill")
        story.say(
            "did", f"{owner.split('@')[0]} signs off fraud-model's monthly review; care logged"
        )
    story.ops("ben@corp.example").care_log("support-assistant", 6, "maintenance", "prompt upkeep")
    if date.month == 4:
        story.ops("eli@corp.example").ack("claims-triage", "all")
        story.say(
            "did", "eli re-acknowledges claims-triage — still the only one who ever acts on it"
        )
    if date.month in (4, 7):
        owners = "hana" if day >= SUCCESSOR else "fay"
        for system, names in (
            ("support-assistant", ["ana", "ben", "chen", "dev"]),
            ("fraud-model", [owners, "gus", "ivy"]),
        ):
            for name in names:
                story.ops(f"{name}@corp.example").ack(system, "all")
        story.say(
            "did", "support-assistant's and fraud-model's role holders re-attest (every 90 days)"
        )
