"""Audit and access: who is who (people, teams and the roles held through them), API tokens,
who may do what (`may`, pure), refusals that are always recorded, and the audit trail's
verification. Every stage above asks this package; it asks none of them.

Its names load on first use, so a caller of the pure parts (`Directory`, `may`: the offline
gate) does not pay for the service and the store behind it.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.access._chain import verify_log
    from watchkeeper.access._decide import (
        ACTIONS,
        PLAYBOOK_PREFIX,
        SERVICE_PREFIX,
        TRUSTED_LOCALLY,
        Action,
        Decision,
        may,
        service_actor,
        service_system,
    )
    from watchkeeper.access._directory import Directory, directory_of, holding_roles
    from watchkeeper.access._seal import audit_seal
    from watchkeeper.access._service import AccessService, IssuedToken, Refused
    from watchkeeper.access._tokens import (
        TOKEN_PREFIX,
        new_token,
        token_digest,
        token_lifetime,
        token_name,
        token_prefix,
    )

__all__ = [
    "ACTIONS",
    "PLAYBOOK_PREFIX",
    "SERVICE_PREFIX",
    "TOKEN_PREFIX",
    "TRUSTED_LOCALLY",
    "AccessService",
    "Action",
    "Decision",
    "Directory",
    "IssuedToken",
    "Refused",
    "audit_seal",
    "directory_of",
    "holding_roles",
    "may",
    "new_token",
    "service_actor",
    "service_system",
    "token_digest",
    "token_lifetime",
    "token_name",
    "token_prefix",
    "verify_log",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.access._chain": ["verify_log"],
        "watchkeeper.access._decide": [
            "ACTIONS",
            "PLAYBOOK_PREFIX",
            "SERVICE_PREFIX",
            "TRUSTED_LOCALLY",
            "Action",
            "Decision",
            "may",
            "service_actor",
            "service_system",
        ],
        "watchkeeper.access._directory": ["Directory", "directory_of", "holding_roles"],
        "watchkeeper.access._seal": ["audit_seal"],
        "watchkeeper.access._service": ["AccessService", "IssuedToken", "Refused"],
        "watchkeeper.access._tokens": [
            "TOKEN_PREFIX",
            "new_token",
            "token_digest",
            "token_lifetime",
            "token_name",
            "token_prefix",
        ],
    },
)
