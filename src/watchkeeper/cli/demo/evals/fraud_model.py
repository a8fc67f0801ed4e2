"""The demo's fraud model: a rule a real model would learn, good enough for a backtest."""

from __future__ import annotations

from typing import Any


def score(transaction: dict[str, Any]) -> str:
    amount = float(transaction["amount"])
    foreign = transaction.get("country") == "US"
    return "flag" if amount > 400 or (foreign and amount > 150) else "ok"
