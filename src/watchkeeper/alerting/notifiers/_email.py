"""Email over SMTP (host:port from WATCHKEEPER_SMTP): the channel everyone already has."""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from watchkeeper.alerting.notifiers._base import Delivery, Message, register

DEFAULT_SENDER = "watchkeeper@localhost"


def email_message(message: Message, sender: str, to: str) -> EmailMessage:
    email = EmailMessage()
    label = {"trigger": "", "acknowledge": "ACKNOWLEDGED ", "resolve": "RESOLVED "}.get(
        message.event, ""
    )
    email["Subject"] = (
        f"[Watchkeeper] {label}[{message.severity.upper()}] {message.system}: {message.title}"
    )
    email["From"] = sender
    email["To"] = to
    links = "\n".join(f"{text}: {href}" for text, href in message.links)
    email.set_content(f"{message.body}\n\n{links}".strip() + "\n")
    return email


class EmailNotifier:
    kind = "email"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.smtp: str | None = config.get("smtp")
        self.sender: str = config.get("sender") or DEFAULT_SENDER
        self.address: str | None = config.get("address")
        self.timeout: float = float(config.get("timeout", 10))

    def send(self, message: Message) -> Delivery:
        if not self.smtp:
            return Delivery("permanent", "no SMTP server configured (set WATCHKEEPER_SMTP)")
        host, _, port = self.smtp.rpartition(":")
        to = self.address or message.recipient
        try:
            with smtplib.SMTP(host or "localhost", int(port or 25), timeout=self.timeout) as smtp:
                smtp.send_message(email_message(message, self.sender, to))
        except smtplib.SMTPRecipientsRefused as exc:
            return Delivery("permanent", f"recipient refused: {exc.recipients}")
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            return Delivery("retryable", f"{type(exc).__name__}: {exc}")
        return Delivery("ok", f"sent to {to} via {self.smtp}")


register("email")(EmailNotifier)
