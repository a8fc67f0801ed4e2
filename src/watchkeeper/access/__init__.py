"""Audit and access: API tokens, who may do what (`may`, pure), refusals that are always
recorded, the audit trail's verification, and `Operations` — acting as one person."""

from watchkeeper.access._chain import verify_log
from watchkeeper.access._decide import PLAYBOOK_PREFIX, Action, Decision, may
from watchkeeper.access._operations import Operations
from watchkeeper.access._seal import audit_seal
from watchkeeper.access._service import AccessService, IssuedToken, Refused
from watchkeeper.access._tokens import (
    TOKEN_PREFIX,
    new_token,
    token_digest,
    token_lifetime,
    token_prefix,
)

__all__ = [
    "PLAYBOOK_PREFIX",
    "TOKEN_PREFIX",
    "AccessService",
    "Action",
    "Decision",
    "IssuedToken",
    "Operations",
    "Refused",
    "audit_seal",
    "may",
    "new_token",
    "token_digest",
    "token_lifetime",
    "token_prefix",
    "verify_log",
]
