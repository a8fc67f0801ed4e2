"""What `wk init` writes: a valid manifest whose runbook skeleton explains each part."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answers:
    name: str
    title: str
    tier: str
    owner: str
    quality_monitor: str
    retraining_decider: str
    data_liaison: str
    kill_authority: list[str]
    fail_mode: str
    fallback: str

    def people(self) -> list[str]:
        named = [
            self.owner,
            self.quality_monitor,
            self.retraining_decider,
            self.data_liaison,
            *self.kill_authority,
        ]
        return list(dict.fromkeys(n for n in named if "@" in n))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def system_template(a: Answers) -> str:
    authorities = ", ".join(a.kill_authority)
    later = [p for p in [a.retraining_decider, *a.kill_authority] if p != a.owner]
    level2 = ", ".join(dict.fromkeys(later)) or a.owner
    return f"""\
# Watchkeeper manifest for {a.name}. Keep it in the system's repo; `wk gate` checks it before
# go-live and `wk apply` records it. Editor completion: `wk schema > watchkeeper.schema.json`.
apiVersion: watchkeeper/v1
kind: AISystem
metadata:
  name: {a.name}
  title: {_q(a.title)}
  tier: {a.tier}            # low | medium | high | critical (high and critical need 2 kill authorities)
spec:
  lifecycle: draft          # draft -> live -> retired
  charter:
    owner: {a.owner}                 # the named product owner of the SYSTEM (not the model)
    quality_monitor: {a.quality_monitor}       # 1. who monitors output quality after launch?
    retraining_decider: {a.retraining_decider}    # 2. who decides when to retrain or replace?
    data_liaison: {a.data_liaison}          # 3. who owns the relationship with the data team?
    kill_authority: [{authorities}]   # 4. who may take the system offline?
    review_every: 30d         # the owner's quality review
    attest_every: 90d         # each holder re-acknowledges their role this often

  # Where inputs come from: each upstream gets a contact and a contract, so a schema change
  # becomes a finding sent to them and to the data liaison.
  upstream: []
  #  - name: tickets
  #    team: support-data
  #    contact: dana@corp.example
  #    contract:
  #      ticket_text: {{type: string, required: true}}
  #      channel: {{type: category, values: [email, chat, phone]}}

  runbook:
    baseline: {{first: 14d}}   # what "normal" is measured against
    # What healthy output looks like: a signal and its bounds.
    healthy: {{}}
    #  answer_accuracy: {{min: 0.85}}
    # How each signal is computed (from observation | output | feedback | eval).
    signals: {{}}
    #  answer_accuracy: {{from: eval, suite: golden}}
    #  refusal_rate: {{from: output, kind: rate, match: "(?i)can.t help"}}
    # When to alert; "what do you do if quality drops 20%?" is the drop rule.
    alerts: []
    #  - {{name: quality-drop, signal: answer_accuracy, drop: 20%, severity: critical, playbook: quality-drop}}
    # Who is told, level by level, until someone acknowledges.
    escalation:
      levels:
        - {{after: 0m, notify: [{a.owner}]}}
        - {{after: 30m, notify: [{level2}]}}
      repeat: 1
    # What to do when an alert fires.
    playbooks: {{}}
    #  quality-drop: {{summary: What to do if quality drops 20%, steps: [...], open_decision: retrain}}

  # Golden-set evals on a schedule.
  evals: []
  #  - {{suite: golden, dataset: evals/golden.jsonl, target: "my_app.model:predict", every: 7d}}

  care: {{hours_per_month: 8}}  # the recurring budget for monitoring, evals and maintenance
  kill_switch:
    fail_mode: {a.fail_mode}    # open: keep serving if Watchkeeper is unreachable; closed: stop
    fallback: {_q(a.fallback)}
"""


def people_template(emails: list[str]) -> str:
    lines = [
        "# The people named in the charter. Add channels so escalations reach them:",
        "#   channels: [{type: email}, {type: slack, url: ...}, {type: pagerduty, routing_key: ...}]",
        "apiVersion: watchkeeper/v1",
        "kind: People",
        "people:",
    ]
    lines += [f"  - {{email: {e}, name: {_q(e.split('@')[0])}}}" for e in emails]
    return "\n".join(lines) + "\n"
