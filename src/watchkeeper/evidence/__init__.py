"""Evidence for auditors and regulators, produced by operations (EU AI Act, NIST AI RMF).

A bundle holds what Watchkeeper recorded about one system over a period — manifest versions,
acknowledgements, the runbook as the post-market monitoring plan, findings, incidents, switch
flips, reviews, care, triage, evals, rehearsals — each record digested and stamped with the audit
entries that recorded it, the chain segment they sit in, and a table from each obligation to the
records answering it. It is checked offline: every digest, the root, and the chain link by link.
"""

from watchkeeper.evidence._bundle import read, to_zip
from watchkeeper.evidence._frameworks import OBLIGATIONS, Obligation
from watchkeeper.evidence._html import render
from watchkeeper.evidence._service import EvidenceService
from watchkeeper.evidence._verify import verify

__all__ = [
    "OBLIGATIONS",
    "EvidenceService",
    "Obligation",
    "read",
    "render",
    "to_zip",
    "verify",
]
