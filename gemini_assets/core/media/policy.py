"""The media policy: every acceptance limit in one place.

Defaults follow Gemini's documented limits (../shared/notes/gemini-api.md §2): accepted MIME
types per kind, inline/Files API sizes. Tasks pick which kinds they accept (core/tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MIB = 1024 * 1024


class ReasonCode(StrEnum):
    """Why an upload was quarantined. Stable strings: analysts and reviewers filter on them."""

    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    UNKNOWN_TASK = "unknown_task"
    UNSUPPORTED_EXTENSION = "unsupported_extension"
    UNSUPPORTED_TYPE = "unsupported_type"
    EXTENSION_MISMATCH = "extension_mismatch"
    CORRUPT_MEDIA = "corrupt_media"
    DECOMPRESSION_BOMB = "decompression_bomb"
    RESOLUTION_OUT_OF_RANGE = "resolution_out_of_range"
    TOO_MANY_FRAMES = "too_many_frames"
    INVALID_SIDECAR = "invalid_sidecar"


REASON_DOCS: dict[ReasonCode, str] = {
    ReasonCode.EMPTY_FILE: "the upload has 0 bytes",
    ReasonCode.FILE_TOO_LARGE: "larger than the kind's max_bytes; rejected before reading",
    ReasonCode.UNKNOWN_TASK: "landed under a task folder the catalog does not know",
    ReasonCode.UNSUPPORTED_EXTENSION: "extension not accepted by the task",
    ReasonCode.UNSUPPORTED_TYPE: "content is not a format the task accepts",
    ReasonCode.EXTENSION_MISMATCH: "extension disagrees with the sniffed content type",
    ReasonCode.CORRUPT_MEDIA: "the format's parser failed to decode it (truncated, damaged)",
    ReasonCode.DECOMPRESSION_BOMB: "declared dimensions exceed the pixel limit",
    ReasonCode.RESOLUTION_OUT_OF_RANGE: "image side or pixel count outside the policy range",
    ReasonCode.TOO_MANY_FRAMES: "animated image with more frames than allowed",
    ReasonCode.INVALID_SIDECAR: "the .meta.json sidecar is not valid JSON of the documented shape",
}


@dataclass(frozen=True)
class ImagePolicy:
    # MIME -> accepted extensions; GIF is absent on purpose (Gemini rejects it).
    mime_extensions: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "image/jpeg": ("jpg", "jpeg"),
            "image/png": ("png",),
            "image/webp": ("webp",),
        }
    )
    max_bytes: int = 20 * MIB
    min_side: int = 32
    max_side: int = 12_000
    max_pixels: int = 50_000_000
    max_frames: int = 1


@dataclass(frozen=True)
class MediaPolicy:
    image: ImagePolicy = field(default_factory=ImagePolicy)
    # Items at or below this size are sent inline; larger ones go through the Files API.
    inline_max_bytes: int = 4 * MIB

    def extensions_for(self, kind: str) -> set[str]:
        if kind == "image":
            return {ext for exts in self.image.mime_extensions.values() for ext in exts}
        return set()


DEFAULT_POLICY = MediaPolicy()
