"""Where the audit chain's key and checkpoints come from: the settings, read once at start."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from watchkeeper.audit import AuditSeal, chain_key
from watchkeeper.settings import Settings

CHECKPOINT_SUFFIX = ".audit-checkpoints"


def audit_seal(settings: Settings) -> AuditSeal:
    """Keyed by WATCHKEEPER_SECRET. Checkpoints go to WATCHKEEPER_AUDIT_CHECKPOINTS, else
    beside a SQLite database file (every process on it shares the file); a PostgreSQL store
    has no natural place, so without the setting it has none (and `verify` says so)."""
    if not settings.secret:
        return AuditSeal()
    key = chain_key(settings.secret)
    if settings.audit_checkpoints:
        return AuditSeal(key, Path(settings.audit_checkpoints))
    url = make_url(settings.db)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return AuditSeal(key, Path(url.database + CHECKPOINT_SUFFIX))
    return AuditSeal(key)
