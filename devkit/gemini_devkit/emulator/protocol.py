"""Transport-neutral request/response objects so the API modules never touch sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .errors import ApiError, invalid

READ_BLOCK = 1024 * 1024  # bounded reads: uploads are streamed, never held whole
MAX_JSON_BODY = 200 * 1024 * 1024  # inline media is capped at 100 MB by the real API; base64 adds a third


@dataclass
class Request:
    method: str
    path: str  # the path after the API version segment, e.g. "files/abc" or "models/m:countTokens"
    version: str
    is_upload: bool
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    host: str
    rfile: BinaryIO
    content_length: int | None
    chunked: bool
    prefix: str = ""  # base path before the version segment, kept in URLs we hand out
    scheme: str = "http"  # https when the emulator serves TLS
    consumed: bool = False

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def iter_body(self, block: int = READ_BLOCK) -> Iterator[bytes]:
        """Yield the body in pieces of at most `block` bytes (Content-Length or chunked)."""
        if self.chunked:
            yield from self._iter_chunked(block)
        else:
            remaining = self.content_length or 0
            while remaining > 0:
                piece = self.rfile.read(min(block, remaining))
                if not piece:
                    raise invalid("Request body ended before Content-Length bytes arrived.")
                remaining -= len(piece)
                yield piece
        # Only a fully read body lets the connection be reused for the next request.
        self.consumed = True

    def _iter_chunked(self, block: int) -> Iterator[bytes]:
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            size = int(size_line or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return
            while size > 0:
                piece = self.rfile.read(min(block, size))
                if not piece:
                    raise invalid("Chunked request body ended early.")
                size -= len(piece)
                yield piece
            self.rfile.readline(8)  # CRLF after each chunk

    def read_body(self, limit: int = MAX_JSON_BODY) -> bytes:
        if self.content_length is not None and self.content_length > limit:
            raise invalid(f"Request payload size exceeds the limit: {limit} bytes.")
        parts: list[bytes] = []
        total = 0
        for piece in self.iter_body():
            total += len(piece)
            if total > limit:
                raise invalid(f"Request payload size exceeds the limit: {limit} bytes.")
            parts.append(piece)
        return b"".join(parts)

    def json(self) -> dict[str, Any]:
        raw = self.read_body()
        if not raw.strip():
            return {}
        try:
            document = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise invalid(f"Invalid JSON payload received. {exc}") from None
        if not isinstance(document, dict):
            raise invalid("Invalid JSON payload received. Expected an object.")
        return document


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=UTF-8"

    @classmethod
    def json(cls, document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status=status, body=json.dumps(document).encode(), headers=headers or {})

    @classmethod
    def error(cls, error: ApiError, headers: dict[str, str] | None = None) -> Response:
        return cls.json(error.body(), status=error.code, headers=headers)


def pick(mapping: dict[str, Any] | None, *names: str, default: Any = None) -> Any:
    """First present key among camelCase/snake_case spellings (the SDK mixes them)."""
    if not isinstance(mapping, dict):
        return default
    for name in names:
        if name in mapping and mapping[name] is not None:
            return mapping[name]
    return default
