"""What each obligation asks for, and which kinds of record in a bundle answer it.

An auditor reads an obligation, not a table name: each row quotes the NIST AI RMF 1.0
subcategory or the article of Regulation (EU) 2024/1689 (the AI Act) it is about, and names the
kinds of record that evidence it. A row whose kinds left nothing in the period says so plainly —
"no evidence in this period" is itself a finding for whoever prepares the audit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Obligation:
    framework: str
    ref: str
    text: str
    evidence: str  # what in the bundle answers it, in the auditor's words
    kinds: tuple[str, ...]
    only: Callable[[Record], bool] | None = None  # narrows the records of those kinds


def _role(*roles: str) -> Callable[[Record], bool]:
    return lambda r: r["kind"] != "ack" or r["data"].get("role") in roles


def _knowledge(*kinds: str) -> Callable[[Record], bool]:
    return lambda r: r["kind"] != "knowledge" or r["data"].get("kind") in kinds


def _serious(record: Record) -> bool:
    return record["kind"] != "incident" or bool(record["data"].get("serious"))


def _upstream(record: Record) -> bool:
    if record["kind"] == "finding":
        return record["data"].get("check") in ("contract", "upstream", "missing")
    return True


NIST = "NIST AI RMF 1.0"
EU = "EU AI Act"

OBLIGATIONS: tuple[Obligation, ...] = (
    Obligation(
        NIST,
        "GOVERN 1.5",
        "Ongoing monitoring and periodic review of the risk management process and its outcomes "
        "are planned and organizational roles and responsibilities clearly defined, including "
        "determining the frequency of periodic review.",
        "the monitoring plan in force and the owner's monthly reviews",
        ("plan", "review"),
    ),
    Obligation(
        NIST,
        "GOVERN 2.1",
        "Roles and responsibilities and lines of communication related to mapping, measuring, "
        "and managing AI risks are documented and are clear to individuals and teams throughout "
        "the organization.",
        "the charter in each manifest version and each holder's acknowledgement of their role",
        ("manifest", "ack"),
    ),
    Obligation(
        NIST,
        "GOVERN 2.3",
        "Executive leadership of the organization takes responsibility for decisions about "
        "risks associated with AI system development and deployment.",
        "the owner's acknowledgement and the retrain-or-replace decisions closed by name",
        ("ack", "knowledge"),
        lambda r: _role("owner", "retraining_decider")(r) and _knowledge("decision")(r),
    ),
    Obligation(
        NIST,
        "GOVERN 3.2",
        "Policies and procedures are in place to define and differentiate roles and "
        "responsibilities for human-AI configurations and oversight of AI systems.",
        "the named kill authorities and quality monitor, acknowledged",
        ("ack",),
        _role("kill_authority", "quality_monitor"),
    ),
    Obligation(
        NIST,
        "GOVERN 4.3",
        "Organizational practices are in place to enable AI testing, identification of "
        "incidents, and information sharing.",
        "eval runs, incidents and the failure modes and near-misses written down",
        ("eval", "incident", "knowledge"),
        _knowledge("failure_mode", "near_miss", "postmortem"),
    ),
    Obligation(
        NIST,
        "GOVERN 6.2",
        "Contingency processes are in place to handle failures or incidents in third-party data "
        "or AI systems deemed to be high-risk.",
        "upstream contract breaks and missing data, found and sent to the data team",
        ("finding",),
        _upstream,
    ),
    Obligation(
        NIST,
        "MEASURE 2.4",
        "The functionality and behavior of the AI system and its components – as identified in "
        "the MAP function – are monitored when in production.",
        "what the live checks found and the eval runs",
        ("finding", "eval"),
    ),
    Obligation(
        NIST,
        "MEASURE 3.1",
        "Approaches, personnel, and documentation are in place to regularly identify and track "
        "existing, unanticipated, and emergent AI risks based on factors such as intended and "
        "actual performance in deployed contexts.",
        "drift, trend and drop findings; failure modes recorded",
        ("finding", "knowledge"),
        _knowledge("failure_mode"),
    ),
    Obligation(
        NIST,
        "MEASURE 3.3",
        "Feedback processes for end users and impacted communities to report problems and "
        "appeal system outcomes are established and integrated into AI system evaluation "
        "metrics.",
        "the triage queue of flagged outputs and its reviewed error rate",
        ("triage",),
    ),
    Obligation(
        NIST,
        "MEASURE 4.3",
        "Measurable performance improvements or declines based on consultations with relevant "
        "AI actors, including affected communities, and field data about context-relevant risks "
        "and trustworthiness characteristics are identified and documented.",
        "eval runs over time and the owner's reviews of them",
        ("eval", "review"),
    ),
    Obligation(
        NIST,
        "MANAGE 1.1",
        "A determination is made as to whether the AI system achieves its intended purposes and "
        "stated objectives and whether its development or deployment should proceed.",
        "the go-live gate, the owner's review verdicts and retrain-or-replace decisions",
        ("gate", "review", "knowledge"),
        _knowledge("decision"),
    ),
    Obligation(
        NIST,
        "MANAGE 2.2",
        "Mechanisms are in place and applied to sustain the value of deployed AI systems.",
        "care given against the budget, eval runs and reviews",
        ("care", "eval", "review"),
    ),
    Obligation(
        NIST,
        "MANAGE 2.3",
        "Procedures are followed to respond to and recover from a previously unknown risk when "
        "it is identified.",
        "incidents with their escalation timelines, and their postmortems",
        ("incident", "knowledge"),
        _knowledge("postmortem"),
    ),
    Obligation(
        NIST,
        "MANAGE 2.4",
        "Mechanisms are in place and applied, and responsibilities are assigned and understood, "
        "to supersede, disengage, or deactivate AI systems that demonstrate performance or "
        "outcomes inconsistent with intended use.",
        "kill-switch flips and drills, and the kill authorities' acknowledgements",
        ("switch", "drill", "ack"),
        _role("kill_authority"),
    ),
    Obligation(
        NIST,
        "MANAGE 4.1",
        "Post-deployment AI system monitoring plans are implemented, including mechanisms for "
        "capturing and evaluating input from users and other relevant AI actors, appeal and "
        "override, decommissioning, incident response, recovery, and change management.",
        "the monitoring plan, its rehearsals, and each manifest version applied (change "
        "management)",
        ("plan", "rehearsal", "manifest"),
    ),
    Obligation(
        NIST,
        "MANAGE 4.3",
        "Incidents and errors are communicated to relevant AI actors, including affected "
        "communities. Processes for tracking, responding to, and recovering from incidents and "
        "errors are followed and documented.",
        "incidents with who was paged and when, and their postmortems",
        ("incident", "knowledge"),
        _knowledge("postmortem"),
    ),
    Obligation(
        EU,
        "Art. 9",
        "A risk management system shall be established, implemented, documented and maintained "
        "in relation to high-risk AI systems; it includes the evaluation of risks emerging from "
        "the analysis of data gathered from the post-market monitoring system (Art. 9(2)(c)).",
        "findings, incidents, reviews and the decisions taken on them",
        ("finding", "incident", "review", "knowledge"),
        _knowledge("decision", "failure_mode"),
    ),
    Obligation(
        EU,
        "Art. 12",
        "High-risk AI systems shall technically allow for the automatic recording of events "
        "(logs) over the lifetime of the system.",
        "the hash-chained audit log of every change and action (this bundle's chain)",
        ("chain",),
    ),
    Obligation(
        EU,
        "Art. 14(4)(e)",
        "Natural persons to whom human oversight is assigned are enabled to intervene in the "
        "operation of the high-risk AI system or interrupt the system through a 'stop' button or "
        "a similar procedure that allows the system to come to a halt in a safe state.",
        "the kill switch: who may pull it, its flips and its drills",
        ("switch", "drill", "ack"),
        _role("kill_authority"),
    ),
    Obligation(
        EU,
        "Art. 26(5)",
        "Deployers shall monitor the operation of the high-risk AI system on the basis of the "
        "instructions for use and, where they have reason to consider that its use may present "
        "a risk, suspend the use of the system and inform the provider and the market "
        "surveillance authority.",
        "the monitoring findings, the incidents raised and the switch flips that suspended use",
        ("finding", "incident", "switch"),
    ),
    Obligation(
        EU,
        "Art. 26(6)",
        "Deployers shall keep the logs automatically generated by the high-risk AI system, to "
        "the extent such logs are under their control, for a period appropriate to the intended "
        "purpose, of at least six months.",
        "the retention the manifest in force sets, and the audit chain",
        ("retention", "chain"),
    ),
    Obligation(
        EU,
        "Art. 72",
        "Providers shall establish and document a post-market monitoring system in a manner that "
        "is proportionate to the nature of the AI technologies and the risks of the high-risk AI "
        "system, based on a post-market monitoring plan.",
        "the runbook as the post-market monitoring plan, its rehearsals and what it found",
        ("plan", "rehearsal", "finding"),
    ),
    Obligation(
        EU,
        "Art. 73",
        "Providers of high-risk AI systems placed on the Union market shall report any serious "
        "incident to the market surveillance authorities of the Member States where that "
        "incident occurred.",
        "incidents classified serious (Art. 3(49)), their deadlines, reports and evidence hold",
        ("incident",),
        _serious,
    ),
)


def mapping(records: Sequence[Record]) -> list[dict[str, Any]]:
    """One row per obligation: the ids of the records that evidence it, or none — and then the
    row says "no evidence in this period" rather than leave an empty cell to be misread. A
    record that shows a shortfall (its `gap`: retention shorter than the article asks) is named
    as a gap, not counted as evidence."""
    rows = []
    for o in OBLIGATIONS:
        about = [r for r in records if r["kind"] in o.kinds and (o.only is None or o.only(r))]
        ids = [r["id"] for r in about if not r.get("gap")]
        gaps = [f"{r['id']}: {r['gap']}" for r in about if r.get("gap")]
        status = "gap" if gaps else "evidenced" if ids else "no evidence in this period"
        rows.append(
            {
                "framework": o.framework,
                "ref": o.ref,
                "text": o.text,
                "evidence": o.evidence,
                "records": ids,
                "gaps": gaps,
                "status": status,
            }
        )
    return rows
