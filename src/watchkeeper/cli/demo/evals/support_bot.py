"""The demo support assistant's intent router, standing in for an LLM call so evals are
deterministic: it reads a ticket and names the intent that decides which answer is drafted.

`answer` is the version in production. `answer_regressed` is the "improved" release that a careful
team would catch with `wk eval run`: it learnt that a parcel which never arrived is a tracking
question (one fix) but lost the billing vocabulary, so every billing ticket falls through to
`other` (every billing case regresses).
"""

from __future__ import annotations

from typing import Any

Rules = tuple[tuple[str, tuple[str, ...]], ...]

BILLING: Rules = (
    ("double_charge", ("charged twice", "billed twice", "double charge", "two charges")),
    ("refund", ("refund", "money back")),
    ("payment_failed", ("declined", "payment failed", "card was rejected", "won't go through")),
    ("invoice", ("invoice", "receipt")),
)
ACCOUNT: Rules = (
    ("update_email", ("email address", "change my email", "new email")),
    ("two_factor", ("2fa", "verification code", "authenticator")),
    ("close_account", ("close my account", "delete my account", "cancel my account")),
    ("reset_password", ("password", "log in", "login", "locked out")),
)
SHIPPING: Rules = (
    ("damaged_item", ("damaged", "broken", "cracked", "smashed")),
    ("change_address", ("address", "ship it to", "deliver to")),
    ("delivery_delay", ("delayed", "is late", "still waiting")),
    ("track_order", ("where is my order", "tracking", "track my")),
)
PARCEL: Rules = (("track_order", ("parcel never arrived", "package never arrived")),)


def answer(ticket: dict[str, Any] | str) -> str:
    return _route(_text(ticket), BILLING + ACCOUNT + SHIPPING)


def answer_regressed(ticket: dict[str, Any] | str) -> str:
    return _route(_text(ticket), ACCOUNT + PARCEL + SHIPPING)


def _text(ticket: dict[str, Any] | str) -> str:
    text = ticket if isinstance(ticket, str) else ticket["ticket_text"]
    return " ".join(text.lower().split())


def _route(text: str, rules: Rules) -> str:
    for intent, phrases in rules:
        if any(phrase in text for phrase in phrases):
            return intent
    return "other"
