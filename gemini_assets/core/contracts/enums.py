"""Closed sets of values that cross stage boundaries and land in table columns.

Stable strings: analysts filter on them, so a value is never renamed, only added.
"""

from __future__ import annotations

from enum import StrEnum


class MediaKind(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"


class SidecarStatus(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    INVALID = "invalid"


class Residency(StrEnum):
    GLOBAL = "global"
    RESTRICTED = "restricted"


class Backend(StrEnum):
    """Who answers model calls: the real Gemini API (or a compatible gateway) or the bundled emulator."""

    GEMINI = "gemini"
    EMULATOR = "emulator"


class Provider(StrEnum):
    """The API family a call speaks (the SDK used)."""

    GEMINI = "gemini"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class Endpoint(StrEnum):
    GLOBAL = "global"
    IN_REGION = "in_region"  # residency: restricted items
    NONE = "none"  # nothing is sent


class DeliveryMode(StrEnum):
    """How one accepted item reaches the model."""

    INLINE = "inline"
    FILES_API = "files_api"
    CACHED = "cached"  # an archived answer is reused: nothing is sent
    BLOCKED = "blocked"  # residency or sanitizing forbids sending


class CallMode(StrEnum):
    """Online generateContent now, or the Batch API (half price, answered within 24 h)."""

    ONLINE = "online"
    BATCH = "batch"


class Variant(StrEnum):
    PRIMARY = "primary"
    CHALLENGER = "challenger"
    GOLDEN = "golden"  # a golden-set item answered to measure the day's task version and model


class OutputStatus(StrEnum):
    """The fate of one item in model_outputs."""

    OK = "ok"
    API_ERROR = "api_error"
    BLOCKED = "blocked"
    UPLOAD_FAILED = "upload_failed"
    MODEL_UNAVAILABLE = "model_unavailable"
    BUDGET_EXCEEDED = "budget_exceeded"
    RESIDENCY_BLOCKED = "residency_blocked"
    SANITIZE_FAILED = "sanitize_failed"
    UNSUPPORTED_BY_MODEL = "unsupported_by_model"  # the routed model cannot take this media
    QUOTA_EXHAUSTED = "quota_exhausted"  # the model's daily request quota (RPD) is spent: not called


class ParseStatus(StrEnum):
    VALID = "valid"
    REPAIRED = "repaired"  # fenced JSON unwrapped, or valid after the one repair retry
    INVALID = "invalid"
    NONE = "none"  # nothing to parse (no answer)


class CallPurpose(StrEnum):
    GENERATE = "generate"
    REPAIR = "repair"  # the one retry after an invalid answer


class ServiceTier(StrEnum):
    STANDARD = "standard"
    BATCH = "batch"
    FLEX = "flex"


class CallStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class RecordSource(StrEnum):
    MODEL = "model"
    REVIEW = "review"  # approved or edited by a person


class ReviewStage(StrEnum):
    FILES = "files"
    MODEL = "model"
    VALIDATION = "validation"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"


class ReviewAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


class ReconciliationStatus(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    MISSING_IN_BILLING = "missing_in_billing"
    MISSING_IN_LEDGER = "missing_in_ledger"
    UNPRICED = "unpriced"
    AWAITING_BILLING = "awaiting_billing"
