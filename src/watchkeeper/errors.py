"""The core services' one error type. Faces translate it: the CLI to exit codes, the server to
HTTP statuses, with the message shown as is (it names what and where)."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["invalid", "not_found", "forbidden", "unauthenticated", "conflict"]

HTTP_STATUS: dict[ErrorKind, int] = {
    "invalid": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
}
"""The one translation of an error's kind to HTTP, shared by the API, the dashboard and OTLP."""


class ActionError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(message)
