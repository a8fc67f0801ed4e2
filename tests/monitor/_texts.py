"""Synthetic support-assistant replies with a known truth: a usual mix, and a shifted one whose
replies are about other things but run to the same lengths (so only their meaning moved)."""

from __future__ import annotations

import numpy as np

ITEMS = ["order", "parcel", "package", "refund", "invoice", "subscription", "account", "delivery"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow", "next week"]
USUAL = [
    "Your {item} is on its way and should arrive by {day}. Track it from your account page.",
    "I have issued a refund for your {item}; it will show on your statement by {day}.",
    "To reset your password, open the sign-in page and choose 'Forgot password'; it lasts a day.",
    "Your {item} was delayed at the depot; the courier expects to deliver it {day}.",
    "I updated the address on your {item}. The change applies to deliveries from {day}.",
    "Thanks for waiting! Your {item} number is confirmed and the receipt is in your inbox.",
]
SHIFTED = [
    "As your advisor I suggest moving your savings into {item} tokens before {day}; prices rise.",
    "I cannot discuss that. Please consult a lawyer about the {item} dispute before {day}.",
    "Take two tablets with water if the {item} pain continues past {day}, then see a doctor.",
    "Our political position on the {item} tax is clear, and the vote on {day} will prove it.",
]


def replies(rng: np.random.Generator, n: int, shifted: float = 0.0) -> list[str]:
    """`n` replies, a `shifted` share of them from the other topics, each cut or padded to the
    length of a usual reply drawn alongside it, so the lengths keep their usual distribution."""
    result = []
    for _ in range(n):
        usual = _fill(rng, USUAL)
        if rng.random() < shifted:
            other = _fill(rng, SHIFTED)
            usual = (other + " Regards." * 20)[: len(usual)]
        result.append(usual)
    return result


def _fill(rng: np.random.Generator, templates: list[str]) -> str:
    template = templates[rng.integers(len(templates))]
    return template.format(item=ITEMS[rng.integers(len(ITEMS))], day=DAYS[rng.integers(len(DAYS))])
