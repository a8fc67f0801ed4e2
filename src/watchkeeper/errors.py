"""The core services' one error type. Faces translate it: the CLI to exit codes, the server to
HTTP statuses, with the message shown as is (it names what and where)."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["invalid", "not_found", "forbidden", "unauthenticated", "conflict"]


class ActionError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(message)
