"""API tokens: shown once, stored only as a SHA-256 digest, recognisable by a short prefix.

A token is 32 random bytes, so a plain digest (no salt, no slow hash) is enough: there is no
dictionary to try, and the lookup by digest stays one indexed read per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from watchkeeper.durations import parse_duration

TOKEN_PREFIX = "wk_"
PREFIX_LENGTH = 10  # "wk_" and 7 characters: enough to tell tokens apart in the audit trail


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]


MAX_LIFETIME = timedelta(days=3650)


def token_lifetime(text: str) -> timedelta:
    """How long a new token lasts (`90d`, `12h`, ...); ValueError saying how to write it."""
    try:
        lifetime: timedelta | None = parse_duration(text)
    except OverflowError:  # more days than a timedelta holds
        lifetime = None
    if lifetime is None or not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError(
            f"{text!r}: a token lasts from a second up to 3650d; leave expiry out for a token "
            "that lasts until it is revoked"
        )
    return lifetime


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def token_name(text: str) -> str:
    """A service token's label, as its actor is named in the audit trail
    (`service:<system>/<label>`); ValueError saying how to write it."""
    if not _NAME.fullmatch(text):
        raise ValueError(
            f"{text!r}: a token's name is 1 to 63 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit (e.g. checkout-api)"
        )
    return text
