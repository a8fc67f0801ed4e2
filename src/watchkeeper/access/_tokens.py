"""API tokens: shown once, stored only as a SHA-256 digest, recognisable by a short prefix.

A token is 32 random bytes, so a plain digest (no salt, no slow hash) is enough: there is no
dictionary to try, and the lookup by digest stays one indexed read per request.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "wk_"
PREFIX_LENGTH = 10  # "wk_" and 7 characters: enough to tell tokens apart in the audit trail


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]
