"""Why an item stopped where it did: quarantine reasons, review reasons, finish reasons.

One enum per table's ``reason_code`` column, each with the sentence the docs show; the tables
reference in docs/tables.md is generated from these (core/contracts/reference.py).
"""

from __future__ import annotations

from enum import StrEnum

from gemini_assets.core.contracts.enums import OutputStatus, ReviewStage


class QuarantineReason(StrEnum):
    """Why an upload was quarantined (quarantined_media.reason_code)."""

    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    UNKNOWN_TASK = "unknown_task"
    UNSAFE_NAME = "unsafe_name"
    UNSUPPORTED_EXTENSION = "unsupported_extension"
    UNSUPPORTED_TYPE = "unsupported_type"
    EXTENSION_MISMATCH = "extension_mismatch"
    POLYGLOT = "polyglot"
    CORRUPT_MEDIA = "corrupt_media"
    TRUNCATED = "truncated"
    DECOMPRESSION_BOMB = "decompression_bomb"
    RESOLUTION_OUT_OF_RANGE = "resolution_out_of_range"
    TOO_MANY_FRAMES = "too_many_frames"
    DURATION_OUT_OF_RANGE = "duration_out_of_range"
    UNSUPPORTED_CODEC = "unsupported_codec"
    MISSING_STREAM = "missing_stream"
    ENCRYPTED_PDF = "encrypted_pdf"
    TOO_MANY_PAGES = "too_many_pages"
    ACTIVE_CONTENT = "active_content"
    PROBE_TIMEOUT = "probe_timeout"
    PROBE_CRASHED = "probe_crashed"
    INVALID_SIDECAR = "invalid_sidecar"
    NO_CONSENT = "no_consent"
    NOT_REGULAR_FILE = "not_regular_file"
    CHANGED_DURING_INGEST = "changed_during_ingest"


QUARANTINE_DOCS: dict[QuarantineReason, str] = {
    QuarantineReason.EMPTY_FILE: "the upload has 0 bytes",
    QuarantineReason.FILE_TOO_LARGE: "larger than the kind's max_bytes; rejected before reading",
    QuarantineReason.UNKNOWN_TASK: "landed under a task folder the catalog does not know",
    QuarantineReason.UNSAFE_NAME: (
        "the object's key could resolve outside the storage root (`..` segment, NUL) or its name is not "
        "UTF-8; left in landing/, not read"
    ),
    QuarantineReason.UNSUPPORTED_EXTENSION: "extension not accepted by the task",
    QuarantineReason.UNSUPPORTED_TYPE: (
        "sniffed content (libmagic) is not a type the task accepts, e.g. HTML, SVG, ELF, ZIP, GIF"
    ),
    QuarantineReason.EXTENSION_MISMATCH: ("extension disagrees with the sniffed content type (e.g. an MP4 named .mp3)"),
    QuarantineReason.POLYGLOT: "content is two formats at once: bytes before the PDF header or after the image's end",
    QuarantineReason.CORRUPT_MEDIA: (
        "the format's parser cannot decode it: damaged structure, or a valid signature followed by garbage"
    ),
    QuarantineReason.TRUNCATED: (
        "the file ends before its content does: cut during upload, a header promising more than is there, or a stub"
    ),
    QuarantineReason.DECOMPRESSION_BOMB: "declared pixels or a compressed stream inflate beyond the limits",
    QuarantineReason.RESOLUTION_OUT_OF_RANGE: "image/video side or pixel count outside the policy range",
    QuarantineReason.TOO_MANY_FRAMES: "animated image with more frames than allowed",
    QuarantineReason.DURATION_OUT_OF_RANGE: "audio/video shorter or longer than the policy allows",
    QuarantineReason.UNSUPPORTED_CODEC: "container or codec not in the kind's allowlist",
    QuarantineReason.MISSING_STREAM: "no audio stream in an audio upload / no video stream in a video upload",
    QuarantineReason.ENCRYPTED_PDF: (
        "the PDF is encrypted; policy: also when only an owner password is set (it opens without one): "
        "its author restricted copying, and sending it to a model would ignore that"
    ),
    QuarantineReason.TOO_MANY_PAGES: "the PDF has more pages than allowed",
    QuarantineReason.ACTIVE_CONTENT: (
        "the PDF carries JavaScript, launch actions, embedded or attached files, XFA or rich media, or an "
        "open/additional action that submits, imports or opens another file by itself"
    ),
    QuarantineReason.PROBE_TIMEOUT: "the parser did not finish within the time limit (child process killed)",
    QuarantineReason.PROBE_CRASHED: "the parser's child process died or ran out of its memory limit",
    QuarantineReason.INVALID_SIDECAR: (
        "the .meta.json sidecar is not valid JSON of the documented shape, is larger than 64 KiB or nests "
        "deeper than 4 levels (the last two are refused before parsing)"
    ),
    QuarantineReason.NO_CONSENT: (
        "technically valid, but the sidecar lacks `consent: true` and the task requires consent"
    ),
    QuarantineReason.NOT_REGULAR_FILE: (
        "a symbolic link, FIFO, socket or device in landing/: never opened or followed, no byte of it is read"
    ),
    QuarantineReason.CHANGED_DURING_INGEST: (
        "the file was replaced or deleted in landing/ after raw_media hashed it: the bytes found are kept in "
        "quarantine/ (the detail shows the recorded and found sha256), a deleted one is `gone`"
    ),
}


class ReviewReason(StrEnum):
    """Why an accepted item waits for a person (review_queue.reason_code)."""

    INVALID_OUTPUT = "invalid_output"
    MAX_TOKENS = "max_tokens"
    SAFETY_BLOCKED = "safety_blocked"
    PII_IN_OUTPUT = "pii_in_output"
    SENSITIVE_CONTENT = "sensitive_content"
    LOW_CONFIDENCE = "low_confidence"
    API_ERROR = "api_error"
    UPLOAD_FAILED = "upload_failed"
    MISSING_OUTPUT = "missing_output"
    MODEL_UNAVAILABLE = "model_unavailable"
    BUDGET_EXCEEDED = "budget_exceeded"
    RESIDENCY_BLOCKED = "residency_blocked"
    SANITIZE_FAILED = "sanitize_failed"
    UNSUPPORTED_BY_MODEL = "unsupported_by_model"
    QUOTA_EXHAUSTED = "quota_exhausted"

    @property
    def stage(self) -> ReviewStage:
        """The pipeline stage that sent the item to review."""
        return _REVIEW_STAGE.get(self, ReviewStage.VALIDATION)


REVIEW_DOCS: dict[ReviewReason, str] = {
    ReviewReason.INVALID_OUTPUT: "answer failed JSON/schema validation after the one repair retry",
    ReviewReason.MAX_TOKENS: "answer cut off at the output token limit (no retry: it would be cut again)",
    ReviewReason.SAFETY_BLOCKED: "prompt or answer blocked by the provider's safety filters, or no candidate",
    ReviewReason.PII_IN_OUTPUT: "the answer contains PII and the task's policy is to flag, not redact",
    ReviewReason.SENSITIVE_CONTENT: "the answer contains a configured sensitive word",
    ReviewReason.LOW_CONFIDENCE: "valid answer below the task's confidence threshold",
    ReviewReason.API_ERROR: "the API kept failing after bounded retries",
    ReviewReason.UPLOAD_FAILED: "the Files API upload failed",
    ReviewReason.MISSING_OUTPUT: "no model output row for an accepted item",
    ReviewReason.MODEL_UNAVAILABLE: "circuit breaker open after repeated API failures: not called",
    ReviewReason.BUDGET_EXCEEDED: "the task's daily budget would be exceeded: not called",
    ReviewReason.RESIDENCY_BLOCKED: "residency: restricted and no in-region route is configured: nothing sent",
    ReviewReason.SANITIZE_FAILED: "metadata could not be stripped losslessly: nothing sent",
    ReviewReason.UNSUPPORTED_BY_MODEL: (
        "the routed model cannot take this media (its provider or `models:` capabilities in the routing file, "
        "e.g. audio to a model without audio input): nothing sent"
    ),
    ReviewReason.QUOTA_EXHAUSTED: (
        "the model's daily request quota (RPD) is spent: not called, no time spent waiting; the detail says "
        "when it resets; re-run the partition after that"
    ),
}

_REVIEW_STAGE = {
    ReviewReason.UPLOAD_FAILED: ReviewStage.FILES,
    ReviewReason.RESIDENCY_BLOCKED: ReviewStage.FILES,
    ReviewReason.SANITIZE_FAILED: ReviewStage.FILES,
    ReviewReason.UNSUPPORTED_BY_MODEL: ReviewStage.FILES,
    ReviewReason.API_ERROR: ReviewStage.MODEL,
    ReviewReason.MISSING_OUTPUT: ReviewStage.MODEL,
    ReviewReason.MODEL_UNAVAILABLE: ReviewStage.MODEL,
    ReviewReason.BUDGET_EXCEEDED: ReviewStage.MODEL,
    ReviewReason.QUOTA_EXHAUSTED: ReviewStage.MODEL,
}

# An output status that is itself the reason an item is in review (no answer to judge).
REVIEW_REASON_FOR_STATUS: dict[OutputStatus, ReviewReason] = {
    OutputStatus.UPLOAD_FAILED: ReviewReason.UPLOAD_FAILED,
    OutputStatus.MODEL_UNAVAILABLE: ReviewReason.MODEL_UNAVAILABLE,
    OutputStatus.BUDGET_EXCEEDED: ReviewReason.BUDGET_EXCEEDED,
    OutputStatus.RESIDENCY_BLOCKED: ReviewReason.RESIDENCY_BLOCKED,
    OutputStatus.SANITIZE_FAILED: ReviewReason.SANITIZE_FAILED,
    OutputStatus.UNSUPPORTED_BY_MODEL: ReviewReason.UNSUPPORTED_BY_MODEL,
    OutputStatus.QUOTA_EXHAUSTED: ReviewReason.QUOTA_EXHAUSTED,
    OutputStatus.API_ERROR: ReviewReason.API_ERROR,
}

# Provider finish reasons that mean the answer was withheld: not a formatting problem, so no
# repair retry (it would be blocked again) and the item goes to review as safety_blocked.
BLOCKING_FINISH_REASONS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"})
TRUNCATED_FINISH_REASON = "MAX_TOKENS"
