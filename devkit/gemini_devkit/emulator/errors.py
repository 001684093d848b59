"""Google RPC style errors, the only error shape the google-genai SDK understands."""

from __future__ import annotations

import json
from typing import Any

# HTTP code for each canonical status the emulator emits (Gemini API error table).
STATUS_CODES: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


class ApiError(Exception):
    """Raised anywhere in a handler; the HTTP layer turns it into the error body."""

    def __init__(
        self,
        status: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.headers = headers or {}  # e.g. Retry-After on a 429
        self.status = status
        self.code = STATUS_CODES[status]
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.status, self.message, self.details)


class InjectedError(ApiError):
    """A failure the ``script`` or ``error_rate`` knob asked for. ``requested_code`` keeps the code asked
    for, so a wire format that has it answers it natively (Anthropic's 529) where Gemini uses its
    nearest status."""

    def __init__(self, status: str, message: str, requested_code: int) -> None:
        super().__init__(status, message)
        self.requested_code = requested_code


class DropConnection(Exception):
    """Cut the connection without an answer, as a flaky network does (the upload_drops knob)."""


def error_body(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": details or []}}


def error_bytes(code: int, status: str, message: str) -> bytes:
    return json.dumps(error_body(code, status, message)).encode()


def invalid(message: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", message)


def file_denied(file_id: str) -> ApiError:
    # The real API answers 403 (not 404) for unknown and expired files, so callers cannot probe ids.
    return ApiError(
        "PERMISSION_DENIED",
        f"You do not have permission to access the File {file_id} or it may not exist.",
    )
