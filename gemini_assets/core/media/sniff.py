"""Gate 1: what the first bytes say the content is (libmagic through python-magic).

libmagic identified 51/51 of the generated hostile files of our media research (filetype
misses all text formats, puremagic raises on empty input); it runs on the first few KB only, so
a huge file costs the same as a small one. Its aliases are mapped to the one MIME name per type
that the policy (and Gemini) uses.
"""

from __future__ import annotations

import threading

import magic

# libmagic's names -> the policy's canonical names. Anything else passes through unchanged.
CANONICAL_MIME = {
    "image/jpg": "image/jpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mpeg": "audio/mp3",
    "audio/x-mp3": "audio/mp3",
    "application/ogg": "audio/ogg",
    "audio/x-flac": "audio/flac",
    "audio/x-hx-aac-adts": "audio/aac",
    "audio/x-aac": "audio/aac",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "video/quicktime": "video/mov",
    "video/x-m4v": "video/mp4",
    "application/x-pdf": "application/pdf",
}

_magic = magic.Magic(mime=True)
_lock = threading.Lock()  # the libmagic cookie is not thread-safe


def sniff_mime(head: bytes) -> str:
    """Canonical MIME type of content starting with ``head`` (a few KB are plenty)."""
    if not head:
        return "application/x-empty"
    with _lock:
        raw = _magic.from_buffer(head)
    return CANONICAL_MIME.get(raw, raw)


def header_offset_problem(mime: str, head: bytes) -> str | None:
    """libmagic and lenient parsers accept a PDF header anywhere in the first KB: we do not."""
    if mime == "application/pdf" and not head.startswith(b"%PDF-"):
        return f"PDF header not at offset 0; content starts with {head[:16]!r}"
    return None
