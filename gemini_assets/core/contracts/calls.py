"""What a model call is made of, whatever the provider: request, media, usage, attempts, files, batches.

``Usage`` and ``Attempt`` are pydantic models because they are stored: every attempt lands in
``model_outputs.attempt_log`` (a typed list of structs) and becomes one ``call_ledger`` row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gemini_assets.core.contracts.enums import Backend, CallPurpose, Provider, ServiceTier, Variant

MODALITIES = ("text", "image", "audio", "video", "document")
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "thinking_tokens",
    "cached_tokens",
    *(f"{modality}_input_tokens" for modality in MODALITIES),
)


class Usage(BaseModel):
    """Tokens of one call as the provider reported them."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(default=0, description="prompt tokens (all modalities, incl. cached)")
    output_tokens: int = Field(default=0, description="candidate tokens")
    thinking_tokens: int = Field(default=0, description="thought tokens (billed as output)")
    cached_tokens: int = Field(default=0, description="cached prompt tokens")
    by_modality: dict[str, int] = Field(
        default_factory=dict, description="prompt tokens per modality (TEXT, IMAGE ...)"
    )

    @field_validator("by_modality", mode="before")
    @classmethod
    def _from_arrow_map(cls, value: Any) -> Any:
        # Arrow hands a map column back as a list of (key, value) pairs.
        return dict(value) if isinstance(value, list) else value

    def modality(self, name: str) -> int:
        return self.by_modality.get(name, 0)

    def as_columns(self) -> dict[str, int]:
        """The token columns of model_outputs and call_ledger."""
        columns = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "thinking_tokens": self.thinking_tokens,
            "cached_tokens": self.cached_tokens,
        }
        for modality in MODALITIES:
            columns[f"{modality}_input_tokens"] = self.modality(modality)
        return columns

    def __add__(self, other: Usage) -> Usage:
        modalities = {
            name: self.modality(name) + other.modality(name) for name in {*self.by_modality, *other.by_modality}
        }
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            thinking_tokens=self.thinking_tokens + other.thinking_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            by_modality=modalities,
        )


def total_usage(attempts: list[Attempt]) -> Usage:
    total = Usage()
    for attempt in attempts:
        if attempt.usage is not None:
            total = total + attempt.usage
    return total


class Attempt(BaseModel):
    """One HTTP request to the model, successful or not (one call_ledger row)."""

    model_config = ConfigDict(extra="forbid")

    attempt: int = Field(description="1-based attempt number for the item in its run")
    started_at: datetime = Field(description="request start (UTC)")
    latency_ms: float = Field(description="request latency")
    status_code: int = Field(description="HTTP status (0 = no response: timeout, connection)")
    error_code: str | None = Field(default=None, description="API error status")
    error_message: str | None = Field(default=None, description="API error message (secrets removed)")
    usage: Usage | None = Field(default=None, description="tokens as the provider reported them (answers only)")
    response_id: str | None = Field(default=None, description="provider response id")
    purpose: CallPurpose = Field(default=CallPurpose.GENERATE, description="generate | repair")
    service_tier: ServiceTier = Field(
        default=ServiceTier.STANDARD, description="standard | batch (a Batch API line, billed at the batch rate)"
    )
    # Client-side limiter usage observed when the call was admitted (None without a limiter).
    rpm_used: int | None = Field(
        default=None,
        description="requests in the model's minute window at admission, across all workers sharing the limiter "
        "(includes slots other workers hold in a lease, quota_lease.py)",
    )
    tpm_used: int | None = Field(default=None, description="tokens in the model's minute window at admission")
    rpd_used: int | None = Field(default=None, description="requests in the model's day at admission")
    # What the provider's own rate-limit headers said (OpenAI x-ratelimit-*, Anthropic
    # anthropic-ratelimit-*; Gemini sends none).
    provider_remaining_requests: int | None = Field(
        default=None, description="requests left in the provider's window, from its rate-limit headers"
    )
    provider_remaining_tokens: int | None = Field(
        default=None, description="tokens left in the provider's window, from its rate-limit headers"
    )

    @property
    def ok(self) -> bool:
        return self.status_code == 200


IN_FLIGHT = "in_flight"  # error_code of an attempt that was sent and has no outcome yet
OUTCOME_UNKNOWN = "outcome_unknown"  # error_code of an attempt whose run died before its outcome


class AttemptJournal(Protocol):
    def started(self, attempt: Attempt) -> None:
        """The attempt is about to be sent (status_code 0, error_code ``in_flight``)."""

    def finished(self, attempt: Attempt) -> None:
        """The attempt's outcome (for a batch line: the only call)."""


def in_flight(number: int, started_at: datetime, purpose: CallPurpose) -> Attempt:
    """What is known of an attempt before it is sent."""
    return Attempt(
        attempt=number, started_at=started_at, latency_ms=0.0, status_code=0, error_code=IN_FLIGHT, purpose=purpose
    )


def call_id(media_id: str, attempt: int, started_at: str) -> str:
    """One attempt's identity: stable however often the ledger is rebuilt or the attempt replayed."""
    digest = hashlib.sha256(f"{media_id}|{attempt}|{started_at}".encode()).hexdigest()[:10]
    return f"{media_id}-a{attempt}-{digest}"


class CallIdentity(BaseModel):
    """Whose call an attempt is: the item and route, and what the ledger says about its media."""

    model_config = ConfigDict(extra="forbid")

    media_id: str
    task: str
    task_version: str
    model: str
    variant: Variant
    backend: Backend | None = None
    provider: Provider | None = None
    media_kind: str
    media_bytes: int | None = None
    media_duration_s: float | None = None


class JournaledCall(BaseModel):
    """One attempt as the write-ahead journal keeps it (core/audit/journal.py)."""

    model_config = ConfigDict(extra="forbid")

    call_id: str
    day: str
    run_id: str | None = None
    identity: CallIdentity
    attempt: Attempt

    @property
    def outcome_known(self) -> bool:
        return self.attempt.error_code != IN_FLIGHT

    @property
    def booked(self) -> Attempt:
        """The attempt as the books show it: one still in flight (its run died mid-call) has no
        known outcome and may have been billed."""
        if self.outcome_known:
            return self.attempt
        why = "sent by a run that stopped before the answer came back; the provider may have billed it"
        return self.attempt.model_copy(update={"error_code": OUTCOME_UNKNOWN, "error_message": why})


@dataclass(frozen=True)
class MediaRef:
    """Media for one request: inline bytes or a provider file URI, plus what estimates need."""

    mime_type: str
    data: bytes | None = None
    file_uri: str | None = None
    size_bytes: int | None = None
    duration_s: float | None = None
    pages: int | None = None


@dataclass(frozen=True)
class GenerateRequest:
    model: str
    system_prompt: str
    user_text: str
    media: MediaRef
    response_schema: dict[str, Any]
    max_output_tokens: int
    # Earlier turns (the repair retry); the request always ends on a user turn.
    history: tuple[tuple[str, str], ...] = ()
    temperature: float = 0.0
    purpose: CallPurpose = CallPurpose.GENERATE  # stamped on every attempt the request makes
    # The write-ahead journal of billed calls (core/audit/journal.py): told before each attempt is
    # sent and when it ends, before anything else happens. Not part of the request's value.
    journal: AttemptJournal | None = field(default=None, compare=False, repr=False)


@dataclass
class GenerateResult:
    text: str | None
    finish_reason: str | None
    block_reason: str | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]


@dataclass(frozen=True)
class RemoteFile:
    """A provider-side copy of one media file (Gemini Files API)."""

    name: str
    uri: str
    state: str  # PROCESSING | ACTIVE | FAILED
    mime_type: str
    size_bytes: int
    expires_at: datetime | None
    error: str | None = None  # why processing FAILED
    # How the upload went (0 when this handle was not uploaded by this call, e.g. reused).
    bytes_sent: int = 0  # bytes put on the wire, chunks cut by the network included
    resumes: int = 0  # times the upload continued at the server's committed offset
    sessions: int = 0  # upload sessions used (more than one: a session was lost and started over)

    @property
    def active(self) -> bool:
        return self.state == "ACTIVE"


@dataclass(frozen=True)
class UploadProgress:
    """How far one large upload has come; handed to the caller's progress callback."""

    display_name: str
    committed: int  # bytes the server has confirmed
    size: int
    elapsed_s: float
    resumes: int = 0

    @property
    def rate_bytes_s(self) -> float:
        return self.committed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate_bytes_s
        return (self.size - self.committed) / rate if rate > 0 else None

    def describe(self) -> str:
        mib = 1024 * 1024
        share = self.committed / self.size if self.size else 1.0
        eta = f"about {self.eta_s:.0f} s left" if self.eta_s is not None else "time left unknown"
        resumed = f", resumed {self.resumes}x" if self.resumes else ""
        done = f"{self.committed / mib:.1f} of {self.size / mib:.1f} MiB ({share:.0%})"
        return f"upload progress {self.display_name}: {done}, {self.rate_bytes_s / mib:.1f} MiB/s, {eta}{resumed}"


UploadProgressCallback = Callable[[UploadProgress], None]


BATCH_DONE_STATES = frozenset({"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"})
BATCH_FAILED_STATES = frozenset({"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"})


@dataclass(frozen=True)
class BatchJob:
    """What the provider says about one batch job."""

    name: str
    display_name: str
    state: str  # JOB_STATE_PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | EXPIRED
    created_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.state in BATCH_DONE_STATES

    @property
    def failed(self) -> bool:
        return self.state in BATCH_FAILED_STATES

    @property
    def succeeded(self) -> bool:
        return self.state == "JOB_STATE_SUCCEEDED"


@dataclass(frozen=True)
class SubmittedBatch:
    name: str
    input_mode: str  # inline | file
    input_file: str | None
    request_bytes: int
    created_at: datetime


@dataclass(frozen=True)
class BatchLine:
    """One request's outcome in a finished batch: an answer or the line's error."""

    key: str
    text: str | None = None
    finish_reason: str | None = None
    block_reason: str | None = None
    usage: Usage | None = None
    response_id: str | None = None
    error_code: int | None = None
    error_status: str | None = None
    error_message: str | None = None

    @property
    def answered(self) -> bool:
        return self.error_code is None and self.error_status is None
