"""What `wk init` writes: a valid manifest whose runbook skeleton explains each part.

Every commented example is a YAML key (or list item) commented out at the indentation it would
have, so deleting `# ` from a block gives a valid manifest; prose comments start with a capital
letter. tests/cli/test_init.py holds the templates to that.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    teams: dict[str, list[str]] = field(default_factory=dict)

    def holders(self) -> list[str]:
        """Everyone and every team named for a role, first mention first."""
        named = [
            self.owner,
            self.quality_monitor,
            self.retraining_decider,
            self.data_liaison,
            *self.kill_authority,
        ]
        return list(dict.fromkeys(named))

    def people(self) -> list[str]:
        """The people named in person, then the members of the teams named."""
        members = [m for team in self.teams.values() for m in team]
        return list(dict.fromkeys(n for n in [*self.holders(), *members] if "@" in n))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def system_template(a: Answers) -> str:
    authorities = ", ".join(a.kill_authority)
    later = [p for p in [a.retraining_decider, *a.kill_authority] if p != a.owner]
    level2 = ", ".join(dict.fromkeys(later)) or a.owner
    return f"""\
# Watchkeeper manifest for {a.name}. Keep it in the system's repo; `wk gate` checks it before
# go-live and its owner records it with `wk apply`. Editor completion: `wk schema`.
# Commented blocks are examples: delete the `# ` of a block and adapt it.
apiVersion: watchkeeper/v1
kind: AISystem
metadata:
  name: {a.name}
  title: {_q(a.title)}
  tier: {a.tier}            # low | medium | high | critical (high and critical need 2 kill authorities)
spec:
  lifecycle: draft          # draft -> live -> retired
  charter:                  # each holder is a person's email or a team's name
    owner: {a.owner}                 # the named product owner of the SYSTEM (not the model)
    quality_monitor: {a.quality_monitor}       # 1. who monitors output quality after launch?
    retraining_decider: {a.retraining_decider}    # 2. who decides when to retrain or replace?
    data_liaison: {a.data_liaison}          # 3. who owns the relationship with the data team?
    kill_authority: [{authorities}]   # 4. who may take the system offline?
    review_every: 30d         # the owner's quality review
    attest_every: 90d         # each holder re-acknowledges their role this often

  # Where inputs come from: each upstream gets a contact and a contract, so a schema change
  # becomes a finding sent to them and to the data liaison.
  # upstream:
  #   - name: tickets
  #     team: support-data
  #     contact: dana@corp.example
  #     contract:
  #       ticket_text: {{type: string, required: true}}
  #       channel: {{type: category, values: [email, chat, phone]}}

  runbook:
    baseline: {{first: 14d}}   # what "normal" is measured against
    # How each signal is computed (from observation | output | feedback | eval).
    # signals:
    #   answer_accuracy: {{from: eval, suite: golden}}
    #   refusal_rate: {{from: output, kind: rate, match: "(?i)can.t help"}}
    # What healthy output looks like: a signal and its bounds.
    # healthy:
    #   answer_accuracy: {{min: 0.85}}
    # When to alert; "what do you do if quality drops 20%?" is the drop rule.
    # alerts:
    #   - {{name: quality-drop, signal: answer_accuracy, drop: 20%, severity: critical, playbook: quality-drop}}
    #   - {{name: tickets-contract, contract: tickets, severity: warning, playbook: contract-break}}
    # Who is told, level by level, until someone acknowledges.
    escalation:
      levels:
        - {{after: 0m, notify: [{a.owner}]}}
        - {{after: 30m, notify: [{level2}]}}
      repeat: 1
    # What to do when an alert fires.
    # playbooks:
    #   quality-drop:
    #     summary: What to do if quality drops 20%
    #     steps: [Read the latest eval run, Compare with the baseline, Decide whether to retrain]
    #     open_decision: retrain
    #   contract-break: {{summary: An upstream changed its data, steps: [Agree a fix with its contact]}}
    # rehearse_every: 90d  # run the quality-drop scenario with `wk rehearse`; overdue: a vacuum gap

  # Golden-set evals on a schedule: a JSONL file of cases and the function that answers them.
  # evals:
  #   - {{suite: golden, dataset: evals/golden.jsonl, target: "my_app.model:predict", every: 7d}}

  care: {{hours_per_month: 8}}  # the recurring budget for monitoring, evals and maintenance
  kill_switch:
    fail_mode: {a.fail_mode}    # open: keep serving if Watchkeeper is unreachable; closed: stop
    fallback: {_q(a.fallback)}
    # drill_every: 90d  # exercise the switch with `wk drill`; an overdue drill is a vacuum gap
"""


def people_template(a: Answers, system_file: str) -> str:
    """People are an admin's to apply: the header says so, since this file is handed on."""
    first, *others = a.people()
    lines = [
        f"# The people and teams {system_file} names. Only an admin applies People: an admin",
        "# applies this file (or adds its entries to your organisation's People manifest).",
        "# `wk apply` of the system's folder leaves this file out, so its owner can apply that.",
        "# Add channels so escalations reach each person; a team may hold a role or be paged.",
        "apiVersion: watchkeeper/v1",
        "kind: People",
        "people:",
        f"  - email: {first}",
        f"    name: {_q(first.split('@')[0])}",
        "    # channels: [{type: email}, {type: slack, url: "
        '"https://hooks.slack.com/services/T000/B000/XXXX"}]',
    ]
    lines += [f"  - {{email: {e}, name: {_q(e.split('@')[0])}}}" for e in others]
    if a.teams:
        lines.append("teams:")
        lines += [
            f"  - {{name: {name}, members: [{', '.join(members)}]}}"
            for name, members in a.teams.items()
        ]
    else:
        lines += [
            "# teams:",
            "#   - name: ml-platform",
            f"#     members: [{first}]",
        ]
    return "\n".join(lines) + "\n"
